import {
  ErrorCodes,
  SchedulerError,
  gapBefore,
  isCorrupt,
  type EventLog,
  type ReplayItem,
  type Tail,
} from '../events/index.js';
import type { Projection } from './projection.js';
import type { CheckpointReader, ProjectionStore } from './projection-store.jetstream.js';
import {
  checkpointKey,
  checkpointsOf,
  createProjectionSet,
  diffJson,
  foldItems,
  resumeSeq,
  slotOf,
  type Checkpoint,
  type JsonDiff,
  type ProjectionSet,
} from './runner.js';

/** Where a replay stops: a stream sequence, or a store time (epoch ms). */
export type Until = { readonly seq: number } | { readonly time: number };

export interface ProjectionRunnerOptions {
  readonly log: EventLog;
  readonly projections: readonly Projection<unknown>[];
  /**
   * Checkpoints are loaded from it, and saved to it only when it is a whole `ProjectionStore`
   * (a `CheckpointReader` is never written); none: always from zero, never saved.
   */
  readonly store?: CheckpointReader | ProjectionStore;
  /** A checkpoint save while tailing failed (default: kept for `waitFor`'s message only). */
  readonly onSaveError?: (err: unknown) => void;
  /** While tailing, save checkpoints after this many events or this much time (defaults 10,000 / 30 s). */
  readonly checkpointEvery?: { readonly events?: number; readonly ms?: number };
  /**
   * Build across missing stream sequences instead of refusing (default false: a catch-up or a
   * rebuild that meets a hole throws LOG_HOLE, since a projection folded over a log with an
   * event missing is silently wrong). The holes crossed are listed in `holes`.
   */
  readonly skipHoles?: boolean;
}

/** Stream sequences a catch-up found missing. */
export interface SeqRange {
  readonly fromSeq: number;
  readonly toSeq: number;
}

/** The verdict of `verify`: per projection, equal or the first differences. */
export interface VerifyResult {
  readonly equal: boolean;
  readonly seq: number;
  readonly diffs: (JsonDiff & { projection: string })[];
}

/**
 * Runs projections over the log: catch up (from checkpoints or from zero, optionally only until
 * a sequence or a time), tail live, save checkpoints, verify against a rebuild from zero.
 * Corrupt messages are skipped and counted (`corrupt`), never fatal.
 */
export interface ProjectionRunner {
  /** Catch up: load checkpoints (unless `fromZero` or `until`), replay to the end or `until`. */
  start(opts?: { until?: Until; fromZero?: boolean }): Promise<void>;
  /** Follow the log live from where `start` ended, checkpointing as configured. */
  tail(): void;
  /** Resolves once every event up to `seq` is folded (tests, read-your-writes). */
  waitFor(seq: number, timeoutMs?: number): Promise<void>;
  /** The state of one projection (owned by the runner: read, do not mutate). */
  state<S>(name: string): S;
  /** Save every projection's checkpoint now (nothing when the store is only a reader). */
  checkpoint(): Promise<void>;
  /** Rebuild from zero up to this runner's sequence and compare with its states. */
  verify(): Promise<VerifyResult>;
  stop(): Promise<void>;
  readonly seq: number;
  readonly events: number;
  readonly corrupt: number;
  /** Slots restored from a checkpoint at start, by key. */
  readonly restored: readonly string[];
  /** Holes crossed by `start` or `verify` (only with `skipHoles`; otherwise they throw). */
  readonly holes: readonly SeqRange[];
}

/** Create a runner (no I/O until `start`). */
export function createProjectionRunner(opts: ProjectionRunnerOptions): ProjectionRunner {
  return new ProjectionRunnerImpl(opts);
}

function writable(
  store: CheckpointReader | ProjectionStore | undefined,
): ProjectionStore | undefined {
  return store && 'save' in store && typeof store.save === 'function' ? store : undefined;
}

class ProjectionRunnerImpl implements ProjectionRunner {
  private set: ProjectionSet;
  private live: Tail | undefined;
  private loop: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sinceSave = 0;
  private saving: Promise<void> | undefined;
  private failure: unknown;
  private waiters: { seq: number; resolve: () => void }[] = [];
  restored: string[] = [];
  holes: SeqRange[] = [];

  constructor(private readonly opts: ProjectionRunnerOptions) {
    this.set = createProjectionSet(opts.projections);
  }

