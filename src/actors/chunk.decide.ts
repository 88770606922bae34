import type { ChunkEvent, EventData } from '../events/index.js';
import type { EntityBehaviour } from './behaviour.js';
import { RejectionCodes, decideDrafts, envelop } from './decision.js';
import type { Command, Decision, Draft } from './decision.js';
import { stateName } from './evolve.js';
import { chunkFold } from './chunk.machine.js';
import type { ChunkSnapshot } from './chunk.machine.js';

/** The data of each chunk command. */
export interface ChunkCommandData {
  CreateChunk: EventData<'chunk.created'>;
  /** Opens attempt `attempt` (current + 1); `worker` is `workerId(jobId, index, attempt)`. */
  AssignChunk: EventData<'chunk.assigned'>;
  StartChunk: EventData<'chunk.started'>;
  ReportProgress: EventData<'chunk.progressed'>;
  ReportResult: EventData<'chunk.succeeded'>;
  ReportAttemptFailed: EventData<'chunk.attempt_failed'>;
  /** The retry policy's verdict on the failed current attempt (scheduler). */
  ScheduleRetry: EventData<'chunk.retry_scheduled'>;
  FailChunk: EventData<'chunk.failed'>;
  RequestCancel: EventData<'chunk.cancel_requested'>;
  ConfirmCancelled: EventData<'chunk.cancelled'>;
  ConfirmProcessStopped: EventData<'chunk.process_stopped'>;
  ClearResults: void;
}
/** The `type` of every chunk command. */
export type ChunkCommandType = keyof ChunkCommandData;
/** The chunk command of one type. */
export type ChunkCommandOf<T extends ChunkCommandType> = Command<T, ChunkCommandData[T]>;
/** Any chunk command: what `decideChunk` takes. */
export type ChunkCommand = { [T in ChunkCommandType]: ChunkCommandOf<T> }[ChunkCommandType];

const AUDIT = 'chunk.command_rejected';

/** Commands that become their one event unchanged. */
const chunkEventOf = {
  CreateChunk: 'chunk.created',
  AssignChunk: 'chunk.assigned',
  StartChunk: 'chunk.started',
  ReportProgress: 'chunk.progressed',
  ReportAttemptFailed: 'chunk.attempt_failed',
  ScheduleRetry: 'chunk.retry_scheduled',
  FailChunk: 'chunk.failed',
  ConfirmCancelled: 'chunk.cancelled',
  ConfirmProcessStopped: 'chunk.process_stopped',
  ClearResults: 'chunk.results_cleared',
} as const satisfies Record<
  Exclude<ChunkCommandType, 'ReportResult' | 'RequestCancel'>,
  ChunkEvent['type']
>;

/**
 * Why a refused result is stale, or `undefined` when it is an ordinary invalid transition (a
 * result of the current attempt before it was recorded as started).
 */
function staleness(state: ChunkSnapshot, attempt: number): string | undefined {
  const { context } = state;
  const name = stateName(state);
  if (context.resultsCleared) return 'the results of this chunk were cleared';
  if (name === 'cancelling' || name === 'cancelled') return `the chunk is ${name}`;
  if (attempt !== context.attempt)
    return `attempt ${attempt} is not the current attempt ${context.attempt}`;
  if (name === 'assigned') return undefined;
  return `attempt ${attempt} already ended (chunk ${name})`;
}

/**
 * A result is stored only when the machine takes it (current attempt, running). A stale one is
 * refused with `StaleResult` and audited by `chunk.result_rejected`: rejected, never stored.
 */
function reportResult(state: ChunkSnapshot, command: ChunkCommandOf<'ReportResult'>): Decision {
  const decision = decideDrafts(
    chunkFold,
    state,
    command,
    [{ type: 'chunk.succeeded', data: command.data }],
    AUDIT,
  );
  if (decision.ok || decision.rejection.code !== RejectionCodes.InvalidTransition) return decision;
  if (stateName(state) === 'none') return { ok: false, rejection: decision.rejection };
  const { attempt } = command.data;
  const reason = staleness(state, attempt);
  if (reason === undefined) return decision;
  const rejection = {
    code: RejectionCodes.StaleResult,
    message: `result of attempt ${attempt} refused: ${reason}`,
  };
  const data = { attempt, currentAttempt: state.context.attempt, state: stateName(state), reason };
  const audit = envelop(command, { type: 'chunk.result_rejected', data }, 'rejected');
  if (typeof audit === 'string' || !chunkFold.accepts(state, audit))
    return { ok: false, rejection };
  return { ok: false, rejection, audit: [audit] };
}

/**
 * A chunk without a live process is cancelled at once (`chunk.cancelled`, confirmed); one with a
 * live attempt goes to `cancelling` until its process is confirmed stopped. The machine tells
 * which applies: the direct cancel is tried first.
 */
function requestCancel(state: ChunkSnapshot, command: ChunkCommandOf<'RequestCancel'>): Decision {
  const direct: Draft = { type: 'chunk.cancelled', data: { confirmed: true } };
  const event = envelop(command, direct, 0);
  const draft: Draft =
    typeof event !== 'string' && chunkFold.accepts(state, event)
      ? direct
      : { type: 'chunk.cancel_requested', data: command.data };
  return decideDrafts(chunkFold, state, command, [draft], AUDIT);
}

/**
 * Decide a chunk command. Pure. Legality is the chunk machine's; rejections are audited with
 * `chunk.command_rejected` (or `chunk.result_rejected` for stale results) once the chunk exists.
 */
export function decideChunk(state: ChunkSnapshot, command: ChunkCommand): Decision {
  switch (command.type) {
    case 'ReportResult':
      return reportResult(state, command);
    case 'RequestCancel':
      return requestCancel(state, command);
    case 'CreateChunk':
    case 'AssignChunk':
    case 'StartChunk':
    case 'ReportProgress':
    case 'ReportAttemptFailed':
    case 'ScheduleRetry':
    case 'FailChunk':
    case 'ConfirmCancelled':
    case 'ConfirmProcessStopped':
    case 'ClearResults': {
      const draft = { type: chunkEventOf[command.type], data: command.data };
      return decideDrafts(chunkFold, state, command, [draft], AUDIT);
    }
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

/** The chunk as the entity runtime sees it. Pure. */
export const chunkBehaviour: EntityBehaviour<ChunkSnapshot, ChunkCommand> = {
  entity: 'chunk',
  initial: chunkFold.initial,
  evolve: chunkFold.evolve,
  decide: decideChunk,
  stateOf: stateName,
};
