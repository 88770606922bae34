import type { Logger } from 'pino';
import {
  calendarBehaviour,
  latestCalendar,
  latestWorkflow,
  runBehaviour,
  stateName,
  workflowBehaviour,
  type EntityRuntime,
  type KeyedQueue,
  type RunCommand,
  type RunSnapshot,
} from '../actors/index.js';
import type { JobSpec } from '../events/index.js';
import type { CalendarVersion } from '../policy/calendar/index.js';
import {
  dueRuns,
  isRunTerminal,
  planRun,
  runId,
  runJobId,
  runOutcome,
  scheduleZone,
  taskJobId,
  taskStateOf,
  type RunFact,
  type TaskState,
} from '../policy/pipeline/index.js';
import type { ClosedJobs } from './closed-jobs.service.js';
import type { Change } from './entity-view.js';
import type { Action, Peek, RuleContext } from './rules.js';
import {
  creationOwed,
  releaseJob,
  runJobSpec,
  taskJobSpec,
  unfinishedCreation,
} from './run-jobs.js';
import type { TickStep } from './ticker.service.js';

/** Workflows and their runs, as the log brings them (fed every change; no read of its own). */
export class PipelineIndex {
  readonly workflows = new Set<string>();
  readonly runs = new Map<string, Set<string>>();

  /** Fold a change: remember workflows and which runs belong to which workflow. */
  note(c: Change): void {
    if (c.entity === 'workflow') this.workflows.add(c.id);
    if (c.entity === 'run' && c.state.context.workflow !== undefined) {
      const w = c.state.context.workflow;
      let set = this.runs.get(w);
      if (!set) this.runs.set(w, (set = new Set()));
      set.add(c.id);
    }
  }
}

export interface TimekeeperDeps {
  readonly runtime: EntityRuntime;
  readonly queue: KeyedQueue;
  readonly index: PipelineIndex;
  readonly peek: Peek;
  readonly context: () => RuleContext;
  /** One job action through the action runner (throws when not leading). */
  readonly step: (a: Action) => Promise<void>;
  readonly canWrite: () => boolean;
  readonly changed: (c: Change) => void;
  readonly logger: Logger;
  /** A fire later than this was missed (catch-up policy); default the policy's. */
  readonly graceMs?: number;
  /**
   * Where the end of a job the live view does not hold is read (a compacted run's jobs, for
   * `dependsOnPast`). Without it such a job's task reads `queued`: its next run waits.
   */
  readonly closedJobs?: ClosedJobs;
}

/**
 * The timekeeper (issue 17): each tick of the leading scheduler, fire the runs that are due
 * (`dueRuns`, pure, with `now` passed in) and move every open run on (`planRun`, pure). Both
 * are level-triggered over what the log holds, so a scheduler that takes over after a crash
 * finishes exactly what the last one left: a run is created by an append that expects no prior
 * event (never twice), its jobs by idempotent command ids, and its tasks are decided once each.
 */
export class Timekeeper {
  private busy = false;

  constructor(private readonly d: TimekeeperDeps) {}

  /** The tick step; a tick still running when the next comes is not doubled. */
  readonly step: TickStep = (now) => {
    if (this.busy) return;
    this.busy = true;
    this.tick(now)
      .catch((err: unknown) => this.d.logger.error({ err }, 'timekeeper tick failed'))
      .finally(() => (this.busy = false));
  };

  async tick(now: number): Promise<void> {
    for (const name of this.d.index.workflows) await this.fire(name, now);
    for (const [workflow, runs] of this.d.index.runs) {
      const ordered = [...runs].sort();
      for (const id of ordered) await this.advance(workflow, id, ordered);
    }
  }

  private run(id: string): RunSnapshot | undefined {
    return this.d.runtime.peek(runBehaviour, id)?.state;
  }

  private calendar(name: string | undefined, version?: number): CalendarVersion | undefined {
    if (name === undefined) return undefined;
    const snap = this.d.runtime.peek(calendarBehaviour, name)?.state;
    if (!snap) return undefined;
    const v = version ?? latestCalendar(snap).version;
    const calendar = snap.context.versions[v - 1];
    return calendar ? { version: v, calendar } : undefined;
  }

  /** Append a run command through the runtime (one at a time per run), then fold its change. */
  private async runCommand(id: string, command: RunCommand): Promise<void> {
    await this.d.queue.run(`run:${id}`, async () => {
      if (!this.d.canWrite()) throw new Error('not leading');
      const out = await this.d.runtime.execute(runBehaviour, id, command);
      if (!out.ok)
        this.d.logger.warn(
          { run: id, type: command.type, why: out.rejection.message },
          'run command refused',
        );
      else if (out.events.length)
        this.d.changed({ entity: 'run', id, state: out.state, seq: out.lastSeq });
    });
  }

