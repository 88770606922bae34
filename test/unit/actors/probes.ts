import type {
  AlertContext,
  CalendarContext,
  ChunkContext,
  Fold,
  JobContext,
  RunbookContext,
  SessionContext,
  PolicyContext,
  RunContext,
  WorkflowContext,
} from '../../../src/actors/index.js';
import { stateName } from '../../../src/actors/index.js';
import type {
  DroverEvent,
  EventData,
  EventOf,
  EventType,
  SettledState,
} from '../../../src/events/index.js';
import { currentVersion, workerId } from '../../../src/events/index.js';
import { scheduler, spec } from '../../support/decider-spec.js';

/**
 * Representative snapshots and events for probing the machines (transition-tables.test.ts).
 * `variants` proposes, for a snapshot, a few events of one type: ones whose guards hold when
 * that is possible there, and ones whose guards fail. `explore` walks every snapshot reachable
 * with them (the spaces are kept finite: one child, two chunks, at most three attempts).
 */
export type Variants<C> = (type: EventType, context: C, state: string) => DroverEvent[];

interface Snap<C> {
  readonly value: unknown;
  readonly context: C;
}

/** Every snapshot reachable from the initial one through `variants`, grouped by state. */
export function explore<S extends Snap<C>, C>(
  fold: Fold<S>,
  types: readonly EventType[],
  variants: Variants<C>,
  limit = 5000,
): Map<string, S[]> {
  const seen = new Set<string>();
  const byState = new Map<string, S[]>();
  const queue: S[] = [fold.initial()];
  while (queue.length && seen.size < limit) {
    const s = queue.shift() as S;
    const key = `${stateName(s as never)}|${JSON.stringify(s.context)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const state = stateName(s as never);
    byState.set(state, [...(byState.get(state) ?? []), s]);
    for (const type of types) {
      for (const e of variants(type, s.context, state)) {
        const next = fold.tryEvolve(s, e);
        if (next !== undefined) queue.push(next);
      }
    }
  }
  return byState;
}

/** A probe event: fixed id and time, so equal histories give equal snapshots. */
function ev<T extends EventType>(type: T, data: EventData<T>): EventOf<T> {
  return { type, v: currentVersion(type), id: 'probe', at: 1, by: scheduler, data } as EventOf<T>;
}

const SETTLED: readonly SettledState[] = ['succeeded', 'failed', 'cancelled'];
const settlements = SETTLED.flatMap((state) =>
  [true, false].map((quiescent) => ({ state, quiescent })),
);

export const jobVariants: Variants<JobContext> = (type, c) => {
  const settledChild = Object.entries(c.children).flatMap(([childId, s]) =>
    s ? [{ childId, ...s }] : [],
  );
  switch (type) {
    case 'job.submitted':
      return [ev(type, spec({ chunks: 1 }))];
    case 'job.child_added':
      return [ev(type, { childId: 'kid' })];
    case 'job.child_settled':
      return [
        ...settlements.map((s) => ev(type, { childId: 'kid', ...s })),
        ...settledChild.map((s) => ev(type, s)),
      ];
    case 'job.child_quiesced':
      return [ev(type, { childId: 'kid' }), ev(type, { childId: 'stranger' })];
    case 'job.chunks_settled':
      return [0, 1].flatMap((index) =>
        settlements.map((s) => ev(type, { chunks: [{ index, ...s }] })),
      );
    case 'job.chunks_quiesced':
      return [ev(type, { indices: [0] }), ev(type, { indices: [1] })];
    case 'job.held':
      return [ev(type, { reason: 'r' })];
    case 'job.priority_changed':
      return [ev(type, { priority: 5, reason: 'r', global: false })];
    case 'job.pending_noted':
      return [ev(type, { reasons: [], ahead: [] })];
    case 'job.failed':
      return [ev(type, { cause: 'ExitNonZero', message: 'm' })];
    case 'job.cancel_requested':
      return [ev(type, { reason: 'r' })];
    case 'job.command_rejected':
      return [ev(type, { command: 'X', code: 'InvalidTransition', message: 'm' })];
    default:
      return [ev(type as 'job.queued', {})];
  }
};

const request = { cpus: 1, memMb: 64, gpus: 0 };

export const chunkVariants: Variants<ChunkContext> = (type, c, state) => {
  const attempts = [c.attempt, c.attempt + 1, Math.max(1, c.attempt - 1)];
  switch (type) {
    case 'chunk.created':
      return [ev(type, { jobId: 'J', index: 0, total: 1 })];
    case 'chunk.assigned':
      return (c.attempt < 3 ? [...attempts, c.attempt + 2] : [c.attempt])
        .filter((a) => a > 0)
        .map((attempt) =>
          ev(type, { attempt, node: 'n', worker: workerId('J', 0, attempt), request }),
        );
    case 'chunk.started':
      return attempts.filter((a) => a > 0).map((attempt) => ev(type, { attempt, pid: 1 }));
    case 'chunk.progressed':
      return attempts
        .filter((a) => a > 0)
        .map((attempt) => ev(type, { attempt, progress: 0.5, checkpoint: 'cp' }));
    case 'chunk.succeeded':
      return attempts.filter((a) => a > 0).map((attempt) => ev(type, { attempt, result: 1 }));
    case 'chunk.attempt_failed':
      return [true, false].flatMap((confirmed) =>
        attempts
          .filter((a) => a > 0)
          .map((attempt) => ev(type, { attempt, cause: 'NodeLost', confirmed })),
      );
    case 'chunk.retry_scheduled':
      return attempts
        .filter((a) => a > 0)
        .map((attempt) =>
          ev(type, {
            attempt,
            notBefore: 2,
            request,
            avoidNodes: ['n'],
            countsAgainstRetries: true,
            reason: 'r',
          }),
        );
    case 'chunk.failed':
      return [ev(type, { cause: 'ExitNonZero', message: 'm' })];
    case 'chunk.cancel_requested':
      return [ev(type, { reason: 'r' })];
    case 'chunk.cancelled':
      return [
        ev(type, { confirmed: true }),
        ...[true, false].flatMap((confirmed) =>
          attempts.filter((a) => a > 0).map((attempt) => ev(type, { attempt, confirmed })),
        ),
      ];
    case 'chunk.process_stopped':
      return [...c.unconfirmed, 9].map((attempt) => ev(type, { attempt }));
    case 'chunk.result_rejected':
      return [ev(type, { attempt: 1, currentAttempt: c.attempt, state, reason: 'stale' })];
    case 'chunk.command_rejected':
      return [ev(type, { command: 'X', code: 'InvalidTransition', message: 'm' })];
    default:
      return [ev(type as 'chunk.results_cleared', {})];
  }
};

const usage = { peakRssMb: 10, cpuSeconds: 1, wallSeconds: 2 };

export const workerVariants: Variants<unknown> = (type) => {
  switch (type) {
    case 'worker.launching':
      return [ev(type, { jobId: 'J', chunk: 0, attempt: 1, node: 'n', memLimitMb: 64 })];
    case 'worker.started':
      return [ev(type, { pid: 1, pgid: 1 })];
    case 'worker.sampled':
      return [ev(type, { rssMb: 5, peakRssMb: 5, cpuSeconds: 1 })];
    case 'worker.kill_requested':
      return [ev(type, { reason: 'cancel', signal: 'SIGTERM' })];
    case 'worker.exited':
      return [ev(type, { ...usage, exitCode: 0, signal: null, cause: 'Succeeded' })];
    case 'worker.killed':
      return [ev(type, { ...usage, signal: 'SIGKILL', cause: 'Cancelled' })];
    case 'worker.lost':
      return [ev(type, { cause: 'NodeLost', reason: 'r' })];
    default:
      return [ev(type as 'worker.readopted', { pid: 2 })];
  }
};

export const nodeVariants: Variants<unknown> = (type) => {
  switch (type) {
    case 'node.registered':
      return [
        ev(type, { hostname: 'h', cpus: 4, memMb: 1024, gpus: 0, labels: {}, incarnation: 'i' }),
      ];
    case 'node.drain_requested':
    case 'node.cordoned':
    case 'node.lost':
    case 'node.offline':
      return [ev(type, { reason: 'r' })];
    default:
      return [ev(type as 'node.ready', {})];
  }
};

const calendar = {
  name: 'PROBE',
  timezone: 'America/New_York',
  open: '09:30',
  close: '16:00',
  weekdays: [1, 2, 3, 4, 5],
  holidays: [],
  earlyCloses: [],
  lateOpens: [],
};

/** The next version (guard holds, up to three versions), a gap and a rewrite (guard fails). */
export const calendarVariants: Variants<CalendarContext> = (type, c) => {
  const n = c.versions.length;
  const at = (version: number) => ev(type as 'calendar.imported', { version, calendar });
  return [...(n < 3 ? [at(n + 1)] : []), at(n + 2), ...(n > 0 ? [at(n)] : [])];
};

const reservation = {
  name: 'PROBE',
  start: 1_000,
  end: 2_000,
  nodes: ['n1'],
  users: ['ada'],
  flags: [],
};

const promise = {
  jobId: '7',
  user: 'ada',
  startBy: 5_000,
  timeoutS: 60,
  request: { cpus: 1, memMb: 64, gpus: 0 },
  booking: { node: 'n1', startAt: 1_000 },
};

const victim = { jobId: '3', chunk: '3:0', worker: '3:0:1', attempt: 1, user: 'bob' };

/** An acceptance, a start in time (guard holds) and a late one (fails), a preemption, a break. */
export const promiseVariants: Variants<unknown> = (type) =>
  type === 'promise.accepted'
    ? [ev(type, promise)]
    : type === 'promise.kept'
      ? [
          ev(type, { startedSeq: 9, startedAt: 4_000, chunk: '7:0' }),
          ev(type, { startedSeq: 9, startedAt: 6_000, chunk: '7:0' }),
        ]
      : type === 'promise.preempted'
        ? [ev(type, { node: 'n1', victims: [victim], why: 'room for 7' })]
        : [ev(type as 'promise.broken', { why: 'start-by passed' })];

/** A well-formed reservation (guard holds), one ending before it starts (fails), a delete. */
export const reservationVariants: Variants<unknown> = (type) =>
  type === 'reservation.created'
    ? [ev(type, { reservation }), ev(type, { reservation: { ...reservation, end: 500 } })]
    : [ev(type as 'reservation.deleted', { reason: 'r' })];
/**
 * Alert events with fixed data; an ack by a person (guard holds, once, to keep the space finite)
 * and by the scheduler (guard fails: acknowledging is for people).
 */
export const alertVariants: Variants<AlertContext> = (type, c) => {
  const shown = { summary: 's', details: { n: 1 } };
  switch (type) {
    case 'alert.opened':
      return [ev(type, { rule: 'node-lost', key: 'n1', ...shown })];
    case 'alert.fired':
    case 'alert.resolved':
      return [ev(type, shown)];
    case 'alert.withdrawn':
      return [ev(type, { reason: 'cleared' })];
    case 'alert.notified':
      return [ev(type, { event: 'firing', url: 'http://x', attempt: 1, ok: true })];
    default: {
      const ack = ev(type as 'alert.acknowledged', {});
      const person = { ...ack, by: { kind: 'user' as const, id: 'ann' } };
      return c.acks.length < 1 ? [person, ack] : [ack];
    }
  }
};

const probeRunbook = {
  name: 'probe',
  summary: 'two steps',
  args: [],
  steps: [
    { kind: 'show' as const, id: 'look', query: 'nodes' as const },
    {
      kind: 'act' as const,
      id: 'drain',
      op: 'node.drain' as const,
      target: 'n1',
      dangerous: true,
    },
  ],
};

/**
 * Runbook probes over a two-step procedure: the next step and a wrong one (started), the
 * current step and another (answered, acted ok or failed, completed), and every outcome of
 * finishing (succeeded holds only after the last step).
 */
export const runbookVariants: Variants<RunbookContext> = (type, c) => {
  const at = (index: number) => ({ index, id: probeRunbook.steps[index]?.id ?? 'nope' });
  const here = c.current ?? c.next;
  switch (type) {
    case 'runbook.started':
      return [ev(type, { definition: probeRunbook, args: {} })];
    case 'runbook.step_started':
      return [ev(type, at(c.next)), ev(type, at(c.next + 1))];
    case 'runbook.answered':
      return [ev(type, { ...at(here), value: true, how: 'terminal' })];
    case 'runbook.acted':
      return [true, false].map((ok) =>
        ev(type, { ...at(here), op: 'node.drain', target: 'n1', ok }),
      );
    case 'runbook.step_completed':
      return [
        ev(type, { ...at(here), outcome: 'done' }),
        ev(type, { ...at(here + 1), outcome: 'done' }),
      ];
    case 'runbook.finished':
      return (['succeeded', 'aborted', 'failed'] as const).map((outcome) =>
        ev(type, { outcome, reason: 'probe' }),
      );
    default:
      return [];
  }
};

/**
 * A run and an allocation of two nodes, with and without a pty (so both sides of `isTty` are
 * seen); placements on a fresh node and on one already held (both sides of the room guard).
 */
export const sessionVariants: Variants<SessionContext> = (type, c) => {
  const opened = (kind: 'run' | 'alloc', tty: boolean) =>
    ev('session.opened', {
      kind,
      user: 'u',
      command: ['sh'],
      tty,
      cpus: 1,
      memMb: 64,
      nodes: kind === 'alloc' ? 2 : 1,
    });
  switch (type) {
    case 'session.opened':
      return [opened('run', true), opened('run', false), opened('alloc', false)];
    case 'session.placed': {
      const n = c.placements.length;
      return [ev(type, { node: `n${n}` }), ...(n > 0 ? [ev(type, { node: 'n0' })] : [])];
    }
    case 'session.resized':
      return [ev(type, { cols: 80, rows: 24 })];
    case 'session.stop_requested':
      return [ev(type, { reason: 'r' })];
    default:
      return [ev(type as 'session.exited', { exitCode: 0, signal: null, message: 'm' })];
  }
};

/** Policy changes: the next version (guard holds, up to three), a gap and a rewrite (guard fails). */
export const policyVariants: Variants<PolicyContext> = (type, c) => {
  const n = c.version;
  const data = (version: number) => {
    switch (type) {
      case 'policy.weight_set':
        return { version, user: 'alice', weight: version };
      case 'policy.fairshare_configured':
        return { version, halfLifeS: 3600 * version, lambda: 1 };
      case 'policy.quota_set':
        return { version, user: 'alice', limits: { cpus: version } };
      case 'policy.exclusion_added':
      case 'policy.exclusion_removed':
        return { version, user: 'alice', node: 'n1' };
      default:
        return { version, user: 'alice' };
    }
  };
  const at = (version: number) => ev(type as 'policy.quota_cleared', data(version) as never);
  return [...(n < 3 ? [at(n + 1)] : []), at(n + 2), ...(n > 0 ? [at(n)] : [])];
};
const workflow = {
  name: 'PROBE',
  tasks: [{ id: 'a', after: [], trigger: 'all_success' as const }],
  notify: [],
};

/** The next version (up to three), a gap and a rewrite; pause and resume. */
export const workflowVariants: Variants<WorkflowContext> = (type, c) => {
  if (type === 'workflow.paused') return [ev(type, { reason: 'probe' })];
  if (type === 'workflow.resumed') return [ev(type, {})];
  const n = c.versions.length;
  const at = (version: number) => ev('workflow.applied', { version, workflow });
  return [...(n < 3 ? [at(n + 1)] : []), at(n + 2), ...(n > 0 ? [at(n)] : [])];
};

/** Tasks `a` and `b`: a new one (the guard holds) and one decided already (it fails). */
export const runVariants: Variants<RunContext> = (type, c) => {
  const fresh = ['a', 'b'].filter((t) => !(t in c.tasks));
  const decided = Object.keys(c.tasks).slice(0, 1);
  const pick = [...fresh.slice(0, 1), ...decided];
  switch (type) {
    case 'run.scheduled':
      return [
        ev(type, {
          workflow: 'PROBE',
          date: '2016-03-24',
          workflowVersion: 1,
          trigger: 'schedule',
          fireAt: 1,
          jobId: 'PROBE_2016-03-24',
        }),
      ];
    case 'run.task_submitted':
      return pick.map((task) => ev(type, { task, jobId: `J-${task}` }));
    case 'run.task_skipped':
      return pick.map((task) => ev(type, { task, state: 'skipped', reason: 'probe' }));
    case 'run.failed':
      return [ev(type, { tasks: [] })];
    case 'run.skipped':
      return [ev(type, { reason: 'probe' })];
    case 'run.rerun_requested': {
      // The next rerun number (the guard holds) and a repeated one (it fails).
      const next = (c.reruns ?? 0) + 1;
      const tasks = [{ task: 'a', jobId: 'J-a', state: 'failed' }];
      return [next, next + 1].map((rerun) =>
        ev(type, { rerun, tasks, jobId: `PROBE_2016-03-24-r${rerun}` }),
      );
    }
    default:
      return [ev(type as 'run.succeeded', {})];
  }
};