  get seq(): number {
    return this.set.seq;
  }
  get events(): number {
    return this.set.events;
  }
  get corrupt(): number {
    return this.set.corrupt;
  }

  async start(o: { until?: Until; fromZero?: boolean } = {}): Promise<void> {
    const cps = new Map<string, Checkpoint>();
    if (this.opts.store && !o.fromZero && !o.until) {
      const loaded = await Promise.all(
        this.opts.projections.map((p) => this.opts.store!.load(checkpointKey(p))),
      );
      for (const cp of loaded) if (cp) cps.set(checkpointKey(cp), cp);
    }
    this.set = createProjectionSet(this.opts.projections, cps);
    this.restored = [...cps.keys()];
    this.set.seq = resumeSeq(this.set);
    const until = o.until;
    if (until && 'seq' in until && until.seq <= 0) return;
    // Without `until`, the end is the last sequence read *before* the replay: taking it after
    // would skip whatever was appended meanwhile (the tail starts after `seq`), and a
    // checkpoint writer started beside a busy farm lost a job's events from its index that way.
    const last = until ? undefined : await this.opts.log.lastSeq().catch(() => undefined);
    const range = {
      fromSeq: this.set.seq + 1,
      ...(until && 'seq' in until ? { untilSeq: until.seq } : {}),
      ...(until && 'time' in until ? { untilTime: until.time } : {}),
      ...(last !== undefined ? { untilSeq: last } : {}),
    };
    // The hole check needs the log's end, read before the replay too (the replay reads at least
    // that far, so what is appended meanwhile is no false hole at the end).
    const logEnd = until ? await this.opts.log.lastSeq().catch(() => undefined) : last;
    const end =
      until && 'time' in until
        ? undefined
        : Math.min(until && 'seq' in until ? until.seq : Infinity, logEnd ?? 0);
    const gaps = new GapWatch(range.fromSeq, (h) => this.onHole(h));
    if (last === undefined || last > this.set.seq) {
      for await (const batch of this.opts.log.replayBatches(range)) {
        gaps.check(batch);
        foldItems(this.set, batch);
      }
    }
    if (logEnd !== undefined) gaps.end(end);
    if (last !== undefined) this.set.seq = Math.max(this.set.seq, last);
  }

  tail(): void {
    if (this.live) return;
    const live = this.opts.log.tail({ fromSeq: this.set.seq + 1 });
    this.live = live;
    const every = this.opts.checkpointEvery ?? {};
    const ms = every.ms ?? 30_000;
    if (writable(this.opts.store) && ms > 0) {
      this.timer = setInterval(() => {
        if (this.sinceSave > 0) this.saveInBackground();
      }, ms);
      this.timer.unref();
    }
    this.loop = this.follow(live, every.events ?? 10_000);
  }

  private async follow(live: Tail, everyEvents: number): Promise<void> {
    try {
      for await (const item of live) {
        foldItems(this.set, [item] as ReplayItem[]);
        this.sinceSave++;
        const seq = isCorrupt(item) ? item.seq : item.recorded.seq;
        this.wake(seq);
        if (writable(this.opts.store) && this.sinceSave >= everyEvents) this.saveInBackground();
      }
    } catch (err) {
      this.failure = err;
    }
  }

  private wake(seq: number): void {
    if (!this.waiters.length) return;
    const ready = this.waiters.filter((w) => w.seq <= seq);
    this.waiters = this.waiters.filter((w) => w.seq > seq);
    for (const w of ready) w.resolve();
  }

