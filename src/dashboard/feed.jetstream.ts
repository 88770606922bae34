import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import {
  applyHeartbeat,
  archiveScopeOf,
  emptyReadModel,
  startRetainedModel,
  type ReadModel,
  type RetainedModel,
  type RetiredJob,
} from '../api/index.js';
import { awaitCatchUp } from '../api/catch-up.js';
import {
  plainReadModel,
  restoreReadModel,
  type PlainReadModel,
} from '../api/read-model-snapshot.js';
import {
  openStartupSnapshots,
  startSnapshotTimer,
  type StartupSnapshots,
} from '../api/startup-snapshot.jetstream.js';
import {
  HEARTBEAT_WILDCARD,
  HeartbeatSchema,
  eventSubject,
  isCorrupt,
  parseEventSubject,
  type EventLog,
  type NodeReading,
  type RecordedEvent,
  type Tail,
} from '../events/index.js';
import { noteReading } from './ops-views.js';
import {
  auditProjection,
  fairshare,
  fairshareProjection,
  throughputProjection,
  type AuditState,
  type FairshareState,
  type Json,
  type ThroughputState,
} from '../projections/index.js';

/** One failed attempt, kept for the overview's "recent failures by cause". */
export interface FailureNote {
  worker: string;
  job: string;
  node: string;
  cause: string;
  exitCode?: number;
  signal?: string;
  at: number;
}

/** One fair-share sample of a user: dominant share and task counts at `t` (epoch ms). */
export interface FairSample {
  t: number;
  dru: number;
  running: number;
  pending: number;
}

/** What changed since the last `drain()`: whether anything did, and which jobs (null = many). */
export interface Changes {
  events: boolean;
  heartbeats: boolean;
  jobs: string[] | null;
}

/**
 * Everything the dashboard shows, folded from ONE tail of the log: the API's read model (the
 * entities through their own machines), and the throughput, fair-share and audit projections.
 */
export interface Feed {
  readonly model: ReadModel;
  readonly throughput: ThroughputState;
  readonly fairshare: FairshareState;
  readonly audit: AuditState;
  /** Newest failed attempts first (at most `FAILURES_KEPT`). */
  readonly failures: FailureNote[];
  /** Per user, fair-share samples over time (one per minute of log time, then live). */
  readonly fairHistory: Map<string, FairSample[]>;
  /** Per node, its recent memory and swap readings from the heartbeats (oldest first). */
  readonly readings: Map<string, NodeReading[]>;
  /** What the retention let go of and holds for later (tests, benches). */
  readonly retention: { readonly retired: number; readonly waiting: number };
  /** Whether log events or heartbeats arrived since the last `drain()` (no reset). */
  peek(): { events: boolean; heartbeats: boolean };
  /** Take and reset what changed since the previous call. */
  drain(): Changes;
  stop(): Promise<void>;
}

const FAILURES_KEPT = 200;
const SAMPLES_KEPT = 24 * 60;
const CHANGED_JOBS_MAX = 500;
/** Fair-share sampling period, in log time while replaying and in wall time when live. */
const SAMPLE_MS = 60_000;
const IGNORED_CAUSES = new Set(['Succeeded', 'Cancelled']);

function jobOfEntity(id: string): string {
  const at = id.indexOf(':');
  return at < 0 ? id : id.slice(0, at);
}

interface FeedState extends Feed {
  retained: RetainedModel;
  lastSampleSlot: number;
  changed: Set<string>;
  many: boolean;
  dirty: boolean;
  hbDirty: boolean;
}

function noteFailure(feed: FeedState, e: RecordedEvent, id: string): void {
  if (e.type !== 'worker.exited' && e.type !== 'worker.killed' && e.type !== 'worker.lost') return;
  const w = feed.model.workers.get(id);
  const ctx = w?.snapshot.context;
  if (!ctx?.cause || IGNORED_CAUSES.has(ctx.cause)) return;
  feed.failures.unshift({
    worker: id,
    job: jobOfEntity(id),
    node: ctx.node,
    cause: ctx.cause,
    ...(ctx.exitCode != null && { exitCode: ctx.exitCode }),
    ...(ctx.signal != null && { signal: ctx.signal }),
    at: e.at,
  });
  if (feed.failures.length > FAILURES_KEPT) feed.failures.length = FAILURES_KEPT;
}

/** A job let go of leaves the audit index too (its trail is read from the log on demand). */
function forgetAudit(audit: AuditState, gone: RetiredJob): void {
  audit.seqs.delete(eventSubject('job', gone.job));
  for (const id of gone.chunks) audit.seqs.delete(eventSubject('chunk', id));
  for (const id of gone.workers) audit.seqs.delete(eventSubject('worker', id));
}

