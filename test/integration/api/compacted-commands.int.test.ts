import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedHistories } from '../../../bench/growth-seed.js';
import { allQuiescent, stateName } from '../../../src/actors/index.js';
import {
  applyEvent,
  createApiClient,
  emptyReadModel,
  startApiService,
  type ApiClient,
  type ApiService,
  type ReadModel,
} from '../../../src/api/index.js';
import {
  INTAKE_STREAM,
  compactLog,
  ensureFarmStreams,
  type EventData,
} from '../../../src/events/index.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';
import { uid } from '../../support/events.js';
import { quietLogger } from '../../support/farm.js';
import { useEventLog } from '../../support/nats-client.js';
import { farmHistory, recordAll, type Entry } from '../../support/projection-history.js';

const farm = useEventLog({ beforeAll, afterAll });

/*
 * Issue 23, the gaps compaction and read retention left: every command that takes a job id, on a
 * job the API's read model let go of and on a job `drover compact` moved to the archive, through
 * the real CLI and API on a real nats-server; and `jobs` paging across a job's departure. No
 * scheduler runs: the history is seeded raw, and a resubmitted copy is read from the intake.
 */
const RETAIN_MS = 1_000;
let now = 0;
let api: ApiService;
let client: ApiClient;
/** The real CLI's one-shot commands, answered by long-lived CLI processes (cli-session.ts). */
let session: CliSession;
const cli = (args: string[]) => session.run(args);
/** Standalone finished jobs (no parent, no children): the retention lets go of those. */
let loose: { id: string; state: string }[];
/**
 * Finished jobs of a second history that ends in 2100: the retention holds them (they ended
 * "later"), compaction moves them (it goes by store time): compacted jobs still in the model.
 */
let held: string[];
/** `depOk` succeeded and `depBad` failed; `afterOk` ran after `depOk`, `afterBad` after `depBad`. */
let deps: { depOk: string; depBad: string; afterOk: string; afterBad: string };
/** Every job of the list, in its order, before any left the read model. */
let order: string[] = [];

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** The history's final states, folded in memory before seeding (to pick the jobs by role). */
function foldAll(entries: readonly Entry[]): ReadModel {
  const model = emptyReadModel();
  for (const e of recordAll(entries)) applyEvent(model, e);
  return model;
}

function standalone(entries: readonly Entry[]): { id: string; state: string }[] {
  return [...foldAll(entries).jobs]
    .filter(
      ([, j]) =>
        TERMINAL.includes(stateName(j)) &&
        j.context.spec?.parent === undefined &&
        Object.keys(j.context.children).length === 0 &&
        allQuiescent(j.context),
    )
    .map(([id, j]) => ({ id, state: stateName(j) }));
}

/**
 * Pick the jobs by role. The history's jobs all succeed and name no dependency: one is made to
 * fail (its `job.succeeded` becomes a `job.failed`, under the same guard), and two dependants
 * are given an `after`.
 */
function pickRoles(entries: Entry[]): void {
  const ok = standalone(entries).filter((j) => j.state === 'succeeded');
  const [depOk, afterOk, depBad, afterBad] = ok.slice(0, 4).map((j) => j.id);
  if (!depOk || !afterOk || !depBad || !afterBad)
    throw new Error('the seeded history lacks a role: pick another seed');
  deps = { depOk, depBad, afterOk, afterBad };
  const end = entries.find((e) => e.id === depBad && e.event.type === 'job.succeeded');
  Object.assign(end?.event ?? {}, {
    type: 'job.failed',
    data: { cause: 'ExitNonZero', message: 'exit code 1' },
  });
  for (const [job, dep] of [
    [afterOk, depOk],
    [afterBad, depBad],
  ] as const) {
    const submitted = entries.find((e) => e.id === job && e.event.type === 'job.submitted');
    (submitted?.event.data as EventData<'job.submitted'>).after = [dep];
  }
  loose = standalone(entries);
  expect(loose.find((j) => j.id === depBad)?.state).toBe('failed');
}

/** The JSON error the CLI printed with `--json`. */
function errorOf(stdout: string): { code: string; message: string } {
  return (JSON.parse(stdout) as { error: { code: string; message: string } }).error;
}

/** The submission body a resubmit put on the intake (no scheduler takes it in here). */
async function intakeBody(jobId: string): Promise<Record<string, unknown>> {
  const jsm = await jetstreamManager(farm.nc);
  const msg = await jsm.streams.getMessage(INTAKE_STREAM, { seq: Number(jobId.slice(1)) });
  return msg?.json() as Record<string, unknown>;
}

