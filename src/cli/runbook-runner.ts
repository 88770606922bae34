import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient, RunbookRunView } from '../api/index.js';
import { ErrorCodes, SchedulerError, type RunbookStep } from '../events/index.js';
import {
  durationMs,
  evaluateCondition,
  fill,
  fillCondition,
  matchesPattern,
} from '../policy/runbook/index.js';
import { performAct, readFacts, runQuery } from './runbook-queries.js';
import type { RunbookPerson } from './runbook-terminal.js';

/** How a run is driven: who answers, with which flags, acting as whom. */
export interface RunnerOptions {
  readonly api: ApiClient;
  readonly person: RunbookPerson;
  /** `--yes`: every confirmation answered yes (recorded as given by the flag). */
  readonly yes: boolean;
  /** `--arg k=v` beyond the runbook's arguments: answers to `ask` steps by their id. */
  readonly answers: Readonly<Record<string, string>>;
  /** Who acts on the trusted surface (the user's own surface names them itself). */
  readonly by: string;
}

type Vars = Record<string, string>;
/** How a step ends: completed (with how), or the whole run finished. */
type StepEnd =
  | { readonly complete: 'done' | 'skipped' | 'timed_out'; readonly note?: string }
  | { readonly finish: 'aborted' | 'failed'; readonly reason: string };

/** The run's variables: its arguments and every `ask` answer so far. */
function varsOf(run: RunbookRunView): Vars {
  const vars: Vars = { ...run.args };
  for (const s of run.steps)
    if (s.kind === 'ask' && typeof s.answer === 'string') vars[s.id] = s.answer;
  return vars;
}

const clip = (s: string) => (s.length > 3900 ? `${s.slice(0, 3900)}…` : s);

/** The runner of one run: each method is one step kind; every fact goes to the log first. */
class Runner {
  constructor(
    private run: RunbookRunView,
    private readonly o: RunnerOptions,
  ) {}

  private record(command: string, data: Record<string, unknown>) {
    return this.o.api.runbookRecord(this.run.id, command, data, { by: this.o.by });
  }

  private where(i: number, step: RunbookStep) {
    return `step ${i + 1} (${step.id})`;
  }

  /** A yes/no from the person, the flag, or a refusal when neither can give one. */
  private async yesNo(i: number, step: RunbookStep, question: string): Promise<boolean> {
    const prior = this.run.steps[i]?.answer;
    if (typeof prior === 'boolean') return prior;
    let value: boolean;
    let how: 'terminal' | 'flag';
    if (this.o.yes) [value, how] = [true, 'flag'];
    else if (this.o.person.interactive)
      [value, how] = [await this.o.person.confirm(question), 'terminal'];
    else
      throw new SchedulerError(
        ErrorCodes.Refused,
        `${this.where(i, step)} needs a confirmation and there is no terminal to ask on: pass --yes, or resume on a terminal (drover runbook resume ${this.run.id})`,
      );
    this.run = await this.record('RecordAnswer', { index: i, id: step.id, value, how });
    return value;
  }

  async show(
    i: number,
    step: Extract<RunbookStep, { kind: 'show' }>,
    vars: Vars,
  ): Promise<StepEnd> {
    const text = await runQuery(this.o.api, step, vars);
    this.o.person.say(text);
    return { complete: 'done', note: clip(text) };
  }

  async ask(i: number, step: Extract<RunbookStep, { kind: 'ask' }>, vars: Vars): Promise<StepEnd> {
    const valid = (v: string): true | string =>
      step.pattern === undefined || matchesPattern(step.pattern, v)
        ? true
        : `must match ${step.pattern}`;
    const given = this.o.answers[step.id];
    let value: string;
    let how: 'terminal' | 'flag' | 'default';
    if (given !== undefined) {
      const ok = valid(given);
      if (ok !== true)
        throw new SchedulerError(ErrorCodes.BadInput, `--arg ${step.id}=${given}: ${ok}`);
      [value, how] = [given, 'flag'];
    } else if (this.o.person.interactive) {
      const question = fill(step.question, vars);
      value = await this.o.person.ask(question, {
        ...(step.default !== undefined && { default: step.default }),
        validate: valid,
      });
      how = 'terminal';
    } else if (step.default !== undefined) [value, how] = [step.default, 'default'];
    else
      throw new SchedulerError(
        ErrorCodes.BadInput,
        `${this.where(i, step)} asks "${fill(step.question, vars)}" and there is no terminal: pass --arg ${step.id}=VALUE`,
      );
    this.run = await this.record('RecordAnswer', { index: i, id: step.id, value, how });
    return { complete: 'done' };
  }

  async confirm(
    i: number,
    step: Extract<RunbookStep, { kind: 'confirm' }>,
    vars: Vars,
  ): Promise<StepEnd> {
    if (step.show) this.o.person.say(await runQuery(this.o.api, step.show, vars));
    const question = fill(step.question, vars);
    if (!(await this.yesNo(i, step, question)))
      return { finish: 'aborted', reason: `${this.where(i, step)}: "${question}" answered no` };
    return { complete: 'done' };
  }