/** Add one fair-share sample per user as of `now` (cheap enough once a minute). */
export function sampleFairshare(feed: Feed, now: number): void {
  for (const row of fairshare(feed.fairshare, { now })) {
    let list = feed.fairHistory.get(row.user);
    if (!list) feed.fairHistory.set(row.user, (list = []));
    list.push({ t: now, dru: row.dru, running: row.running, pending: row.pending });
    if (list.length > SAMPLES_KEPT) list.splice(0, list.length - SAMPLES_KEPT);
  }
}

function fold(feed: FeedState, e: RecordedEvent): void {
  const slot = Math.floor(e.at / SAMPLE_MS);
  if (slot > feed.lastSampleSlot) {
    if (feed.lastSampleSlot > 0) sampleFairshare(feed, e.at);
    feed.lastSampleSlot = slot;
  }
  const kept = feed.retained.apply(e);
  throughputProjection.apply(feed.throughput, e);
  fairshareProjection.apply(feed.fairshare, e);
  // A job let go of leaves the audit index with the model: its page reads its trail from the log.
  if (kept) auditProjection.apply(feed.audit, e);
  const target = parseEventSubject(e.recorded.subject);
  feed.dirty = true;
  if (!target) return;
  if (target.entity === 'worker') noteFailure(feed, e, target.id);
  if (target.entity === 'node' || target.entity === 'calendar' || feed.many) return;
  // Shown by their own panels and pages, not a job page.
  const own = ['reservation', 'alert', 'runbook', 'session', 'policy', 'promise'];
  if (own.includes(target.entity)) return;
  feed.changed.add(jobOfEntity(target.id));
  if (feed.changed.size > CHANGED_JOBS_MAX) [feed.many, feed.changed] = [true, new Set()];
}

/** What the feed's start-up snapshot holds: everything folded from the log (not heartbeats). */
interface FeedSnapshot {
  readonly model: PlainReadModel;
  readonly throughput: Json;
  readonly fairshare: Json;
  readonly audit: Json;
  readonly failures: FailureNote[];
  readonly fairHistory: [string, FairSample[]][];
  readonly lastSampleSlot: number;
}

/** The feed as it stands (a consistent state at `model.seq`: taken between two events). */
function takeSnapshot(feed: FeedState): { seq: number; state: FeedSnapshot } {
  const state: FeedSnapshot = {
    model: plainReadModel(feed.model),
    throughput: throughputProjection.snapshot(feed.throughput),
    fairshare: fairshareProjection.snapshot(feed.fairshare),
    audit: auditProjection.snapshot(feed.audit),
    failures: feed.failures.slice(),
    fairHistory: [...feed.fairHistory].map(([user, list]) => [user, list.slice()]),
    lastSampleSlot: feed.lastSampleSlot,
  };
  return { seq: feed.model.seq, state };
}

/** The folded part of the feed a snapshot describes; undefined (warned) when it is not one. */
function restoreSnapshot(state: unknown, logger: Logger) {
  try {
    const s = state as FeedSnapshot;
    if (!Array.isArray(s.failures) || !Array.isArray(s.fairHistory))
      throw new Error('dashboard feed snapshot: bad failures or fairHistory');
    return {
      model: restoreReadModel(s.model),
      throughput: throughputProjection.restore(s.throughput),
      fairshare: fairshareProjection.restore(s.fairshare),
      audit: auditProjection.restore(s.audit),
      failures: s.failures,
      fairHistory: new Map(s.fairHistory),
      lastSampleSlot: Number(s.lastSampleSlot) || 0,
    };
  } catch (err) {
    logger.warn({ err }, 'dashboard feed snapshot unusable: folding the log from its start');
    return undefined;
  }
}

/** Start-up snapshot options of the feed (tests and benches set their own). */
export interface FeedSnapshotOptions {
  /** Where snapshots live (default: KV `drover_projections` on `nc`); null: none. */
  readonly snapshots?: StartupSnapshots | null;
  readonly everyMs?: number;
  readonly minEvents?: number;
  /** Give up start-up after this long without progress (default `CATCH_UP_STALL_MS`). */
  readonly stallMs?: number;
  /**
   * How long a finished job stays in the feed's model after it ended (`ReadRetention`, the API's
   * rules; default `Infinity`: every job. The services pass `DROVER_READ_RETENTION`).
   */
  readonly retainMs?: number;
}

/**
 * Start the feed: from the latest start-up snapshot (or the log's start), tail the log merged
 * with the part of its archive the retention keeps (a replay that never ends) and listen to
 * heartbeats; resolves once it has caught up with the log as it stood at the start, and saves a
 * snapshot periodically and on stop. The dashboard only reads the log: every write goes through
 * the API client.
 */
