import { performance } from 'node:perf_hooks';
import { createApiClient } from '../src/api/client.js';
import { startApiFarm } from '../test/support/api-farm.js';
import { percentile, until, watchLog } from '../test/support/bench-farm.js';

/**
 * `npm run bench:pipelines` (issue 17): how fast the timekeeper fires and starts runs.
 * - `pipelines`: WORKFLOWS workflows of TASKS tasks (t0, then t1..tN-1 after t0) on one cron
 *   second a few seconds ahead (UTC), all applied before it: from that fire instant to each
 *   run's first task's job `job.started` (its process running on an agent), p50/p99, and the
 *   runs fired and started per second (fire instant → the last first task running).
 * - `ceiling`: in the same run, on the same farm, the same number of plain one-chunk jobs
 *   submitted at once through the durable intake: submit → `job.started`, p50/p99.
 * - where the pipeline time goes: fire → `run.scheduled` seen, → the t0 `run.task_submitted`.
 * The timekeeper ticks once a second, so up to ~1 s of the pipeline figure is the tick.
 * Real agents run the real processes (`true`). Prints one JSON document.
 */
const WORKFLOWS = Number(process.env.BENCH_WORKFLOWS ?? 100);
const TASKS = Number(process.env.BENCH_TASKS ?? 10);
const LEAD_MS = Number(process.env.BENCH_LEAD_MS ?? 8_000);

const farm = await startApiFarm({ agents: 2, cpus: Math.max(8, WORKFLOWS), memMb: 1 << 20 });
const api = createApiClient(farm.nc, { timeoutMs: 30_000 });
const round = (x: number) => Math.round(x);
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: round(percentile(s, 50)), p99: round(percentile(s, 99)), max: round(s.at(-1)!) };
};

try {
  // One whole UTC second far enough ahead that every workflow is applied before it.
  const fireAt = Math.ceil((Date.now() + LEAD_MS) / 1000) * 1000;
  const at = new Date(fireAt);
  const cron = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
  const date = at.toISOString().slice(0, 10);
  const names = Array.from({ length: WORKFLOWS }, (_, i) => `bench${i}`);
  const firstJobs = new Map(names.map((n) => [`${n}_${date}_t0`, n]));
  const started = new Map<string, number>();
  const watch = watchLog(farm.log, 1, 'job', (e, id) => {
    if (e.type === 'job.started' && !started.has(id)) started.set(id, Date.now());
  });
  // Where the time goes: the run appended (`run.scheduled`), its t0 job submitted.
  const scheduled = new Map<string, number>();
  const submitted = new Map<string, number>();
  const runWatch = watchLog(farm.log, 1, 'run', (e) => {
    if (e.type === 'run.scheduled') scheduled.set(e.data.workflow, Date.now());
    if (e.type === 'run.task_submitted' && e.data.task === 't0')
      submitted.set(e.data.jobId, Date.now());
  });
  const t0 = performance.now();
  for (const name of names)
    await api.call('workflow.apply', {
      by: 'bench',
      workflow: {
        name,
        schedule: { cron, timezone: 'UTC', catchup: 'none' },
        tasks: Array.from({ length: TASKS }, (_, i) => ({
          id: `t${i}`,
          command: ['true'],
          ...(i > 0 && { after: ['t0'] }),
        })),
      },
    });
  const applyMs = performance.now() - t0;
  if (Date.now() >= fireAt) throw new Error(`applying took ${round(applyMs)} ms: raise BENCH_LEAD_MS`);
  await until(() => [...firstJobs.keys()].every((j) => started.has(j)), 120_000 + LEAD_MS, 20);
  const lags = [...firstJobs.keys()].map((j) => started.get(j)! - fireAt);
  const lastMs = Math.max(...lags);
  const toScheduled = names.map((n) => (scheduled.get(n) ?? NaN) - fireAt);
  const toSubmitted = [...firstJobs.keys()].map((j) => (submitted.get(j) ?? NaN) - fireAt);
  await runWatch.stop();

  // Ceiling: the same number of plain jobs at once, submit → started.
  const submittedAt = new Map<string, number>();
  await Promise.all(
    names.map(async (n) => {
      const t = Date.now();
      const id = await farm.submit({ name: `plain-${n}`, user: 'bench', command: ['true'] });
      submittedAt.set(id, t);
    }),
  );
  await until(() => [...submittedAt.keys()].every((j) => started.has(j)), 120_000, 20);
  const plain = [...submittedAt].map(([id, t]) => started.get(id)! - t);
  await watch.stop();

  console.log(
    JSON.stringify({
      workflows: WORKFLOWS,
      tasksPerWorkflow: TASKS,
      agents: 2,
      applyAllMs: round(applyMs),
      pipelines: {
        fireToRunScheduledMs: stats(toScheduled),
        fireToFirstTaskSubmittedMs: stats(toSubmitted),
        fireToFirstTaskRunningMs: stats(lags),
        runsFiredAndStartedPerSec: Math.round((WORKFLOWS / lastMs) * 1000 * 10) / 10,
      },
      ceiling: {
        plainSubmitToRunningMs: stats(plain),
        jobsStartedPerSec: Math.round((WORKFLOWS / Math.max(...plain)) * 1000 * 10) / 10,
      },
      node: process.version,
    }),
  );
} finally {
  await farm.stop();
}
