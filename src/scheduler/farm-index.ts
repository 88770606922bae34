import {
  stateName,
  type ChunkSnapshot,
  type JobSnapshot,
  type NodeSnapshot,
} from '../actors/index.js';
import type { RecordedEvent, Resources } from '../events/index.js';
import { emptyLedger, foldUsage, type UsageHistory, type UsageLedger } from '../policy/index.js';
import { checkpointOf, ledgerOf, type UsageCheckpoint } from './usage-checkpoint.js';
import { WaitingChunks } from './waiting-chunks.js';

const LIVE = new Set(['assigned', 'running', 'cancelling']);
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export interface LiveChunk {
  readonly jobId: string;
  readonly node: string;
  readonly request: Resources;
  /** The attempt's worker and the chunk's state: the watchdog's per-second pass needs no fold. */
  readonly worker: string | undefined;
  readonly state: string;
}

/** The queue group of a running job: its user's running work at one priority. */
export interface RunningGroup {
  readonly key: string;
  readonly user: string;
  readonly pool: string;
  readonly priority: number;
}

const signatures = new Map<string, string>();
function signatureOf(state: string, priority: number): string {
  const sig = `${state}\u0000${priority}`;
  let known = signatures.get(sig);
  if (known === undefined) {
    if (signatures.size >= 4096) signatures.clear(); // priorities are few; bounded all the same
    signatures.set(sig, (known = [state, priority].join('\u0000')));
  }
  return known;
}

/** A chunk waiting for its first attempt, with nothing of an earlier one (request: the spec's). */
function isFresh(chunk: ChunkSnapshot, state: string): boolean {
  const c = chunk.context;
  return (
    state === 'pending' &&
    c.attempts.length === 0 &&
    c.checkpoint === undefined &&
    c.retry === undefined &&
    c.request === undefined
  );
}

const NONE: ReadonlyMap<string, LiveChunk> = new Map();
const zero = (): Resources => ({ cpus: 0, memMb: 0, gpus: 0 });
function add(a: Resources, b: Resources, sign: 1 | -1): void {
  a.cpus += sign * b.cpus;
  a.memMb += sign * b.memMb;
  a.gpus += sign * b.gpus;
}

/**
 * The scheduler's indexes over the entities it has folded: which jobs are open, which chunks wait
 * or hold capacity on which node, and each user's decayed usage. Membership is recomputed from an
 * entity's state (idempotent: applying the same state twice changes nothing), so it does not
 * matter whether a state came from the tail or from the scheduler's own append. Usage is the one
 * event-based part, fed only from the tail, which sees every event exactly once and in order.
 */
export class FarmIndex {
  readonly openJobs = new Set<string>();
  /** Job id → indices of its chunks that wait for a placement. */
  readonly waiting = new WaitingChunks();
  readonly live = new Map<string, LiveChunk>();
  /**
   * Live chunks in `assigned`: placed, and not yet reported started by their agent. Few at a time
   * (a launch takes its agent well under a second), so the launcher can look at them every second
   * for a launch that never went out.
   */
  readonly assigned = new Set<string>();
  /**
   * Live chunks in `cancelling`. One cancelled while its launch was not yet out (the publish
   * failed while a nats-server was down) has no worker for its agent to stop: the launcher
   * sends the launch all the same, and the agent closes it as cancelled before it started.
   */
  readonly cancelling = new Set<string>();
  /**
   * Job id → what its live chunks hold together (a round ranks running work per job, not per
   * chunk), and the queue group its job belongs to (user, priority), kept until the job changes.
   */
  readonly liveByJob = new Map<string, { held: Resources; chunks: number; group?: RunningGroup }>();
  /** Node → ids of its live chunks (the watchdog asks per node, every second). */
  private readonly byNode = new Map<string, Map<string, LiveChunk>>();
  readonly usedByNode = new Map<string, Resources>();
  readonly nodes = new Set<string>();
  /** Job id → log sequence of its submission (the queue's final tie-break). */
  readonly submitSeq = new Map<string, number>();
  /** Job id → jobs that run `after` it (they must hear when it ends). */
  readonly dependents = new Map<string, Set<string>>();
  /** Users' decayed usage and the workers holding resources: the policy's one usage fold. */
  private ledger: UsageLedger = emptyLedger();
  /** The last log sequence folded into `ledger` (a checkpoint's, then each tail event's). */
  private usageSeq = 0;
  /**
   * Bumped by every change a placement round could see: a chunk starts or stops waiting, holds
   * or frees capacity, a node appears, a job with waiting chunks (or jobs after it) changes state
   * or priority. Worker events, a chunk going from assigned to running and the like leave it be,
   * so the scheduler skips rounds that would only repeat the last one.
   */
  generation = 0;
  /** Job id → its state and priority as the last round-relevant change saw them. */
  private readonly jobSig = new Map<string, string>();
  /**
   * Waiting chunks that are not fresh (an attempt before, a retry verdict or a checkpoint), and
   * their count per job: a job whose waiting chunks are all fresh asks the same of every node for
   * each, so a round may stand one aggregate task for those it cannot place (`planRound`).
   */
  private readonly staleWaiting = new Set<string>();
  private readonly staleByJob = new Map<string, number>();