  private async fire(name: string, now: number): Promise<void> {
    const wf = this.d.runtime.peek(workflowBehaviour, name)?.state;
    const { version, workflow } = wf ? latestWorkflow(wf) : { version: 0 };
    if (!wf || !workflow?.schedule) return;
    const cal = this.calendar(workflow.schedule.calendar);
    if (workflow.schedule.calendar !== undefined && !cal) return;
    const facts: RunFact[] = [...(this.d.index.runs.get(name) ?? [])].flatMap((id) => {
      const c = this.run(id)?.context;
      const s = this.run(id);
      return c?.date !== undefined && s
        ? [
            {
              date: c.date,
              trigger: c.trigger ?? 'schedule',
              fireAt: c.fireAt ?? 0,
              state: stateName(s),
            },
          ]
        : [];
    });
    const since = wf.context.appliedAt[0] ?? now;
    const paused = stateName(wf) === 'paused';
    const due = dueRuns(
      { name, version, workflow, since, paused },
      cal,
      now,
      facts,
      this.d.graceMs,
    );
    const { by } = this.d.context();
    for (const r of due) {
      const id = runId(name, r.date);
      this.d.logger.info({ run: id, skip: r.skip }, 'run fired');
      await this.runCommand(id, {
        type: 'ScheduleRun',
        id: `fire:${id}`,
        at: now,
        by,
        data: {
          workflow: name,
          date: r.date,
          workflowVersion: version,
          ...(r.calendarVersion !== undefined && { calendarVersion: r.calendarVersion }),
          trigger: 'schedule',
          fireAt: r.fireAt,
          jobId: runJobId(name, r.date),
          ...(r.skip !== undefined && { skip: r.skip }),
        },
      });
    }
  }

  /**
   * Create a run's or a task's job, or finish one an earlier leader left half made (killed
   * between two of its appends: said in the log, it is the trace of that race).
   */
  private async makeJob(
    ctx: RuleContext,
    jobId: string,
    spec: JobSpec,
    hold: string | undefined,
  ): Promise<void> {
    const steps = unfinishedCreation(ctx, jobId, spec, hold);
    if (this.d.peek.job(jobId) !== undefined && steps.length > 0) {
      const missing = steps.map((a) => (a.entity === 'kill' ? a.entity : a.command.type));
      this.d.logger.warn({ job: jobId, missing }, 'job left half made: finishing it');
    }
    for (const a of steps) await this.d.step(a);
  }

  /**
   * The state of each task of a run, from the run's records and the tasks' jobs (or, for a job
   * the live view does not hold, its end as read from the archive: `closedJobs`).
   */
  private taskStates(run: RunSnapshot, taskIds: readonly string[]): Record<string, TaskState> {
    const c = run.context;
    return Object.fromEntries(
      taskIds.map((t) => {
        const record = c.tasks[t];
        const id = record?.jobId;
        const job = id !== undefined ? this.d.peek.job(id) : undefined;
        const state = job ? stateName(job) : id && this.d.closedJobs?.state(id);
        return [t, taskStateOf(record, state)];
      }),
    );
  }

  /**
   * Read the ends of a run's task jobs that the live view does not hold: a run compacted since
   * (`drover compact` moves a run's job tree, not the run) and folded by no one here. Asked for
   * `dependsOnPast` only; a failed read leaves them unknown until the next tick (logged).
   */
  private async learnClosed(run: RunSnapshot): Promise<void> {
    const closed = this.d.closedJobs;
    const ids = Object.values(run.context.tasks)
      .map((r) => r.jobId)
      .filter((id): id is string => id !== undefined && this.d.peek.job(id) === undefined);
    if (!closed || ids.length === 0) return;
    await closed.learn(ids).catch((err: unknown) => {
      this.d.logger.warn({ err, jobs: ids.length }, 'ended jobs of a compacted run not read');
    });
  }