  async act(i: number, step: Extract<RunbookStep, { kind: 'act' }>, vars: Vars): Promise<StepEnd> {
    const target = fill(step.target, vars);
    const reason = step.reason === undefined ? undefined : fill(step.reason, vars);
    if (step.when) {
      const when = fillCondition(step.when, vars);
      const verdict = evaluateCondition(when, await readFacts(this.o.api, when, vars));
      if (!verdict.holds) return { complete: 'skipped', note: `not needed: ${verdict.why}` };
    }
    if (step.dangerous && this.run.steps[i]?.answer === undefined) {
      const plan = `${this.where(i, step)} will ${step.op} ${target}${reason ? ` (reason: ${reason})` : ''}`;
      this.o.person.say(plan);
      if (step.preview) this.o.person.say(await runQuery(this.o.api, step.preview, vars));
    }
    if (step.dangerous && !(await this.yesNo(i, step, `${step.op} ${target}?`)))
      return {
        finish: 'aborted',
        reason: `${this.where(i, step)}: ${step.op} ${target} not confirmed`,
      };
    if (this.run.steps[i]?.acted !== true) {
      const requestId = `${this.run.id}-${i}`;
      const base = { index: i, id: step.id, op: step.op, target };
      try {
        const result = await performAct(this.o.api, step.op, target, {
          by: this.o.by,
          requestId,
          ...(reason !== undefined && { reason }),
        });
        this.o.person.say(result);
        this.run = await this.record('RecordAction', { ...base, ok: true, result: clip(result) });
      } catch (err) {
        const e =
          err instanceof SchedulerError
            ? err
            : new SchedulerError(ErrorCodes.Unavailable, String(err));
        // Recorded, and the run stays at this step: fix the cause, then resume to try again.
        await this.record('RecordAction', {
          ...base,
          ok: false,
          error: { code: e.code, message: clip(e.message) },
        });
        throw new SchedulerError(
          e.code,
          `${this.where(i, step)}: ${e.message} (resume with drover runbook resume ${this.run.id})`,
        );
      }
    }
    return { complete: 'done' };
  }

  async wait(
    i: number,
    step: Extract<RunbookStep, { kind: 'wait' }>,
    vars: Vars,
  ): Promise<StepEnd> {
    const deadline = Date.now() + durationMs(step.timeout);
    let last = '';
    for (;;) {
      const until = fillCondition(step.until, vars);
      const verdict = evaluateCondition(until, await readFacts(this.o.api, until, vars));
      if (verdict.holds) {
        this.o.person.say(`ok: ${verdict.why}`);
        return { complete: 'done', note: verdict.why };
      }
      if (verdict.why !== last) this.o.person.say(`waiting: ${verdict.why}`);
      last = verdict.why;
      if (Date.now() >= deadline) return this.timedOut(i, step, verdict.why);
      await sleep(Math.min(durationMs(step.every), Math.max(0, deadline - Date.now())));
    }
  }

  private async timedOut(
    i: number,
    step: Extract<RunbookStep, { kind: 'wait' }>,
    why: string,
  ): Promise<StepEnd> {
    const what = `${this.where(i, step)} timed out after ${step.timeout}: ${why}`;
    this.o.person.say(what);
    if (step.onTimeout === 'continue') return { complete: 'timed_out', note: what };
    if (step.onTimeout === 'ask' && (await this.yesNo(i, step, 'It timed out: go on anyway?')))
      return { complete: 'timed_out', note: what };
    return { finish: 'failed', reason: what };
  }

  private async step(i: number, step: RunbookStep, vars: Vars): Promise<StepEnd> {
    switch (step.kind) {
      case 'show':
        return this.show(i, step, vars);
      case 'ask':
        return this.ask(i, step, vars);
      case 'confirm':
        return this.confirm(i, step, vars);
      case 'act':
        return this.act(i, step, vars);
      case 'wait':
        return this.wait(i, step, vars);
      default: {
        const _exhaustive: never = step;
        return _exhaustive;
      }
    }
  }

  /** Drive the run from where it stands to its end (or to a refusal, which leaves it resumable). */
  async drive(): Promise<RunbookRunView> {
    const steps = this.run.definition.steps;
    while (this.run.state === 'running') {
      const i = this.run.at;
      const step = steps[i];
      if (!step) {
        this.run = await this.record('FinishRunbook', {
          outcome: 'succeeded',
          reason: 'every step done',
        });
        break;
      }
      if (this.run.steps[i]?.status === 'pending')
        this.run = await this.record('StartStep', { index: i, id: step.id });
      this.o.person.say(
        `[${i + 1}/${steps.length}] ${step.kind} ${step.id}${step.title ? `: ${step.title}` : ''}`,
      );
      const end = await this.step(i, step, varsOf(this.run));
      this.run =
        'complete' in end
          ? await this.record('CompleteStep', {
              index: i,
              id: step.id,
              outcome: end.complete,
              ...(end.note !== undefined && { note: end.note }),
            })
          : await this.record('FinishRunbook', { outcome: end.finish, reason: end.reason });
    }
    return this.run;
  }
}

/**
 * Drive a runbook run to its end: each step started, answered, acted and completed as an event
 * through the API (by the person running it), so an interrupted run resumes where it stopped.
 * A run that ends aborted (a person said no) is REFUSED, one that failed (a wait timed out) is
 * TIMEOUT; both are in the log with the reason.
 */
export async function driveRunbook(run: RunbookRunView, o: RunnerOptions): Promise<RunbookRunView> {
  if (run.state !== 'running')
    throw new SchedulerError(
      ErrorCodes.Refused,
      `runbook run ${run.id} is ${run.state}: nothing to resume`,
    );
  const end = await new Runner(run, o).drive();
  if (end.state === 'aborted')
    throw new SchedulerError(ErrorCodes.Refused, `runbook run ${end.id} aborted: ${end.reason}`);
  if (end.state === 'failed')
    throw new SchedulerError(ErrorCodes.Timeout, `runbook run ${end.id} failed: ${end.reason}`);
  return end;
}