  constructor(private halfLifeS: number) {}

  /**
   * A new fair-share policy version is in force (`policy.*` on `fairshare`, folded from the tail
   * in log order): usage from here on decays with its half-life, and a round is due (weights
   * change the queue's order). Replays apply it at the same log position: deterministic.
   */
  policyChanged(halfLifeS: number): void {
    this.halfLifeS = halfLifeS;
    this.generation++;
  }

  job(id: string, job: JobSnapshot, seq?: number): void {
    const live = this.liveByJob.get(id);
    if (live) live.group = undefined; // its priority may have changed
    // Interned: one string per state and priority in use, not one per open job.
    const sig = signatureOf(stateName(job), job.context.priority);
    if (this.jobSig.get(id) !== sig) {
      if (this.waiting.has(id) || this.dependents.has(id) || live) this.generation++;
      this.jobSig.set(id, sig);
    }
    if (!this.submitSeq.has(id) && job.context.spec) {
      this.submitSeq.set(id, seq ?? 0);
      for (const dep of job.context.spec.after) {
        const set = this.dependents.get(dep);
        if (set) set.add(id);
        else this.dependents.set(dep, new Set([id]));
      }
    }
    if (TERMINAL.has(stateName(job)) || stateName(job) === 'none') {
      this.openJobs.delete(id);
      this.jobSig.delete(id);
    } else this.openJobs.add(id);
  }

  chunk(id: string, chunk: ChunkSnapshot): void {
    const { jobId, index, retry, attempt } = chunk.context;
    const state = stateName(chunk);
    // A failed attempt waits for the retry policy's verdict before it may be placed again.
    const placeable = state === 'pending' || (state === 'retry_wait' && retry?.attempt === attempt);
    this.noteFreshness(id, jobId, placeable && !isFresh(chunk, state));
    if (placeable) {
      if (!this.waiting.add(jobId, index)) return this.updateLive(id, chunk, state, jobId); // waits on
      this.generation++;
    } else if (this.waiting.delete(jobId, index)) this.generation++;
    this.updateLive(id, chunk, state, jobId);
  }

  /** Whether every waiting chunk of `jobId` is fresh (never attempted, no checkpoint). */
  allWaitingFresh(jobId: string): boolean {
    return !this.staleByJob.has(jobId);
  }

  private noteFreshness(id: string, jobId: string, stale: boolean): void {
    if (stale === this.staleWaiting.has(id)) return;
    const n = (this.staleByJob.get(jobId) ?? 0) + (stale ? 1 : -1);
    if (stale) this.staleWaiting.add(id);
    else this.staleWaiting.delete(id);
    if (n > 0) this.staleByJob.set(jobId, n);
    else this.staleByJob.delete(jobId);
  }

