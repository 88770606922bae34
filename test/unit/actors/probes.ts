import type { CalendarContext, ChunkContext, Fold, JobContext } from '../../../src/actors/index.js';
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

/** An acceptance, a start in time (guard holds) and a late one (fails), a break. */
export const promiseVariants: Variants<unknown> = (type) =>
  type === 'promise.accepted'
    ? [ev(type, promise)]
    : type === 'promise.kept'
      ? [
          ev(type, { startedSeq: 9, startedAt: 4_000, chunk: '7:0' }),
          ev(type, { startedSeq: 9, startedAt: 6_000, chunk: '7:0' }),
        ]
      : [ev(type as 'promise.broken', { why: 'start-by passed' })];

/** A well-formed reservation (guard holds), one ending before it starts (fails), a delete. */
export const reservationVariants: Variants<unknown> = (type) =>
  type === 'reservation.created'
    ? [ev(type, { reservation }), ev(type, { reservation: { ...reservation, end: 500 } })]
    : [ev(type as 'reservation.deleted', { reason: 'r' })];
