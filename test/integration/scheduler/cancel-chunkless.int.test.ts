import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEntityRuntime,
  jobFold,
  latestWorkflow,
  runFold,
  stateName,
  workflowBehaviour,
  type EntityRuntime,
} from '../../../src/actors/index.js';
import { createApiClient, type ApiClient } from '../../../src/api/index.js';
import { toJobSpec } from '../../../src/events/index.js';
import { runJobId, taskJobId } from '../../../src/policy/pipeline/index.js';
import { executeAction, peekOf } from '../../../src/scheduler/entity-view.js';
import { runScheduler } from '../../../src/scheduler/main.js';
import type { Action, RuleContext } from '../../../src/scheduler/rules.js';
import { jobCreation, runJobSpec, taskJobSpec } from '../../../src/scheduler/run-jobs.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { quietLogger } from '../../support/farm.js';

const DATE = '2016-03-01';
/** Generous: a cancel with nothing to stop is a few appends (load average 10-40 here). */
const PROMPT_MS = 20_000;

/**
 * A job cancelled while it has no chunk, or with a child that has none (or is not even
 * submitted), must read `cancelled` promptly, and its parent must see it. The shapes are made as
 * a leader killed half way through a creation leaves them (each step through the one write
 * path, up to a cut), then a scheduler leads and the API cancels. Before the fix, a parent whose
 * child was added (`child_added`) but never submitted stayed `cancelling` for ever: its cascade
 * sent the child a cancel, which a job that does not exist refuses, and nothing settled it.
 */
