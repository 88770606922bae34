import { Packr } from 'msgpackr';
import type { Logger } from 'pino';
import {
  chunkBehaviour,
  stateName,
  type ChunkSnapshot,
  type EntityRuntime,
  type KeyedQueue,
} from '../actors/index.js';
import {
  workSubject,
  workerId,
  type Actor,
  type JetStreamPublisher,
  type JobSpec,
} from '../events/index.js';
import type { Placement, ResourceVector } from '../policy/index.js';
import type { Change } from './entity-view.js';
import type { FarmIndex } from './farm-index.js';
import type { Peek } from './rules.js';
import { launchWork } from './work-messages.js';
import type { SchedulerMetrics } from './scheduler-metrics.js';

const packr = new Packr({ useRecords: false });

export interface LauncherDeps {
  readonly runtime: EntityRuntime;
  readonly queue: KeyedQueue;
  readonly work: JetStreamPublisher;
  readonly peek: Peek;
  readonly by: Actor;
  readonly clock: () => number;
  readonly canWrite: () => boolean;
  readonly changed: (c: Change) => void;
  /** Told of every `chunk.assigned` this scheduler appended. */
  readonly metrics?: SchedulerMetrics;
  readonly logger: Logger;
}

/**
 * Turns placements into work: appends `chunk.assigned` (with the decision that chose the node) and
 * publishes the launch to the node's agent. Its own state is which launches it saw acknowledged
 * by the work stream, and which chunks it is assigning now.
 *
 * Launching is level-triggered: an assigned chunk whose launch this leader has not seen
 * acknowledged gets it (re)published by `relaunch`, every second and after a takeover. An append
 * that landed but whose ack was lost (a stream leader change) fails `assign` while the tail
 * brings the chunk in as assigned; a launch whose publish failed is the same case. Republishing
 * is safe: the work stream dedupes `launch:<worker>` within its duplicate window, and an agent
 * refuses the launch of a worker past `launching` (it runs or ran it). Starting the job on its
 * first placement is a rule (`chunkRules`), not this part's.
 */
export class Launcher {
  /** Workers whose launch the work stream acknowledged (pruned once they leave `assigned`). */
  private readonly launched = new Set<string>();
  /** Chunks with an `assign` or a relaunch under way (the tick leaves them alone). */
  private readonly busy = new Set<string>();

  constructor(private readonly deps: LauncherDeps) {}

  /** Assign one placement; undefined when its chunk or job is not folded (nothing to do). */
  assign(p: Placement): Promise<void> | undefined {
    const { task, node } = p;
    const { peek, by, clock } = this.deps;
    const chunk = peek.chunk(task.id);
    const spec = peek.job(task.jobId)?.context.spec;
    if (!chunk || !spec) return undefined;
    const attempt = chunk.context.attempt + 1;
    const worker = workerId(task.jobId, task.index, attempt);
    const decision = {
      dru: p.dru,
      rank: p.rank,
      skipped: p.skipped.slice(0, 16).map((s) => ({ ...s })),
    };
    const command = {
      type: 'AssignChunk' as const,
      id: `assign:${worker}`,
      at: clock(),
      by,
      data: { attempt, node, worker, request: task.request, decision },
    };
    return this.exclusive(task.id, async () => {
      if (!this.deps.canWrite()) return;
      const r = await this.deps.runtime.execute(chunkBehaviour, task.id, command);
      if (!r.ok) return;
      this.deps.metrics?.placed();
      this.deps.changed({ entity: 'chunk', id: task.id, state: r.state, seq: r.lastSeq });
      await this.publish(spec, r.state, r.lastSeq, node, task.request);
    });
  }

  /**
   * Publish the launch of every assigned chunk whose launch this leader has not seen
   * acknowledged (all of them after a takeover: the previous leader may have appended the
   * assignment and died before its launch went out). Failures are logged; the next call retries.
   */
  relaunch(index: FarmIndex): void {
    if (!this.deps.canWrite()) return;
    for (const w of this.launched) {
      const cid = w.slice(0, w.lastIndexOf(':'));
      if (!index.assigned.has(cid) && !index.cancelling.has(cid)) this.launched.delete(w);
    }
    for (const id of [...index.assigned, ...index.cancelling]) {
      const worker = this.deps.peek.chunk(id)?.context.worker;
      if (this.busy.has(id) || worker === undefined || this.launched.has(worker)) continue;
      if (index.cancelling.has(id) && this.workerKnown(worker)) continue;
      this.exclusive(id, () => this.relaunchOne(id)).catch((err: unknown) =>
        this.deps.logger.error({ err, chunk: id }, 'relaunch not published'),
      );
    }
  }

  /**
   * A chunk is launched again while it is `assigned`, or while it is `cancelling` with no worker
   * in the log: cancelled before its launch went out (a publish that failed while a nats-server
   * was down), no agent holds a process to stop and confirm, so it waited for ever (the chaos
   * run, issue 23). Its agent takes the launch, finds the attempt cancelled and reports it ended
   * before it started: the cancel's confirmation.
   */
  private async relaunchOne(id: string): Promise<void> {
    const chunk = this.deps.peek.chunk(id);
    const loaded = this.deps.runtime.peek(chunkBehaviour, id);
    const c = chunk?.context;
    const spec = c && this.deps.peek.job(c.jobId)?.context.spec;
    if (!chunk || !loaded || !spec || !c?.worker || !c.node || !c.request) return;
    const state = stateName(chunk);
    const unlaunched = state === 'cancelling' && !this.workerKnown(c.worker);
    if ((state !== 'assigned' && !unlaunched) || this.launched.has(c.worker)) return;
    this.deps.logger.debug({ chunk: id, worker: c.worker, state }, 'launch republished');
    await this.publish(spec, chunk, loaded.lastSeq, c.node, c.request);
  }

  /** True once the worker's first event (`worker.launching`) is in the log. */
  private workerKnown(worker: string): boolean {
    const w = this.deps.peek.worker(worker);
    return w !== undefined && stateName(w) !== 'none';
  }

  /** Run `fn` in the chunk's queue slot, marked busy until it settles. */
  private exclusive(id: string, fn: () => Promise<void>): Promise<void> {
    this.busy.add(id);
    return this.deps.queue.run(`chunk:${id}`, fn).finally(() => this.busy.delete(id));
  }

  private async publish(
    spec: JobSpec,
    chunk: ChunkSnapshot,
    lastSeq: number,
    node: string,
    request: ResourceVector,
  ): Promise<void> {
    const launch = launchWork(spec, chunk, lastSeq, node, request);
    await this.deps.work.publish(workSubject(node), packr.pack(launch), `launch:${launch.worker}`);
    this.launched.add(launch.worker);
  }
}
