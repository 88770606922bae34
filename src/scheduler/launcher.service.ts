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
import type { Action, Peek } from './rules.js';
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
  readonly run: (actions: Action[]) => void;
  /** Told of every `chunk.assigned` this scheduler appended. */
  readonly metrics?: SchedulerMetrics;
  readonly logger: Logger;
}

/**
 * Turns placements into work: appends `chunk.assigned` (with the decision that chose the node),
 * publishes the launch to the node's agent, and starts a queued job on its first placement. Also
 * republishes the launches of assigned chunks after a takeover (the previous leader may have
 * appended the assignment and died before its launch went out; agents dedupe by worker id).
 */
export class Launcher {
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
    return this.deps.queue.run(`chunk:${task.id}`, async () => {
      if (!this.deps.canWrite()) return;
      const r = await this.deps.runtime.execute(chunkBehaviour, task.id, command);
      if (!r.ok) return;
      this.deps.metrics?.placed();
      this.deps.changed({ entity: 'chunk', id: task.id, state: r.state, seq: r.lastSeq });
      await this.publish(spec, r.state, r.lastSeq, node, task.request);
      this.startJob(task.jobId);
    });
  }

  /** Republish the launch of every assigned chunk the index holds as live. */
  relaunchAssigned(index: FarmIndex): void {
    for (const [id, c] of index.live) {
      const chunk = this.deps.peek.chunk(id);
      const spec = this.deps.peek.job(c.jobId)?.context.spec;
      const loaded = this.deps.runtime.peek(chunkBehaviour, id);
      if (!chunk || !spec || !loaded || stateName(chunk) !== 'assigned') continue;
      if (!chunk.context.worker) continue;
      this.publish(spec, chunk, loaded.lastSeq, c.node, chunk.context.request!).catch(
        (err: unknown) => this.deps.logger.error({ err, chunk: id }, 'relaunch not published'),
      );
    }
  }

  private startJob(jobId: string): void {
    const job = this.deps.peek.job(jobId);
    if (!job || stateName(job) !== 'queued') return;
    const { by, clock } = this.deps;
    const command = { type: 'StartJob' as const, id: `start:${jobId}`, at: clock(), by };
    this.deps.run([{ entity: 'job', id: jobId, command }]);
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
  }
}