describe('cancel of a job with no chunk (real farm)', () => {
  let farm: ApiFarm;
  let api: ApiClient;
  let runtime: EntityRuntime;
  let ctx: RuleContext;

  const spec = (name: string, parent?: string) =>
    toJobSpec({
      name,
      user: 'ann',
      command: ['sleep', '30'],
      cpus: 0.1,
      memMb: 16,
      ...(parent !== undefined && { parent }),
    });
  /** The steps of a job's creation (held when `hold`), the first `cut` of them written. */
  const make = async (id: string, opts: { parent?: string; hold?: boolean; cut?: number }) => {
    const steps = jobCreation(ctx, id, spec(id, opts.parent), opts.hold ? 'waiting' : undefined);
    await write(steps.slice(0, opts.cut ?? steps.length));
  };
  const write = async (steps: Action[]) => {
    for (const a of steps) if (a.entity !== 'kill') await executeAction(runtime, a);
  };
  const job = async (id: string) => jobFold.foldEvents((await farm.log.read('job', id)).events);
  /** Poll `ok` until it holds or `PROMPT_MS` passed (then the caller's expectation tells). */
  const until = async (ok: () => Promise<boolean>) => {
    for (const t = Date.now(); Date.now() - t < PROMPT_MS && !(await ok());)
      await new Promise((r) => setTimeout(r, 100));
  };
  const cancel = (id: string) =>
    api.call<{ state: string }>(
      'cancel',
      { id, wait: true, waitMs: PROMPT_MS, reason: 'test' },
      PROMPT_MS + 10_000,
    );

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 1, cpus: 4, scheduler: false });
    api = createApiClient(farm.nc);
    runtime = createEntityRuntime({ eventLog: farm.log, cache: true });
    ctx = {
      peek: peekOf(runtime),
      by: { kind: 'scheduler', id: 'dead-leader' },
      now: Date.now(),
      largestNode: { cpus: 4, memMb: 4096, gpus: 0 },
    };
  }, 60_000);
  afterAll(async () => {
    await farm?.stop();
  }, 60_000);

  it('every shape reads cancelled promptly, and a parent sees its cancelled child', async () => {
    // Only submitted; held without its chunk; queued without it.
    await make('only-submitted', { cut: 1 });
    await make('held-chunkless', { hold: true, cut: 2 });
    await make('queued-chunkless', { cut: 2 });
    // A parent whose child was added but never submitted (cut after the parent's child_added).
    await make('parent', { hold: true });
    await make('unborn', { parent: 'parent', cut: 1 });
    // Its grandparent waits on it: cancelling the middle job alone must reach the top one.
    await make('top', { hold: true });
    await make('middle', { parent: 'top', hold: true });
    await make('middle-unborn', { parent: 'middle', cut: 1 });
    // A parent whose every child ended (one never created its chunk, and was cancelled).
    await make('settled-parent', { hold: true, cut: 2 });
    await make('chunkless-child', { parent: 'settled-parent', hold: true, cut: 3 });

    farm.scheduler = await runScheduler({
      nc: farm.nc,
      logger: quietLogger,
      holder: 'heir',
      leaseTtlMs: 1500,
      nodeLostMs: 3000,
    });
    const ids = ['only-submitted', 'held-chunkless', 'queued-chunkless', 'parent'];
    const states = await Promise.all(ids.map(async (id) => (await cancel(id)).state));
    expect(Object.fromEntries(ids.map((id, i) => [id, states[i]]))).toEqual(
      Object.fromEntries(ids.map((id) => [id, 'cancelled'])),
    );
    expect((await job('parent')).context.children).toEqual({
      unborn: { state: 'cancelled', quiescent: true },
    });
    expect(stateName(await job('unborn'))).toBe('none');

    expect((await cancel('middle')).state).toBe('cancelled');
    await until(async () => (await job('top')).context.children.middle !== null);
    expect(stateName(await job('top'))).toBe('held');
    expect((await job('top')).context.children).toEqual({
      middle: { state: 'cancelled', quiescent: true },
    });

    expect((await cancel('chunkless-child')).state).toBe('cancelled');
    expect((await cancel('settled-parent')).state).toBe('cancelled');
  }, 120_000);

  it('a child submitted after its parent was cancelled is cancelled, never placed', async () => {
    // A submission under way when the cancel came: the parent's cascade found it unborn and
    // settled it; then its submission, queueing and chunk land anyway.
    await make('late-parent', { hold: true });
    await make('late', { parent: 'late-parent', cut: 1 });
    expect((await cancel('late-parent')).state).toBe('cancelled');
    const steps = jobCreation(ctx, 'late', spec('late', 'late-parent'), undefined);
    await write(steps.slice(1));
    const late = await farm.waitFor('late', ['cancelled'], PROMPT_MS);
    expect(late.context.cancelReason).toBe('test');
    // Its chunk may have come after its own cascade looked (settled then as never created):
    // cancelled all the same, by the chunk's rule, without a placement.
    const chunk = async () => (await farm.log.read('chunk', 'late:0')).events.map((e) => e.type);
    await until(async () => (await chunk()).includes('chunk.cancelled'));
    expect(await chunk()).toEqual(['chunk.created', 'chunk.cancelled']);
  }, 60_000);

  it("a run whose task's creation was cut after child_added ends cancelled", async () => {
    const name = 'cut-pipe';
    await farm.scheduler?.stop();
    farm.scheduler = undefined;
    await api.call('workflow.apply', {
      workflow: { name, tasks: [{ id: 'load', command: ['true'], cpus: 0.1, memMb: 32 }] },
    });
    await api.call('workflow.trigger', { name, date: DATE });
    // What a leader killed right after the task job's child_added left (run job whole, held).
    const dead = createEntityRuntime({ eventLog: farm.log, cache: true });
    const deadCtx = { ...ctx, peek: peekOf(dead), now: Date.now() };
    const wf = (await dead.load(workflowBehaviour, name)).state;
    const def = latestWorkflow(wf).workflow!;
    const user = wf.context.appliedBy[0]!;
    const run = `${name}@${DATE}`;
    const runJob = runJobId(name, DATE);
    const taskJob = taskJobId(name, DATE, 'load');
    const hold = `run ${run}: its tasks are being decided`;
    const taskSpec = taskJobSpec({ id: run, date: DATE, jobId: runJob }, user, def, def.tasks[0]!);
    for (const a of [
      ...jobCreation(deadCtx, runJob, runJobSpec(run, user, def), hold),
      ...jobCreation(deadCtx, taskJob, taskSpec, undefined).slice(0, 1),
    ])
      if (a.entity !== 'kill') await executeAction(dead, a);
    // The operator cancels the run's job before a scheduler leads again.
    const cancelled = api.call<{ state: string }>(
      'cancel',
      { id: runJob, wait: true, waitMs: 40_000 },
      50_000,
    );
    farm.scheduler = await runScheduler({
      nc: farm.nc,
      logger: quietLogger,
      holder: 'heir-2',
      leaseTtlMs: 1500,
      nodeLostMs: 3000,
    });
    expect((await cancelled).state).toBe('cancelled');
    const runState = async () =>
      stateName(runFold.foldEvents((await farm.log.read('run', run)).events));
    await until(async () => (await runState()) === 'cancelled');
    expect(await runState()).toBe('cancelled');
    expect(stateName(await job(taskJob))).toBe('none');
  }, 120_000);
});
