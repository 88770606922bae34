import type { AnyStateMachine } from 'xstate';
import { ENTITIES, eventTypesOf } from '../events/index.js';
import type { Entity } from '../events/index.js';
import { alertGuardDocs, alertMachine } from './alert.machine.js';
import { calendarGuardDocs, calendarMachine } from './calendar.machine.js';
import { reservationGuardDocs, reservationMachine } from './reservation.machine.js';
import { policyGuardDocs, policyMachine } from './policy.machine.js';
import { promiseGuardDocs, promiseMachine } from './promise.machine.js';
import { chunkGuardDocs, chunkMachine } from './chunk.machine.js';
import { runGuardDocs, runMachine } from './run.machine.js';
import { workflowGuardDocs, workflowMachine } from './workflow.machine.js';
import { guardName, transitionsFrom } from './evolve.js';
import { runbookGuardDocs, runbookMachine } from './runbook.machine.js';
import { sessionGuardDocs, sessionMachine } from './session.machine.js';
import type { GuardDocs } from './evolve.js';
import { jobGuardDocs, jobMachine } from './job.machine.js';
import { nodeGuardDocs, nodeMachine } from './node.machine.js';
import { workerGuardDocs, workerMachine } from './worker.machine.js';

/** One way an event may be taken from a state: where it leads and under which guard. */
export interface TransitionCell {
  /** The state after the event (the same state for a transition that only records). */
  readonly target: string;
  readonly guard?: string;
}

/** One (state, event type) pair of a machine. `transitions` is empty when the event is rejected. */
export interface TransitionRow {
  readonly state: string;
  readonly event: string;
  readonly transitions: readonly TransitionCell[];
}

/** What a table is generated from. */
export interface MachineDescription {
  readonly entity: Entity;
  readonly machine: AnyStateMachine;
  readonly guardDocs: GuardDocs;
}

/** The machines, in vocabulary order. */
export const machineDescriptions: readonly MachineDescription[] = [
  { entity: 'job', machine: jobMachine, guardDocs: jobGuardDocs },
  { entity: 'chunk', machine: chunkMachine, guardDocs: chunkGuardDocs },
  { entity: 'worker', machine: workerMachine, guardDocs: workerGuardDocs },
  { entity: 'node', machine: nodeMachine, guardDocs: nodeGuardDocs },
  { entity: 'calendar', machine: calendarMachine, guardDocs: calendarGuardDocs },
  { entity: 'reservation', machine: reservationMachine, guardDocs: reservationGuardDocs },
  { entity: 'alert', machine: alertMachine, guardDocs: alertGuardDocs },
  { entity: 'runbook', machine: runbookMachine, guardDocs: runbookGuardDocs },
  { entity: 'session', machine: sessionMachine, guardDocs: sessionGuardDocs },
  { entity: 'policy', machine: policyMachine, guardDocs: policyGuardDocs },
  { entity: 'workflow', machine: workflowMachine, guardDocs: workflowGuardDocs },
  { entity: 'run', machine: runMachine, guardDocs: runGuardDocs },
  { entity: 'promise', machine: promiseMachine, guardDocs: promiseGuardDocs },
];

/** The states of a flat machine, in definition order. */
export function statesOf(machine: AnyStateMachine): string[] {
  return Object.keys(machine.root.states);
}

/**
 * Every (state, event type of the entity) pair, read from the machine's own definition (the
 * transitions of each state node and its ancestors, as xstate selects them), never from a list
 * kept by hand. Pure.
 */
export function transitionRows(machine: AnyStateMachine, entity: Entity): TransitionRow[] {
  return statesOf(machine).flatMap((state) =>
    eventTypesOf(entity).map((event) => ({
      state,
      event,
      transitions: transitionsFrom(machine, state, event).map((t) => {
        const guard = guardName(t.guard);
        const target = t.target?.[0]?.key ?? state;
        return guard === undefined ? { target } : { target, guard };
      }),
    })),
  );
}

function outcome(row: TransitionRow): string {
  if (!row.transitions.length) return 'rejected';
  return row.transitions
    .map(({ target, guard }) => {
      const to = target === row.state ? `stays \`${target}\`` : `→ \`${target}\``;
      return guard === undefined ? to : `${to} if \`${guard}\``;
    })
    .join('; otherwise ');
}

/** A markdown table laid out the way prettier lays it out, so `npm run format` leaves it alone. */
function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) =>
    Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** The markdown table of one machine (docs/transitions/<entity>.md). Pure and deterministic. */
export function renderTransitionTable({ entity, machine, guardDocs }: MachineDescription): string {
  const rows = transitionRows(machine, entity);
  const lines = [
    `# ${entity} transitions`,
    '',
    `Generated from \`src/actors/${entity}.machine.ts\` by \`npm run gen:tables\`; do not edit by hand.`,
    'For every state and every event type of the entity: the state the event leads to, with the',
    'guard that must hold (see Guards), or `rejected`: a rejected event is never appended, and',
    'replaying one throws. `stays` marks an event that only records facts (or only audits).',
    '',
  ];
  const guards = Object.entries(guardDocs).map(([name, words]) => [`\`${name}\``, words]);
  if (guards.length)
    lines.push('## Guards', '', ...markdownTable(['guard', 'holds when'], guards), '');
  for (const state of statesOf(machine)) {
    const body = rows.filter((r) => r.state === state).map((r) => [`\`${r.event}\``, outcome(r)]);
    lines.push(`## \`${state}\``, '', ...markdownTable(['event', 'outcome'], body), '');
  }
  return lines.join('\n');
}

/** Every table by entity: what `npm run gen:tables` writes and the tests compare with. Pure. */
export function transitionTables(): Record<Entity, string> {
  const tables = {} as Record<Entity, string>;
  for (const entity of ENTITIES) {
    const description = machineDescriptions.find((d) => d.entity === entity);
    if (description) tables[entity] = renderTransitionTable(description);
  }
  return tables;
}
