import { Packr } from 'msgpackr';
import type { Logger } from 'pino';
import {
  chunkBehaviour,
  toPlain,
  workerBehaviour,
  type EntityRuntime,
  type JobCommand,
  type JobSnapshot,
  type KeyedQueue,
} from '../actors/index.js';
import { workSubject, type JetStreamPublisher, type KillWork } from '../events/index.js';
import { executeAction, type Change, type EntityAction } from './entity-view.js';
import type { Action } from './rules.js';

const packr = new Packr({ useRecords: false });

export interface ActionRunnerDeps {
  readonly runtime: EntityRuntime;
  /** One queue per entity: commands for one entity run one at a time, in order. */
  readonly queue: KeyedQueue;
  /** The work subjects' publisher (kills go to the agents). */
  readonly work: JetStreamPublisher;
  /** True while this scheduler leads and runs (the lease is held, not stopped). */
  readonly canWrite: () => boolean;
  /** Told of every state an action appended (fold it into the indexes). */
  readonly changed: (c: Change) => void;
  /**
   * What a job command just stored asks at once of the same job (its close: `closeAfter`), run
   * in the same turn of the job's queue instead of at the rules' next look.
   */
  readonly followUp?: (
    jobId: string,
    command: JobCommand,
    job: JobSnapshot,
  ) => JobCommand | undefined;
  readonly logger: Logger;
}

/**
 * Runs the actions the rules, the watch and the rounds ask for: entity commands through the one
 * write path, kills as work messages. An action skipped while the lease is not held, or that
 * failed (no ack, no stream: a leader change), sets `missed`, so that the next tick's sweep
 * redoes whatever is still owed (rules are level-triggered; command ids dedupe what landed).
 * Without it a failed action waited for its entity's next change, which may never come: the
 * last chunk's settlement lost, and its job stays running.
 */
export class ActionRunner {
  /** Actions were skipped (lease renewal late) or failed; a sweep owes them. */
  missed = false;

  constructor(private readonly deps: ActionRunnerDeps) {}

  /** Fire and forget: failures are logged and owed to the next sweep. */
  run(actions: readonly Action[]): void {
    for (const a of actions)
      this.exec(a).catch((err: unknown) => {
        this.missed = true;
        this.deps.logger.error({ err, a: a.entity }, 'action failed');
      });
  }

  /** One action; resolves once it is appended or refused (or skipped when not leading). */
  exec(a: Action): Promise<void> {
    if (a.entity === 'kill') return this.kill(a);
    return this.deps.queue.run(`${a.entity}:${a.id}`, async () => {
      if (!this.deps.canWrite()) {
        this.missed = true;
        return;
      }
      const follow = await this.once(a);
      if (!follow) return;
      if (!this.deps.canWrite()) {
        this.missed = true;
        return;
      }
      // One follow-up, not a chain: the close it asks for asks nothing further.
      await this.once(follow);
    });
  }

  /** One entity action, inside its entity's queue slot; returns its follow-up, if any. */
  private async once(a: EntityAction): Promise<EntityAction | undefined> {
    const out = await executeAction(this.deps.runtime, a);
    if (!out.ok) {
      this.deps.logger.debug(
        { entity: a.entity, id: a.id, type: a.command.type, why: out.why },
        'refused',
      );
      return undefined;
    }
    if (!out.change) return undefined;
    this.deps.changed(out.change);
    if (a.entity !== 'job' || out.change.entity !== 'job' || !this.deps.followUp) return undefined;
    const command = this.deps.followUp(a.id, a.command, out.change.state);
    return command && { entity: 'job', id: a.id, command };
  }

  /**
   * One step of a submission: unlike a rule's action it must not be skipped silently, so without
   * the lease it throws and the intake redelivers the submission to whoever leads.
   */
  async step(a: Action): Promise<void> {
    if (a.entity === 'kill') return;
    await this.deps.queue.run(`${a.entity}:${a.id}`, async () => {
      if (!this.deps.canWrite()) throw new Error('not leading');
      const out = await executeAction(this.deps.runtime, a satisfies EntityAction);
      if (out.ok && out.change) this.deps.changed(out.change);
    });
  }

  private async kill(a: Extract<Action, { entity: 'kill' }>): Promise<void> {
    const { runtime } = this.deps;
    const chunk = runtime.peek(chunkBehaviour, a.worker.slice(0, a.worker.lastIndexOf(':')));
    const worker = runtime.peek(workerBehaviour, a.worker);
    const kill: KillWork = {
      kind: 'kill',
      worker: a.worker,
      reason: a.reason,
      ...(chunk && { chunkState: { snapshot: toPlain(chunk.state), lastSeq: chunk.lastSeq } }),
      ...(worker && { workerState: { snapshot: toPlain(worker.state), lastSeq: worker.lastSeq } }),
    };
    await this.deps.work.publish(workSubject(a.node), packr.pack(kill), `kill:${a.worker}`);
  }
}