  waitFor(seq: number, timeoutMs = 10_000): Promise<void> {
    if (this.set.seq >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        const why = this.failure ? `: ${String(this.failure)}` : '';
        reject(new Error(`projections did not reach seq ${seq} (at ${this.set.seq})${why}`));
      }, timeoutMs);
      this.waiters.push({
        seq,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
    });
  }

  state<S>(name: string): S {
    const slot = slotOf(this.set, name);
    if (!slot) throw new Error(`no projection called ${name}`);
    return slot.state as S;
  }

  checkpoint(): Promise<void> {
    return this.save();
  }

  /** A save nobody awaits: its failure goes to `onSaveError`, never unhandled. */
  private saveInBackground(): void {
    this.save().catch((err: unknown) => {
      this.failure = err;
      this.opts.onSaveError?.(err);
    });
  }

  private save(): Promise<void> {
    const store = writable(this.opts.store);
    if (!store) return Promise.resolve();
    if (this.saving) return this.saving;
    this.sinceSave = 0;
    // Snapshots are taken synchronously (consistent with `seq`); only the writes are async.
    const cps = checkpointsOf(this.set);
    this.saving = Promise.all(cps.map((cp) => store.save(checkpointKey(cp), cp)))
      .then(() => undefined)
      .finally(() => {
        this.saving = undefined;
      });
    return this.saving;
  }

  private onHole(h: SeqRange): void {
    if (!this.opts.skipHoles) throw holeError(h);
    this.holes.push(h);
  }

  async verify(): Promise<VerifyResult> {
    const live = checkpointsOf(this.set);
    const rebuilt = await rebuildTo(this.opts.log, this.opts.projections, live, (h) =>
      this.onHole(h),
    );
    return compareCheckpoints(live, rebuilt);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.live?.stop();
    await this.loop;
    await this.saving;
    this.live = undefined;
  }
}

/**
 * Rebuild from zero, taking each projection's snapshot exactly at the sequence of its given
 * checkpoint (one pass; events are folded one at a time around those points).
 */
export async function rebuildTo(
  log: EventLog,
  projections: readonly Projection<unknown>[],
  at: readonly Checkpoint[],
  onHole: (h: SeqRange) => void = (h) => {
    throw holeError(h);
  },
): Promise<Checkpoint[]> {
  const set = createProjectionSet(projections);
  const targets = projections.map((p) => at.find((c) => c.name === p.name)?.seq ?? 0);
  const out: (Checkpoint | undefined)[] = projections.map(() => undefined);
  const take = () => {
    set.slots.forEach((slot, i) => {
      if (!out[i] && set.seq >= (targets[i] as number)) {
        const p = slot.projection;
        out[i] = {
          name: p.name,
          version: p.version,
          seq: targets[i] as number,
          state: p.snapshot(slot.state),
        };
      }
    });
  };
  take();
  const until = Math.max(0, ...targets);
  if (until > 0) {
    const gaps = new GapWatch(1, onHole);
    for await (const batch of log.replayBatches({ fromSeq: 1, untilSeq: until })) {
      gaps.check(batch);
      for (const item of batch) {
        foldItems(set, [item]);
        take();
      }
    }
    gaps.end(until);
  }
  set.seq = until;
  take();
  return out as Checkpoint[];
}

/** Watches a replay's sequences for missing ones (the stream keeps every sequence). */
class GapWatch {
  constructor(
    private expected: number,
    private readonly onHole: (h: SeqRange) => void,
  ) {}

  check(batch: readonly ReplayItem[]): void {
    for (const item of batch) {
      const seq = isCorrupt(item) ? item.seq : item.recorded.seq;
      const gap = gapBefore(this.expected, seq);
      if (gap) this.onHole(gap);
      if (seq >= this.expected) this.expected = seq + 1;
    }
  }

  /** The replay ended: sequences up to `end` not seen are missing too. */
  end(end: number | undefined): void {
    if (end !== undefined && end >= this.expected)
      this.onHole({ fromSeq: this.expected, toSeq: end });
  }
}

function holeError(h: SeqRange): SchedulerError {
  const at = h.fromSeq === h.toSeq ? `seq ${h.fromSeq}` : `seqs ${h.fromSeq}..${h.toSeq}`;
  return new SchedulerError(
    ErrorCodes.LogHole,
    `the event log is missing ${at}: run 'drover verify' to name it; --skip-holes folds across it`,
    { details: h },
  );
}

/** Compare live checkpoints with rebuilt ones, projection by projection. Pure. */
export function compareCheckpoints(
  live: readonly Checkpoint[],
  rebuilt: readonly Checkpoint[],
): VerifyResult {
  const diffs: VerifyResult['diffs'] = [];
  for (const cp of live) {
    const other = rebuilt.find((r) => r.name === cp.name);
    for (const d of diffJson(cp.state, other?.state, 20)) diffs.push({ projection: cp.name, ...d });
  }
  return { equal: diffs.length === 0, seq: Math.max(0, ...live.map((c) => c.seq)), diffs };
}
