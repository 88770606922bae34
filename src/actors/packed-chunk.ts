import { chunkId, parseChunkId, type DroverEvent } from '../events/index.js';
import { chunkBehaviour } from './chunk.decide.js';
import type { ChunkSnapshot } from './chunk.machine.js';
import { RecentIdText } from './recent-ids.js';
import type { Loaded } from './runtime.js';

/**
 * A compact form of a cached entity, for a cache that holds many alike: `pack` returns a number
 * standing for the whole loaded entity, or undefined to keep it as it is; `unpack` rebuilds it.
 * `unpack(id, pack(id, l))` deep-equals `l` (a property test checks it). Pure.
 */
export interface CachePacker<S> {
  pack(id: string, loaded: Loaded<S>): number | undefined;
  unpack(id: string, packed: number): Loaded<S>;
}

/** Limits of what a packed number holds: epochs below 1024, totals up to 1024, seqs below 2^33. */
const EPOCHS = 1024;
const TOTALS = 1024;
const MAX_SEQ = 2 ** 33;
/** The keys of a created chunk's context, nothing else set (see `ChunkContext`). */
const CREATED_KEYS = 7;

/** The command id the intake creates a chunk with (`submissionSteps`): its one event's id. */
const createdEventId = (id: string) => `create:${id}#0`;

/**
 * Created chunks nothing has happened to since, packed into a number: state `pending`, attempt 0,
 * one event (`chunk.created` from the intake's `create:<chunk>` command). These are the queue of
 * a farm with more work than room: 100,000 queued one-chunk jobs held 100,000 loaded entities, a
 * snapshot and a context each, a copy of the job id and a recent-ids window of one id (~280
 * bytes a chunk), all derived from the chunk's id, the job's chunk count, the event's sequence
 * and the scheduler's epoch. A number of 53 bits holds those three (`(seq·1024 + epoch)·1024 +
 * total - 1`); the rest comes back from the id. Anything else (assigned, retried, another event
 * id, an epoch or a total beyond the bounds) stays as it is.
 *
 * `unpack` folds the same `chunk.created` through the chunk machine, so the state it gives back
 * is the machine's own, not a copy of its rules. Its cost is a fold per read (a round reads each
 * waiting chunk once): garbage per read, traded for memory held per queued chunk.
 */
export const createdChunkPacker: CachePacker<ChunkSnapshot> = {
  pack(id, loaded) {
    const { state, lastSeq, eventIds, epoch } = loaded;
    if (state.value !== 'pending' || epoch === undefined) return undefined;
    const c = state.context;
    if (c.attempt !== 0 || c.resultsCleared || c.unconfirmed.length || c.attempts.length)
      return undefined;
    if (Object.keys(c).length !== CREATED_KEYS || chunkId(c.jobId, c.index) !== id)
      return undefined;
    if (!Number.isInteger(epoch) || epoch < 0 || epoch >= EPOCHS) return undefined;
    if (!Number.isInteger(c.total) || c.total < 1 || c.total > TOTALS) return undefined;
    if (!Number.isInteger(lastSeq) || lastSeq < 1 || lastSeq >= MAX_SEQ) return undefined;
    if (!(eventIds instanceof RecentIdText) || eventIds.size !== 1) return undefined;
    if (!eventIds.has(createdEventId(id))) return undefined;
    return (lastSeq * EPOCHS + epoch) * TOTALS + (c.total - 1);
  },
  unpack(id, packed) {
    const total = (packed % TOTALS) + 1;
    const rest = Math.floor(packed / TOTALS);
    const epoch = rest % EPOCHS;
    const lastSeq = Math.floor(rest / EPOCHS);
    const { jobId, index } = parseChunkId(id);
    const created = {
      type: 'chunk.created',
      data: { jobId, index, total },
    } as unknown as DroverEvent;
    const state = chunkBehaviour.evolve(chunkBehaviour.initial(), created);
    const eventIds = RecentIdText.EMPTY.with([createdEventId(id)], 1);
    return { state, lastSeq, eventIds, epoch };
  },
};
