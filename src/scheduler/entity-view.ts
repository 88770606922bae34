import {
  RecentIdText,
  alertBehaviour,
  calendarBehaviour,
  runBehaviour,
  workflowBehaviour,
  type RunSnapshot,
  type WorkflowSnapshot,
  chunkBehaviour,
  jobBehaviour,
  nodeBehaviour,
  promiseBehaviour,
  reservationBehaviour,
  sessionBehaviour,
  policyBehaviour,
  workerBehaviour,
  type AlertSnapshot,
  type CalendarSnapshot,
  type ChunkSnapshot,
  type EntityRuntime,
  type JobSnapshot,
  type NodeSnapshot,
  type PromiseSnapshot,
  type ReservationSnapshot,
  type RunbookSnapshot,
  type SessionSnapshot,
  type PolicySnapshot,
  type WorkerSnapshot,
} from '../actors/index.js';
import type { Entity, RecordedEvent } from '../events/index.js';
import type { Action, Peek } from './rules.js';

/** The folded state of each entity kind. */
export interface EntityStates {
  job: JobSnapshot;
  chunk: ChunkSnapshot;
  worker: WorkerSnapshot;
  node: NodeSnapshot;
  /** Folded for the timekeeper (schedules on trading calendars); no rule reacts to it yet. */
  calendar: CalendarSnapshot;
  /** Folded for the placement round's reservation gate. */
  reservation: ReservationSnapshot;
  /** Alerts are the evaluator's (it runs beside the API); the scheduler only keeps the fold. */
  alert: AlertSnapshot;
  /** Runbook runs are people's procedures: the scheduler never folds them. */
  runbook: RunbookSnapshot;
  /** Folded like every kind; placement sees a session only as the job that carries it. */
  session: SessionSnapshot;
  /** Folded for the placement loop: fair-share parameters and quotas in force. */
  policy: PolicySnapshot;
  /** Folded for the timekeeper: workflows and their runs. */
  workflow: WorkflowSnapshot;
  run: RunSnapshot;
  /** Folded for keeping start-by promises (promised jobs first; kept or broken). */
  promise: PromiseSnapshot;
}

/** A new state of one entity, typed by its kind (`seq`: the log position when it matters). */
export type Change = {
  [E in Entity]: { entity: E; id: string; state: EntityStates[E]; seq?: number; at?: number };
}[Entity];

/** An action that is a command for an entity (not a kill for an agent). */
export type EntityAction = Exclude<Action, { entity: 'kill' }>;

/** What executing an action came to: the change it made, or why the entity refused. */
export type ActionOutcome =
  { readonly ok: true; readonly change?: Change } | { readonly ok: false; readonly why: string };

/**
 * The runtime's cached entities, read by kind. Typed per kind with the concrete behaviours, so
 * no caller casts the loosely typed `behaviours` table. No read from the log: what is not cached
 * is unknown (the scheduler caches everything it tails).
 */
export function peekOf(runtime: EntityRuntime): Peek {
  return {
    job: (id) => runtime.peek(jobBehaviour, id)?.state,
    chunk: (id) => runtime.peek(chunkBehaviour, id)?.state,
    worker: (id) => runtime.peek(workerBehaviour, id)?.state,
    node: (id) => runtime.peek(nodeBehaviour, id)?.state,
  };
}

/**
 * Seed the cache with an empty job or chunk when the scheduler holds nothing for it: an entity a
 * submission creates. The scheduler folds the whole log, so a miss is almost always new, and the
 * seed saves a read of an empty subject per entity (a job of 10,000 chunks made 10,000 reads at
 * once and stalled the leader's event loop for seconds). Safe when it is not new after all (a
 * re-delivered submission, a tail behind): the append's expected sequence 0 conflicts, and the
 * runtime reads the entity and decides again.
 */
export function seedIfUnknown(runtime: EntityRuntime, a: EntityAction): void {
  const empty = { lastSeq: 0, eventIds: RecentIdText.EMPTY };
  if (a.entity === 'chunk' && !runtime.peek(chunkBehaviour, a.id))
    runtime.prime(chunkBehaviour, a.id, { ...empty, state: chunkBehaviour.initial() });
  else if (a.entity === 'job' && !runtime.peek(jobBehaviour, a.id))
    runtime.prime(jobBehaviour, a.id, { ...empty, state: jobBehaviour.initial() });
}