beforeAll(async () => {
  const tag = uid('K');
  const entries = farmHistory(23, { jobs: 60, users: 3, tag });
  pickRoles(entries);
  const later = farmHistory(24, { jobs: 12, users: 3, tag: `${tag}L`, t0: Date.UTC(2100, 0) });
  held = standalone(later).map((j) => j.id);
  expect(held.length).toBeGreaterThan(2);
  const histories = [entries, later];
  await ensureFarmStreams(await jetstreamManager(farm.nc));
  await seedHistories(farm.nc, {
    events: entries.length + later.length,
    history: (h) => histories[h] ?? [],
  });
  api = await startApiService({
    nc: farm.nc,
    logger: quietLogger,
    readRetentionMs: RETAIN_MS,
    clock: () => now,
  });
  client = createApiClient(farm.nc);
  session = cliSession(farm.server.url, [{}]);
}, 120_000);

afterAll(async () => {
  await session?.stop();
  await api?.stop();
});

describe('jobs paging, commands on jobs let go of and compacted (real CLI, API, nats-server)', () => {
  it('a page goes on after its cursor job left the read model (retention)', async () => {
    const all = (await client.jobs({ all: true })).map((r) => r.id);
    order = all;
    const at = all.indexOf(loose[3]?.id as string);
    expect(at).toBeGreaterThan(0);
    const first = await client.jobsPage({ all: true, pageSize: at + 1 });
    expect(first.next).toBe(all[at]);

    now = Date.now();
    const cursor = first.next as string;
    expect(await api.live.until((m) => !m.jobs.has(cursor), 10_000)).toBe(true);
    const rest = await client.jobsPage({ all: true, after: cursor, pageSize: 10_000 });
    const still = new Set((await client.jobs({ all: true })).map((r) => r.id));
    expect(rest.jobs.map((r) => r.id)).toEqual(all.slice(at + 1).filter((id) => still.has(id)));
    expect(rest.next).toBeUndefined();
    // A job the log never held is still NOT_FOUND, naming the field.
    await expect(client.jobsPage({ all: true, after: 'no-such-job' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/^after: job no-such-job/),
    });
  }, 60_000);

  it('cancel, clear, priority and resubmit of a job the read model let go of answer from the log', async () => {
    // One whose clear nothing blocks (some attempts of the history are lost, never confirmed).
    let job: { id: string; state: string } | undefined;
    for (const j of loose.filter((x) => !Object.values(deps).includes(x.id)))
      if (!job && (await client.clearPlan(j.id)).blockers.length === 0) job = j;
    const id = job?.id as string;
    expect(api.live.model.jobs.has(id)).toBe(false);

    const cancel = await cli(['cancel', id, '--yes', '--json']);
    expect(cancel.code).toBe(4);
    expect(errorOf(cancel.stdout)).toMatchObject({
      code: 'REFUSED',
      message: `job ${id} is ${job?.state}: nothing to cancel`,
    });
    await expect(client.priority(id, 5, 'late')).rejects.toMatchObject({ code: 'REFUSED' });

    const resubmit = await cli(['resubmit', deps.afterOk, '--json']);
    expect(resubmit.code).toBe(0);
    const copy = JSON.parse(resubmit.stdout) as { jobId: string; resubmitOf: string };
    expect(copy.resubmitOf).toBe(deps.afterOk);
    expect(await intakeBody(copy.jobId)).toMatchObject({
      resubmitOf: deps.afterOk,
      after: [deps.depOk],
    });

    const clear = await cli(['clear', id, '--yes', '--json']);
    expect({ code: clear.code, out: clear.stdout }).toEqual({
      code: 0,
      out: expect.stringContaining('"cleared":true'),
    });
    expect(JSON.parse(clear.stdout)).toMatchObject({ id, cleared: true });
    expect((await client.job(id)).resultsCleared).toBe(true);
  }, 60_000);

  it('on a compacted job: cancel and clear are refused (exit 4) saying why, resubmit copies it from the archive, paging goes on', async () => {
    const report = await compactLog(farm.nc, { olderThanMs: 0, now: Date.now() });
    expect(report.jobs).toBeGreaterThan(10);
    // Not the one the test before cleared.
    const [, job] = loose.filter(
      (j) => !Object.values(deps).includes(j.id) && !api.live.model.jobs.has(j.id),
    );
    const id = job?.id as string;
    expect(api.live.model.jobs.has(held[0] as string)).toBe(true);
    const lastSeq = await farm.log.lastSeq();
    // Moved: the live log holds nothing of it, the archive all of it.
    expect(await farm.log.lastSeqOf('job', id)).toBe(0);
    expect((await client.job(id)).state).toBe(job?.state);

    const closed = (target: string) =>
      `job ${target} was compacted to the archive (drover compact): its history is closed and nothing is written to it again; its results stay readable there (drover show)`;
    const cancel = await cli(['cancel', id, '--yes', '--json']);
    expect(cancel.code).toBe(4);
    expect(errorOf(cancel.stdout)).toMatchObject({
      code: 'REFUSED',
      message: `job ${id} is ${job?.state}: nothing to cancel`,
    });
    const plan = await cli(['clear', id, '--dry-run', '--json']);
    expect(plan.code).toBe(0);
    const { blockers } = (JSON.parse(plan.stdout) as { plan: { blockers: { why: string }[] } })
      .plan;
    expect(blockers.map((b) => b.why)).toContain(closed(id));
    const clear = await cli(['clear', id, '--yes', '--json']);
    expect(clear.code).toBe(4);
    expect(errorOf(clear.stdout).message).toMatch(/compacted to the archive/);
    // A compacted job the read model still holds: the same answers (through the API here).
    const inModel = held[0] as string;
    const state = (await client.job(inModel)).state;
    await expect(client.cancel(inModel)).rejects.toMatchObject({
      code: 'REFUSED',
      message: `job ${inModel} is ${state}: nothing to cancel`,
    });
    expect((await client.clearPlan(inModel)).blockers.map((b) => b.why)).toContain(closed(inModel));
    await expect(client.clear(inModel)).rejects.toMatchObject({ code: 'REFUSED' });
    // The API refuses too when asked directly (not only the CLI from its plan).
    await expect(client.clear(id)).rejects.toMatchObject({ code: 'REFUSED' });
    const priority = await cli(['priority', id, '5', '--reason', 'late', '--json']);
    expect(priority.code).toBe(4);
    expect(errorOf(priority.stdout)).toMatchObject({
      code: 'REFUSED',
      message: expect.stringMatching(/compacted to the archive/),
    });
    // Nothing of those was written to the live log (an archived entity is closed).
    expect(await farm.log.lastSeq()).toBe(lastSeq);

    // Resubmit copies the request read from the archive.
    const spec = (await client.job(id)) as unknown as { command: string[]; name: string };
    const resubmit = await cli(['resubmit', id, '--json']);
    expect(resubmit.code).toBe(0);
    const copy = JSON.parse(resubmit.stdout) as { jobId: string };
    expect(await intakeBody(copy.jobId)).toMatchObject({
      resubmitOf: id,
      name: spec.name,
      command: spec.command,
      after: [],
    });
    // A dependency compacted as succeeded is left out of the copy; one that failed refuses it.
    const okCopy = await client.resubmit(deps.afterOk);
    const okBody = await intakeBody(okCopy.jobId);
    expect(okBody).toMatchObject({ resubmitOf: deps.afterOk, after: [] });
    const badCopy = await cli(['resubmit', deps.afterBad, '--json']);
    expect(badCopy.code).toBe(4);
    expect(errorOf(badCopy.stdout)).toMatchObject({
      code: 'REFUSED',
      message: expect.stringMatching(
        new RegExp(`^after\\[0\\]: job ${deps.depBad} ended \\w+ and was compacted to the archive`),
      ),
    });
    // A new submission naming a compacted job is refused at once, naming the field.
    await expect(
      client.submit({ name: 'x', user: 'u0', command: ['true'], after: [deps.depOk] }),
    ).rejects.toMatchObject({ code: 'REFUSED', message: expect.stringMatching(/^after\[0\]: /) });

    // Paging after a compacted job the model let go of reads its place from the archive.
    const all = (await client.jobs({ all: true })).map((r) => r.id);
    const rest = await client.jobsPage({ all: true, after: id, pageSize: 10_000 });
    const later = all.filter((x) => order.indexOf(x) > order.indexOf(id));
    expect(later.length).toBeGreaterThan(0);
    expect(rest.jobs.map((r) => r.id)).toEqual(later);
    const listed = await cli(['jobs', '--all', '--json']);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { id: string }[]).map((r) => r.id)).toEqual(all);
  }, 120_000);
});