  private updateLive(id: string, chunk: ChunkSnapshot, state: string, jobId: string): void {
    const { node, request, worker } = chunk.context;
    const prior = this.live.get(id);
    const isLive = LIVE.has(state) && node !== undefined && request !== undefined;
    if (
      !prior ||
      !isLive ||
      prior.node !== node ||
      prior.request.cpus !== request.cpus ||
      prior.request.memMb !== request.memMb ||
      prior.request.gpus !== request.gpus
    )
      if (prior || isLive) this.generation++;
    if (prior) {
      add(this.used(prior.node), prior.request, -1);
      this.byNode.get(prior.node)?.delete(id);
      const ofJob = this.liveByJob.get(prior.jobId);
      if (ofJob && --ofJob.chunks === 0) this.liveByJob.delete(prior.jobId);
      else if (ofJob) add(ofJob.held, prior.request, -1);
    }
    if (isLive && state === 'assigned') this.assigned.add(id);
    else this.assigned.delete(id);
    if (isLive && state === 'cancelling') this.cancelling.add(id);
    else this.cancelling.delete(id);
    if (isLive) {
      const entry = { jobId, node, request, worker, state };
      this.live.set(id, entry);
      add(this.used(node), request, 1);
      let ofJob = this.liveByJob.get(jobId);
      if (!ofJob) this.liveByJob.set(jobId, (ofJob = { held: zero(), chunks: 0 }));
      ofJob.chunks++;
      add(ofJob.held, request, 1);
      const onNode = this.byNode.get(node);
      if (onNode) onNode.set(id, entry);
      else this.byNode.set(node, new Map([[id, entry]]));
    } else this.live.delete(id);
  }

  /**
   * Forget a finished job let go of by the scheduler's memory (`Retirement`): its submission's
   * position, and its place among the dependents of the jobs it ran after. Its chunks hold
   * nothing here any more (terminal and quiescent).
   */
  forgetJob(id: string, job: JobSnapshot): void {
    this.submitSeq.delete(id);
    this.jobSig.delete(id);
    this.dependents.delete(id);
    for (const dep of job.context.spec?.after ?? []) {
      const set = this.dependents.get(dep);
      if (set?.delete(id) && set.size === 0) this.dependents.delete(dep);
    }
  }

  node(id: string, _node: NodeSnapshot): void {
    this.nodes.add(id);
    this.generation++;
  }

  used(node: string): Resources {
    let u = this.usedByNode.get(node);
    if (!u) this.usedByNode.set(node, (u = zero()));
    return u;
  }

  /** The largest node that takes work or may come back (the cap of an out-of-memory raise). */
  largestNode(peek: { node(id: string): NodeSnapshot | undefined }): Resources {
    const l = zero();
    for (const id of this.nodes) {
      const n = peek.node(id);
      if (!n || ['lost', 'offline', 'none'].includes(stateName(n))) continue;
      l.cpus = Math.max(l.cpus, n.context.cpus);
      l.memMb = Math.max(l.memMb, n.context.memMb);
      l.gpus = Math.max(l.gpus, n.context.gpus);
    }
    return l;
  }

  /** Live chunks on one node (for node loss and drain). */
  liveOn(node: string): string[] {
    return [...(this.byNode.get(node)?.keys() ?? [])];
  }

  /** Live chunks on one node with what the index knows of them (chunk id → entry). */
  liveEntriesOn(node: string): ReadonlyMap<string, LiveChunk> {
    return this.byNode.get(node) ?? NONE;
  }

  /** Each user's decayed usage, as of its reference time (see `historyAt`). */
  get history(): UsageHistory {
    return this.ledger.history;
  }

  /**
   * Fold one tail event into the users' decayed usage with the policy's `foldUsage` (the rule the
   * fair-share projection folds by too). `userOf` reads the folded job; pure given it.
   */
  usage(event: RecordedEvent, userOf: (jobId: string) => string | undefined): void {
    // Already in the ledger when it came from a checkpoint at or after this event.
    if (event.recorded.seq <= this.usageSeq) return;
    foldUsage(this.ledger, event, userOf, this.halfLifeS);
    this.usageSeq = event.recorded.seq;
  }

  /**
   * Start the usage fold from a checkpoint (before the tail's first event): tail events up to its
   * sequence are skipped by `usage`, as the checkpoint holds them, whether or not compaction has
   * since moved them out of the live log.
   */
  resumeUsage(c: UsageCheckpoint): void {
    this.ledger = ledgerOf(c);
    this.usageSeq = c.seq;
  }

  /** The usage fold as a checkpoint at the last sequence it folded. */
  usageCheckpoint(): UsageCheckpoint {
    return checkpointOf(this.ledger, this.usageSeq);
  }
}