/**
 * Execute one entity action through the runtime (the one write path), with the command type its
 * entity's decider takes. Returns the change to fold when events were appended; a refusal is data.
 */
export async function executeAction(
  runtime: EntityRuntime,
  a: EntityAction,
): Promise<ActionOutcome> {
  switch (a.entity) {
    case 'job': {
      const r = await runtime.execute(jobBehaviour, a.id, a.command);
      return !r.ok ? refused(r) : changed(r, { entity: 'job', id: a.id, state: r.state });
    }
    case 'chunk': {
      const r = await runtime.execute(chunkBehaviour, a.id, a.command);
      return !r.ok ? refused(r) : changed(r, { entity: 'chunk', id: a.id, state: r.state });
    }
    case 'worker': {
      const r = await runtime.execute(workerBehaviour, a.id, a.command);
      return !r.ok ? refused(r) : changed(r, { entity: 'worker', id: a.id, state: r.state });
    }
    case 'node': {
      const r = await runtime.execute(nodeBehaviour, a.id, a.command);
      return !r.ok ? refused(r) : changed(r, { entity: 'node', id: a.id, state: r.state });
    }
    default: {
      const _exhaustive: never = a;
      return _exhaustive;
    }
  }
}

const refused = (r: { rejection: { message: string } }): ActionOutcome => ({
  ok: false,
  why: r.rejection.message,
});

function changed(r: { events: readonly unknown[]; lastSeq: number }, c: Change): ActionOutcome {
  return r.events.length > 0 ? { ok: true, change: { ...c, seq: r.lastSeq } } : { ok: true };
}

/**
 * Apply one tailed event to the cached entity of its kind (see `EntityRuntime.observe`): the new
 * state, or undefined when the cache already held it (the scheduler's own append).
 */
export function observeEvent(
  runtime: EntityRuntime,
  entity: Entity,
  id: string,
  e: RecordedEvent,
): Change | undefined {
  switch (entity) {
    case 'job': {
      const seen = runtime.observe(jobBehaviour, id, e);
      return seen && { entity, id, state: seen.after };
    }
    case 'chunk': {
      const seen = runtime.observe(chunkBehaviour, id, e);
      return seen && { entity, id, state: seen.after, seq: e.recorded.seq, at: e.at };
    }
    case 'worker': {
      const seen = runtime.observe(workerBehaviour, id, e);
      return seen && { entity, id, state: seen.after };
    }
    case 'node': {
      const seen = runtime.observe(nodeBehaviour, id, e);
      return seen && { entity, id, state: seen.after };
    }
    case 'calendar': {
      const seen = runtime.observe(calendarBehaviour, id, e);
      return seen && { entity, id, state: seen.after };
    }
    case 'reservation': {
      const seen = runtime.observe(reservationBehaviour, id, e);
      return seen && { entity, id, state: seen.after };
    }
    case 'alert': {
      const seen = runtime.observe(alertBehaviour, id, e);
      return seen && { entity, id, state: seen.after };
    }
    case 'runbook':
      return undefined;
    case 'session': {
      const seen = runtime.observe(sessionBehaviour, id, e);
      return seen && { entity, id, state: seen.after };
    }
    case 'policy': {
      const seen = runtime.observe(policyBehaviour, id, e);
      return seen && { entity, id, state: seen.after };
    }
    case 'workflow': {
      const seen = runtime.observe(workflowBehaviour, id, e);
      return seen && { entity, id, state: seen.after };
    }
    case 'run': {
      const seen = runtime.observe(runBehaviour, id, e);
      return seen && { entity, id, state: seen.after };
    }
    case 'promise': {
      const seen = runtime.observe(promiseBehaviour, id, e);
      return seen && { entity, id, state: seen.after, seq: e.recorded.seq };
    }
    default: {
      const _exhaustive: never = entity;
      return _exhaustive;
    }
  }
}

/**
 * A state the runtime reports untyped (its `onRefresh` hook serves every kind) as a change of
 * `entity`. The runtime loaded it with that kind's behaviour, which is what makes the cast sound.
 */
export function changeOf(entity: Entity, id: string, state: unknown, seq?: number): Change {
  return { entity, id, state, ...(seq !== undefined && { seq }) } as Change;
}
