import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../../src/actors/index.js';
import { createApiClient } from '../../../src/api/index.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

interface Sizing {
  mode: string;
  memMb: number;
  source: 'history' | 'fallback';
  name: string;
  rule: { windowDays: number; lastRuns: number; headroom: number; stepMb: number };
  runs: { worker: string; peakMb: number; cause: string }[];
  peakMb?: number;
  peakWorker?: string;
  fallback?: string;
  message: string;
}

/** The part of `show --json` this test reads. */
interface View {
  request: { memMb: number };
  memSizing?: Sizing;
}

/**
 * `submit --mem auto` and per-name memory defaults on a real farm (nats-server, scheduler, agent,
 * API, the compiled CLI's commands answered by a CLI session, test/support/cli-session.ts): a
 * real process killed for memory leaves its peak in the usage history; the next `--mem auto` of
 * that name asks for at least that peak, with its provenance in the log (`show`, `explain`); an
 * unknown name falls back and says so; `explain` of the killed job gives the figure and the
 * command; `mem-default set NAME auto` makes a plain submit of the name auto-sized, and an
 * explicit `--mem` still wins.
 */
describe('right-sizing that acts (real farm, a real process killed for memory, CLI)', () => {
  let farm: ApiFarm;
  let session: CliSession;
  const env = { DROVER_USER: 'ada' };
  /** The commands one after another, as typed. */
  const commands = async (lines: string[][]) => {
    const answers = [];
    for (const args of lines) answers.push(await session.run(args, env));
    return answers;
  };
  beforeAll(async () => {
    // One node of 128 MB: a job killed for memory at 128 MB cannot be retried with more, so it
    // fails; the jobs sized after it ask for more than the node has and stay queued (their
    // runs would only add to the name's history).
    farm = await startApiFarm({ agents: 1, memMb: 128 });
    session = cliSession(farm.server.url, [env]);
  }, 60_000);
  afterAll(async () => {
    await session?.stop();
    await farm?.stop();
  }, 60_000);

  it('--mem auto asks for the peak of a run killed for memory; defaults, fallback and explain say how', async () => {
    // 20 × 8 MB touched buffers against 128 MB: the agent kills it for memory.
    const oomId = await farm.submit({
      name: 'hungry',
      user: 'ada',
      command: [
        process.execPath,
        '-e',
        'const b=[];for(let i=0;i<20;i++)b.push(Buffer.alloc(8<<20,1));setTimeout(()=>{},5000)',
      ],
      memMb: 128,
      retries: 0,
    });
    const job = await farm.waitFor(oomId, undefined, 60_000);
    expect(stateName(job)).toBe('failed');
    const killed = (await farm.events('worker', `${oomId}:0:1`)).find(
      (e) => e.type === 'worker.killed',
    );
    const peak = killed?.type === 'worker.killed' ? (killed.data.peakRssMb ?? 0) : 0;
    expect(peak).toBeGreaterThanOrEqual(128);

    // The API's usage history has the run once its explain decides from history (it tails the log).
    const api = createApiClient(farm.nc, { as: 'ada' });
    const until = async (what: string, ok: () => Promise<boolean>) => {
      const deadline = Date.now() + 20_000;
      while (!(await ok().catch(() => false))) {
        if (Date.now() > deadline) throw new Error(`the API never saw ${what}`);
        await sleep(100);
      }
    };
    await until('the killed run', async () => !!(await api.explain(oomId)).memory?.auto);

    const [auto, fresh, xJson, xText, set, plain, explicit] = await commands([
      ['submit', '--json', '--name', 'hungry', '--mem', 'auto', '--', 'true'],
      ['submit', '--json', '--name', 'never-seen', '--mem', 'auto', '--', 'true'],
      ['explain', oomId, '--json'],
      ['explain', oomId],
      ['mem-default', 'set', 'hungry', 'auto', '--json'],
      ['submit', '--json', '--name', 'hungry', '--', 'true'],
      ['submit', '--json', '--name', 'hungry', '--mem', '200M', '--', 'true'],
    ]);
    for (const r of [auto, fresh, xJson, xText, set, plain, explicit])
      expect(r?.code, r?.stdout).toBe(0);
    const idOf = (r: typeof auto) => (JSON.parse(r?.stdout ?? '{}') as { jobId: string }).jobId;

    // (c) explain of the OOM-failed job: the figure and the exact command.
    const x = JSON.parse(xJson?.stdout ?? '{}') as {
      failure: { cause: string };
      memory: { memMb: number; command: string; auto: string };
      recommendations: string[];
    };
    expect(x.failure.cause).toBe('OutOfMemory');
    expect(x.memory.memMb).toBeGreaterThanOrEqual(peak);
    expect(x.memory.memMb).toBeGreaterThan(128);
    const flag = x.memory.memMb % 1024 === 0 ? `${x.memory.memMb / 1024}G` : `${x.memory.memMb}M`;
    expect(x.memory.command).toMatch(
      new RegExp(`^drover submit --name hungry --mem ${flag} -- \\S+node\\S* -e `),
    );
    expect(x.memory.auto).toContain(`${oomId}:0:1`);
    expect(x.recommendations.join('\n')).toContain(x.memory.command);
    expect(xText?.stdout).toContain(`--mem ${flag}`);

    // The scheduler takes a submission from the intake into the log, then the API sees it.
    for (const r of [auto, fresh, plain, explicit])
      await until(`job ${idOf(r)}`, async () => !!(await api.job(idOf(r))));
    const [showAuto, explainAuto, showFresh, showPlain, showExplicit] = await commands([
      ['show', idOf(auto), '--json'],
      ['explain', idOf(auto), '--json'],
      ['show', idOf(fresh), '--json'],
      ['show', idOf(plain), '--json'],
      ['show', idOf(explicit), '--json'],
    ]);
    // (a) memMb ≥ the recorded peak, and the provenance: rule, runs, the peak and which run.
    const shown = JSON.parse(showAuto?.stdout ?? '{}') as View;
    expect(shown.request.memMb).toBeGreaterThanOrEqual(peak);
    expect(shown.request.memMb).toBe(x.memory.memMb);
    expect(shown.memSizing).toMatchObject({
      mode: 'auto',
      source: 'history',
      name: 'hungry',
      memMb: shown.request.memMb,
      peakWorker: `${oomId}:0:1`,
      rule: { windowDays: 30, lastRuns: 20, headroom: 1.2, stepMb: 64 },
    });
    expect(shown.memSizing?.peakMb).toBeGreaterThanOrEqual(peak);
    expect(shown.memSizing?.runs).toEqual([
      expect.objectContaining({ worker: `${oomId}:0:1`, cause: 'OutOfMemory' }),
    ]);
    expect(shown.memSizing?.message).toMatch(/killed for memory/);
    const explained = JSON.parse(explainAuto?.stdout ?? '{}') as { memSizing: Sizing };
    expect(explained.memSizing).toEqual(shown.memSizing);
    expect(JSON.parse(auto?.stdout ?? '{}')).toMatchObject({
      memSizing: { memMb: shown.request.memMb },
    });

    // (b) an unknown name: the submit default, and it says so.
    const unknown = JSON.parse(showFresh?.stdout ?? '{}') as View;
    expect(unknown.request.memMb).toBe(512);
    expect(unknown.memSizing).toMatchObject({
      source: 'fallback',
      fallback: 'submit default',
      runs: [],
    });
    expect(unknown.memSizing?.message).toMatch(/no run of "never-seen".*submit default/);

    // (d) the name's default is auto: a plain submit is sized from history; --mem wins.
    expect(JSON.parse(set?.stdout ?? '{}')).toMatchObject({ name: 'hungry', memMb: 'auto' });
    const byDefault = JSON.parse(showPlain?.stdout ?? '{}') as View;
    expect(byDefault.request.memMb).toBe(shown.request.memMb);
    expect(byDefault.memSizing).toMatchObject({ source: 'history', peakWorker: `${oomId}:0:1` });
    const given = JSON.parse(showExplicit?.stdout ?? '{}') as View;
    expect(given.request.memMb).toBe(200);
    expect(given.memSizing).toBeUndefined();
  }, 120_000);
});