export async function startFeed(
  nc: NatsConnection,
  eventLog: EventLog,
  logger: Logger,
  clock: () => number = Date.now,
  opts: FeedSnapshotOptions = {},
): Promise<Feed> {
  const snapshots =
    opts.snapshots === undefined
      ? await openStartupSnapshots(nc, 'dashboard-feed', logger)
      : opts.snapshots;
  const loaded = await snapshots?.load();
  const restored = loaded && restoreSnapshot(loaded.state, logger);
  if (restored) logger.info({ seq: loaded.seq }, 'dashboard feed restored from its snapshot');
  // Set once caught up (stop() may run before: a failed start).
  const saver: { timer?: ReturnType<typeof startSnapshotTimer> | null } = {};
  const model = restored?.model ?? emptyReadModel();
  const audit = restored?.audit ?? auditProjection.initial();
  const retainMs = opts.retainMs ?? Infinity;
  const retained = startRetainedModel(model, {
    retainMs,
    clock,
    onRetire: (gone) => forgetAudit(audit, gone),
  });
  const feed: FeedState = {
    model,
    retained,
    retention: retained.retention,
    throughput: restored?.throughput ?? throughputProjection.initial(),
    fairshare: restored?.fairshare ?? fairshareProjection.initial(),
    audit,
    failures: restored?.failures ?? [],
    fairHistory: restored?.fairHistory ?? new Map(),
    readings: new Map(),
    lastSampleSlot: restored?.lastSampleSlot ?? 0,
    changed: new Set(),
    many: false,
    dirty: false,
    hbDirty: false,
    peek: () => ({ events: feed.dirty, heartbeats: feed.hbDirty }),
    drain() {
      const out: Changes = {
        events: feed.dirty,
        heartbeats: feed.hbDirty,
        jobs: feed.many ? null : [...feed.changed],
      };
      [feed.dirty, feed.hbDirty, feed.many, feed.changed] = [false, false, false, new Set()];
      return out;
    },
    async stop() {
      retained.stop();
      saver.timer?.stop();
      clearInterval(sampler);
      hb.unsubscribe();
      await tail.stop();
      await loop;
      await saver.timer?.saveNow();
    },
  };
  // Archived jobs that ended before the retention are not folded (the job page reads them).
  const archive = archiveScopeOf(retainMs, clock());
  const tail: Tail = eventLog.tail({ fromSeq: feed.model.seq + 1, archive });
  const loop = (async () => {
    for await (const item of tail) {
      if (isCorrupt(item)) feed.model.seq = Math.max(feed.model.seq, item.seq);
      else fold(feed, item);
    }
  })().catch((err: unknown) => logger.error({ err }, 'dashboard tail failed'));
  const hb: Subscription = nc.subscribe(HEARTBEAT_WILDCARD, {
    callback: (err, msg) => {
      if (err) return;
      const parsed = HeartbeatSchema.safeParse(safeJson(msg.string()));
      if (!parsed.success) return;
      applyHeartbeat(feed.model, parsed.data);
      if (parsed.data.reading) noteReading(feed.readings, parsed.data.node, parsed.data.reading);
      feed.hbDirty = true;
    },
  });
  const sampler = setInterval(() => {
    const now = clock();
    if (Math.floor(now / SAMPLE_MS) <= feed.lastSampleSlot) return;
    feed.lastSampleSlot = Math.floor(now / SAMPLE_MS);
    sampleFairshare(feed, now);
  }, 5_000);
  sampler.unref();
  try {
    await awaitCatchUp({
      what: 'dashboard feed',
      target: await eventLog.lastSeq(),
      // Archived history left out still counts as passed: its last events may be the log's last.
      position: () => Math.max(feed.model.seq, tail.passed()),
      logger,
      ...(opts.stallMs !== undefined && { stallMs: opts.stallMs }),
    });
  } catch (err) {
    await feed.stop();
    throw err;
  }
  const minEvents = opts.minEvents ?? 10_000;
  const timer = (saver.timer =
    snapshots &&
    startSnapshotTimer({
      position: () => feed.model.seq,
      take: () => takeSnapshot(feed),
      snapshots,
      logger,
      everyMs: opts.everyMs ?? 5 * 60_000,
      minEvents,
      savedSeq: loaded?.seq ?? 0,
    }));
  // A long fold is saved at once: the next start does not pay it again.
  if (timer && feed.model.seq - (loaded?.seq ?? 0) >= minEvents) void timer.saveNow();
  return feed;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