  /** Move one open run on: its job, its tasks' decisions, releases, and its end. */
  private async advance(workflow: string, id: string, ordered: readonly string[]): Promise<void> {
    const run = this.run(id);
    if (!run || isRunTerminal(stateName(run))) return;
    const c = run.context;
    const wf = this.d.runtime.peek(workflowBehaviour, workflow)?.state;
    const def = wf?.context.versions[(c.workflowVersion ?? 0) - 1];
    const user = wf?.context.appliedBy[(c.workflowVersion ?? 0) - 1] ?? 'drover';
    if (!def || c.date === undefined || c.jobId === undefined) return;
    const date = c.date;
    const earlier = ordered
      .filter((r) => r < id)
      .map((r) => this.run(r))
      .filter((r) => r !== undefined);
    // Overlap (not `allow`): a run starts once every earlier run of its workflow has ended.
    if (
      stateName(run) === 'scheduled' &&
      def.schedule?.overlap !== 'allow' &&
      earlier.some((r) => !isRunTerminal(stateName(r)))
    )
      return;
    const ctx = this.d.context();
    const runJob = this.d.peek.job(c.jobId);
    // Not "does it exist": a leader killed half way through its creation left it submitted but
    // never held (so never released) or without its chunk, and the run waited for it for ever.
    if (!runJob || creationOwed(this.d.peek, c.jobId)) {
      const hold = `run ${id}: its tasks are being decided`;
      await this.makeJob(ctx, c.jobId, runJobSpec(id, user, def), hold);
      return;
    }
    const taskIds = def.tasks.map((t) => t.id);
    const states = this.taskStates(run, taskIds);
    const jobState = stateName(runJob);
    // Command ids are idempotency keys: a rerun's decisions are new ones, not the first run's.
    const again = c.reruns ? `:r${c.reruns}` : '';
    const meta = (tag: string) => ({ id: `${tag}:${id}${again}`, at: ctx.now, by: ctx.by });
    if (jobState === 'cancelling' || jobState === 'cancelled') {
      for (const t of taskIds.filter((t) => states[t] === 'undecided'))
        await this.runCommand(id, {
          type: 'SkipTask',
          ...meta(`skip-${t}`),
          data: { task: t, state: 'skipped', reason: 'the run was cancelled' },
        });
    } else {
      const cal = this.calendar(def.schedule?.calendar, c.calendarVersion);
      const prevRun = [...earlier].reverse().find((r) => stateName(r) !== 'skipped');
      const prevDef = prevRun && wf?.context.versions[(prevRun.context.workflowVersion ?? 0) - 1];
      if (prevRun && def.schedule?.dependsOnPast) await this.learnClosed(prevRun);
      const previous =
        prevRun && prevDef
          ? {
              run: runId(workflow, prevRun.context.date ?? ''),
              tasks: this.taskStates(
                prevRun,
                prevDef.tasks.map((t) => t.id),
              ),
            }
          : undefined;
      const steps = planRun({
        run: id,
        workflow: def,
        date,
        zone: scheduleZone(def, cal),
        ...(cal && { calendar: cal.calendar }),
        now: ctx.now,
        tasks: states,
        ...(previous && { previous }),
      });
      for (const s of steps) {
        // A held task's job is the one its run recorded; a new one is this run's (or rerun's).
        const jobId = c.tasks[s.task]?.jobId ?? taskJobId(workflow, date, s.task, c.reruns);
        if (s.kind === 'skip') {
          await this.runCommand(id, {
            type: 'SkipTask',
            ...meta(`skip-${s.task}`),
            data: { task: s.task, state: s.state, reason: s.reason },
          });
          states[s.task] = s.state;
        } else if (s.kind === 'release') {
          await this.d.step(releaseJob(ctx, jobId, 'nothing blocks it any more'));
        } else {
          // The job whole before the run records it: a job half made by a leader killed
          // mid-creation is finished here (the task is still undecided), never recorded as is.
          if (creationOwed(this.d.peek, jobId)) {
            const task = def.tasks.find((t) => t.id === s.task)!;
            const spec = taskJobSpec({ id, date, jobId: c.jobId }, user, def, task);
            await this.makeJob(ctx, jobId, spec, s.hold);
          }
          await this.runCommand(id, {
            type: 'SubmitTask',
            ...meta(`submit-${s.task}`),
            data: { task: s.task, jobId },
          });
          states[s.task] = 'queued';
        }
      }
    }
    const decided = taskIds.every((t) => states[t] !== 'undecided');
    if (decided && jobState === 'held')
      await this.d.step(releaseJob(ctx, c.jobId, `run ${id}: every task decided`));
    const fresh = this.run(id);
    const outcome = fresh && runOutcome(this.taskStates(fresh, taskIds), jobState);
    if (!outcome) return;
    const failed = taskIds.filter((t) =>
      ['failed', 'cancelled', 'upstream_failed'].includes(states[t] ?? ''),
    );
    const end: RunCommand =
      outcome === 'succeeded'
        ? { type: 'SucceedRun', ...meta('end') }
        : outcome === 'failed'
          ? { type: 'FailRun', ...meta('end'), data: { tasks: failed } }
          : outcome === 'cancelled'
            ? { type: 'CancelRun', ...meta('end') }
            : { type: 'SkipRun', ...meta('end'), data: { reason: 'every task was skipped' } };
    await this.runCommand(id, end);
  }
}
