import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEntityRuntime,
  jobFold,
  latestWorkflow,
  runFold,
  stateName,
  workflowBehaviour,
} from '../../../src/actors/index.js';
import { createApiClient, type ApiClient } from '../../../src/api/index.js';
import { runJobId, taskJobId } from '../../../src/policy/pipeline/index.js';
import { executeAction, peekOf } from '../../../src/scheduler/entity-view.js';
import { runScheduler } from '../../../src/scheduler/main.js';
import type { Action, RuleContext } from '../../../src/scheduler/rules.js';
import { jobCreation, runJobSpec, taskJobSpec } from '../../../src/scheduler/run-jobs.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { quietLogger } from '../../support/farm.js';

const DATE = '2016-03-01';

/** Where a leader died: after `cut` steps of the run job's creation, or of the task job's. */
interface Cut {
  readonly name: string;
  readonly of: 'run' | 'task';
  readonly cut: number;
}

/**
 * The race behind pipeline-failover's one red run ("every run ends: not after 120000 ms"): the
 * timekeeper creates a run's job, then each task's job, each in several appends (child_added,
 * submitted, queued or held, the chunk). A leader killed -9 between two of them (the test kills
 * right after a fire, while the tick is writing them) left the job half made, and its heir only
 * asked whether the job existed: a run job `submitted` was never held, so never released; one
 * without its chunk, or a task's job `submitted` or chunkless, was never placed. The run never
 * ended, and with dependsOnPast neither did any run after it.
 *
 * Here each interleaving is forced: the dead leader's steps are written up to a cut through the
 * one write path, then a scheduler takes over. Every run must end succeeded, each job made once.
 */
describe("a leader killed half way through a pipeline job's creation (real farm)", () => {
  let farm: ApiFarm;
  let api: ApiClient;
  const cuts: Cut[] = [
    { name: 'run-submitted', of: 'run', cut: 1 },
    { name: 'run-held', of: 'run', cut: 2 },
    { name: 'task-child-added', of: 'task', cut: 1 },
    { name: 'task-submitted', of: 'task', cut: 2 },
    { name: 'task-queued', of: 'task', cut: 3 },
    { name: 'task-whole', of: 'task', cut: 4 },
  ];

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 1, cpus: 4, scheduler: false });
    api = createApiClient(farm.nc);
  }, 60_000);
  afterAll(async () => {
    await farm?.stop();
  }, 60_000);

  /** What the dead leader wrote for one workflow's run: its fire, then steps up to the cut. */
  async function deadLeader(c: Cut): Promise<void> {
    await api.call('workflow.apply', {
      workflow: {
        name: c.name,
        tasks: [{ id: 'load', command: ['true'], cpus: 0.1, memMb: 32 }],
      },
    });
    await api.call('workflow.trigger', { name: c.name, date: DATE });
    const runtime = createEntityRuntime({ eventLog: farm.log, cache: true });
    const ctx: RuleContext = {
      peek: peekOf(runtime),
      by: { kind: 'scheduler', id: 'dead-leader' },
      now: Date.now(),
      largestNode: { cpus: 4, memMb: 4096, gpus: 0 },
    };
    const wf = (await runtime.load(workflowBehaviour, c.name)).state;
    const def = latestWorkflow(wf).workflow!;
    const user = wf.context.appliedBy[0]!;
    const run = `${c.name}@${DATE}`;
    const runJob = runJobId(c.name, DATE);
    const runSteps = jobCreation(
      ctx,
      runJob,
      runJobSpec(run, user, def),
      `run ${run}: its tasks are being decided`,
    );
    const taskSpec = taskJobSpec({ id: run, date: DATE, jobId: runJob }, user, def, def.tasks[0]!);
    const taskSteps = jobCreation(ctx, taskJobId(c.name, DATE, 'load'), taskSpec, undefined);
    const steps: Action[] =
      c.of === 'run' ? runSteps.slice(0, c.cut) : [...runSteps, ...taskSteps.slice(0, c.cut)];
    for (const a of steps) if (a.entity !== 'kill') await executeAction(runtime, a);
  }

  /** Each run's state, and its jobs' and their first chunks' (what a stuck run waits for). */
  async function states(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const c of cuts) {
      const run = runFold.foldEvents((await farm.log.read('run', `${c.name}@${DATE}`)).events);
      const jobs = [runJobId(c.name, DATE), taskJobId(c.name, DATE, 'load')];
      const parts = [`run ${stateName(run)}`];
      for (const j of jobs) {
        const job = jobFold.foldEvents((await farm.log.read('job', j)).events);
        const chunk = (await farm.log.read('chunk', `${j}:0`)).events.length;
        parts.push(`${j} ${stateName(job)} (${chunk} chunk events)`);
      }
      out[c.name] = parts.join(', ');
    }
    return out;
  }

  it('the heir finishes each half made job once, and every run ends succeeded', async () => {
    for (const c of cuts) await deadLeader(c);
    farm.scheduler = await runScheduler({
      nc: farm.nc,
      logger: quietLogger,
      holder: 'heir',
      leaseTtlMs: 1500,
      nodeLostMs: 3000,
    });
    const deadline = Date.now() + 60_000;
    let now = await states();
    while (Object.values(now).some((s) => !/^run (succeeded|failed|cancelled|skipped)/.test(s))) {
      if (Date.now() > deadline) break;
      await sleep(250);
      now = await states();
    }
    expect(now, 'every run ended').toEqual(
      Object.fromEntries(cuts.map((c) => [c.name, expect.stringMatching(/^run succeeded, /)])),
    );
    for (const c of cuts) {
      for (const j of [runJobId(c.name, DATE), taskJobId(c.name, DATE, 'load')]) {
        const types = (await farm.log.read('job', j)).events.map((e) => e.type);
        for (const once of ['job.submitted', 'job.held', 'job.queued', 'job.started'])
          expect(types.filter((t) => t === once).length, `${j} ${once}`).toBeLessThanOrEqual(1);
        const created = (await farm.log.read('chunk', `${j}:0`)).events.filter(
          (e) => e.type === 'chunk.created',
        );
        expect(created, `${j}:0 created once`).toHaveLength(1);
      }
    }
  }, 120_000);
});
