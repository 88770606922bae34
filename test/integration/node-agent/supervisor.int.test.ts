import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  launch as launchWith,
  procWalks,
  readLog,
  type LaunchSpec,
  type Report,
  type SupervisorHooks,
  type SupervisorOptions,
  type UsageSample,
} from '../../../src/node-agent/supervisor/index.js';
import { FIXTURES, liveInGroup, spec, tempRoot, until } from './support.js';

let root: Awaited<ReturnType<typeof tempRoot>>;
beforeAll(async () => {
  root = await tempRoot();
});
afterAll(async () => {
  await root.cleanup();
});

// Every case under both launchers: the fork server (the default) and Node's own spawn (the
// fallback when perl is missing).
describe.each(['fork-server', 'spawn'] as const)('launched by %s', (launcher) => {
  const launch = (s: LaunchSpec, hooks: SupervisorHooks = {}, opts: SupervisorOptions = {}) =>
    launchWith(s, hooks, { ...opts, launcher });
  const dir = (name: string) => root.dir(`${launcher}-${name}`);

  describe('limits', () => {
    it('kills a process over its memory limit: OutOfMemory, peak at least the limit', async () => {
      const samples: UsageSample[] = [];
      const alloc = join(FIXTURES, 'alloc.mjs');
      const s = await launch(
        spec(dir('oom'), [process.execPath, alloc, '10', '400', '30'], { memLimitMb: 100 }),
        { onSample: (x) => samples.push(x) },
        { sampleMs: 100 },
      );
      const o = await s.done;
      expect(o.cause).toBe('OutOfMemory');
      expect(o.peakRssMb).toBeGreaterThanOrEqual(100);
      expect(o.message).toMatch(/^killed: over memory limit 100 MB \(peak \d+ MB\)$/);
      expect(samples.length).toBeGreaterThan(0);
      expect(await liveInGroup(s.pgid)).toEqual([]);
    });

    it("counts the command's memory, not the wrapper's", async () => {
      // sleep holds ~1.7 MB here, the sh wrapper ~1.5 MB more.
      const samples: UsageSample[] = [];
      const s = await launch(
        spec(dir('wrapper-rss'), ['sleep', '1']),
        { onSample: (x) => samples.push(x) },
        { sampleMs: 100 },
      );
      await s.done;
      expect(samples.length).toBeGreaterThan(0);
      expect(Math.max(...samples.map((x) => x.rssMb))).toBeGreaterThan(0.2);
      expect(Math.max(...samples.map((x) => x.rssMb))).toBeLessThan(2.5);
    });

    it('stops a process at its time limit: TimeLimit', async () => {
      const s = await launch(spec(dir('time'), ['sleep', '30'], { timeoutS: 1 }));
      const o = await s.done;
      expect(o.cause).toBe('TimeLimit');
      expect(o.wallSeconds).toBeGreaterThanOrEqual(1);
      expect(o.wallSeconds).toBeLessThan(10);
    });
  });

  describe('kill', () => {
    it('SIGKILLs a group that ignores SIGTERM after the grace, resolving once it is empty', async () => {
      const runDir = dir('ignore-term');
      const s = await launch(spec(runDir, ['sh', join(FIXTURES, 'ignore-term.sh')]));
      await until(async () => (await readLog(runDir, 'stdout')).includes('ready'));
      expect((await liveInGroup(s.pgid)).length).toBeGreaterThanOrEqual(2);
      const t0 = Date.now();
      const o = await s.kill('cancel', { graceMs: 300 });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
      expect(await liveInGroup(s.pgid)).toEqual([]);
      expect(o.cause).toBe('Cancelled');
      expect(o.signal).toBe('SIGKILL');
    });

    it('waits for the leader to be reported gone, without walking /proc meanwhile', async () => {
      const runDir = dir('slow-term');
      // Ends 600 ms after its SIGTERM; no sampling tick falls within the test.
      const slow = "trap 'sleep 0.6; exit 0' TERM; echo ready; sleep 60 & wait";
      const s = await launch(spec(runDir, ['sh', '-c', slow]), {}, { sampleMs: 600_000 });
      await until(async () => (await readLog(runDir, 'stdout')).includes('ready'));
      const walks = procWalks();
      const o = await s.kill('cancel');
      expect(o.cause).toBe('Cancelled');
      expect(await liveInGroup(s.pgid)).toEqual([]);
      // One walk, for members that left the group. Polling the group walked /proc every 25 ms
      // after the first 100 ms (~20 walks here): with 100 processes stopping at once, the
      // agent's thread spent a mass cancel walking /proc (issue 22).
      expect(procWalks() - walks).toBeLessThanOrEqual(2);
    });

    it('stops sampling a group once it is being stopped', async () => {
      const runDir = dir('slow-term-sampled');
      const slow = "trap 'sleep 0.6; exit 0' TERM; echo ready; sleep 60 & wait";
      // A tick every 50 ms: before, each one sampled the group (a /proc walk and its members'
      // statm) during the 600 ms it took to end; in a mass cancel every stopping supervisor did
      // so each second, on the thread that takes the kill messages (issue 22).
      let samples = 0;
      const s = await launch(
        spec(runDir, ['sh', '-c', slow]),
        { onSample: () => void samples++ },
        { sampleMs: 50 },
      );
      await until(async () => (await readLog(runDir, 'stdout')).includes('ready'));
      const before = samples;
      const o = await s.kill('cancel');
      expect(o.cause).toBe('Cancelled');
      expect(await liveInGroup(s.pgid)).toEqual([]);
      expect(samples - before).toBeLessThanOrEqual(1); // at most a tick already under way
    });

    it('maps terminate to Preempted and hung to TimeLimit', async () => {
      const a = await launch(spec(dir('term'), ['sleep', '30']));
      const b = await launch(spec(dir('hung'), ['sleep', '30']));
      const [oa, ob] = await Promise.all([a.kill('terminate'), b.kill('hung')]);
      expect(oa.cause).toBe('Preempted');
      expect(ob.cause).toBe('TimeLimit');
      expect(oa.signal).toBe('SIGTERM');
    });
  });

  describe('logs, reports and env', () => {
    it('makes stdout readable while the process still runs', async () => {
      const runDir = dir('ticker');
      const s = await launch(spec(runDir, ['sh', join(FIXTURES, 'ticker.sh'), '1000']));
      await until(async () => (await readLog(runDir, 'stdout')).includes('line 3\n'));
      expect(await readLog(runDir, 'stdout', { tailLines: 1 })).toMatch(/^line \d+\n$/);
      expect(await liveInGroup(s.pgid)).not.toEqual([]);
      await s.kill('cancel', { graceMs: 1000 });
    });

    it('keeps a log over its cap bounded, newest lines behind a marker', async () => {
      const runDir = dir('trim');
      const s = await launch(
        spec(runDir, [
          'sh',
          '-c',
          'i=0; while [ $i -lt 400 ]; do echo "line $i"; i=$((i+1)); done; sleep 30',
        ]),
        {},
        { sampleMs: 50, logCapBytes: 1000 },
      );
      // Trimmed on the sampling ticks: once the writing stops, the next tick brings it under the
      // cap (between ticks, a busy machine may let it grow by what was written meanwhile).
      await until(async () => (await readLog(runDir, 'stdout')).endsWith('line 399\n'));
      await until(async () => (await readLog(runDir, 'stdout')).length <= 600);
      const text = await readLog(runDir, 'stdout');
      expect(text).toMatch(/^\[drover: dropped \d+ bytes of older output\]\nline \d+\n/);
      expect(text.endsWith('line 399\n')).toBe(true);
      await s.kill('cancel', { graceMs: 1000 });
    });

    it('delivers progress, checkpoint and result through $DROVER_REPORT', async () => {
      const reports: Report[] = [];
      const errors: string[] = [];
      const s = await launch(
        spec(dir('report'), ['sh', join(FIXTURES, 'report.sh')]),
        { onReport: (r) => reports.push(r), onProtocolError: (e) => errors.push(e.reason) },
        { sampleMs: 50 },
      );
      const o = await s.done;
      expect(o.cause).toBe('Succeeded');
      expect(o.result).toEqual({ sum: 42 });
      expect(reports).toEqual([
        { progress: 0.5, checkpoint: 'step-5', message: 'half way' },
        { progress: 1 },
        { result: { sum: 42 } },
      ]);
      expect(errors).toEqual(['not JSON']);
    });

    it('drops the result when the process then fails', async () => {
      const s = await launch(spec(dir('report-fail'), ['sh', join(FIXTURES, 'report.sh'), '3']));
      const o = await s.done;
      expect(o.cause).toBe('ExitNonZero');
      expect(o.result).toBeUndefined();
    });

    it("passes DROVER_REPORT, the caller's variables and the parent's PATH", async () => {
      const runDir = dir('env');
      const s = await launch(
        spec(runDir, ['sh', '-c', 'echo "$DROVER_REPORT|$DROVER_JOB|$FOO|${PATH:+path}"'], {
          env: { DROVER_JOB: 'j1', FOO: 'bar' },
        }),
      );
      expect((await s.done).cause).toBe('Succeeded');
      expect(await readLog(runDir, 'stdout')).toBe(`${join(runDir, 'report')}|j1|bar|path\n`);
    });
  });

  describe('exit classification', () => {
    it('exit 3 is ExitNonZero', async () => {
      const o = await (await launch(spec(dir('exit3'), ['sh', '-c', 'exit 3']))).done;
      expect(o).toMatchObject({ exitCode: 3, signal: null, cause: 'ExitNonZero' });
      expect(o.message).toBe('exit code 3: application-defined failure');
    });

    it('a missing command is LaunchFailed with 127', async () => {
      const runDir = dir('missing');
      const o = await (await launch(spec(runDir, ['no-such-command-drover']))).done;
      expect(o).toMatchObject({ exitCode: 127, cause: 'LaunchFailed' });
      expect(o.message).toBe(
        'launch failed: exit code 127: command not found: drover-wrap: 1: no-such-command-drover: not found',
      );
      expect(await readLog(runDir, 'stderr')).toContain('no-such-command-drover: not found');
    });

    it('a file that is not executable is LaunchFailed with 126', async () => {
      const o = await (await launch(spec(dir('noexec'), [join(FIXTURES, 'alloc.mjs')]))).done;
      expect(o).toMatchObject({ exitCode: 126, cause: 'LaunchFailed' });
      expect(o.message).toMatch(/^launch failed: exit code 126: .*Permission denied$/);
    });

    it('a missing cwd is LaunchFailed', async () => {
      const o = await (await launch(spec(dir('nocwd'), ['true'], { cwd: '/no/such/dir' }))).done;
      expect(o.cause).toBe('LaunchFailed');
      expect(o.message).toContain('/no/such/dir does not exist');
    });

    it('a bad interpreter (exec error inside the wrapper) is LaunchFailed', async () => {
      const runDir = dir('badshebang');
      const { writeFile, mkdir } = await import('node:fs/promises');
      await mkdir(runDir, { recursive: true });
      await writeFile(join(runDir, 'x.sh'), '#!/no/such/interpreter\n', { mode: 0o755 });
      const o = await (await launch(spec(runDir, ['./x.sh']))).done;
      expect(o).toMatchObject({ exitCode: 127, cause: 'LaunchFailed' });
    });

    it('a command that itself exits 127 is ExitNonZero, not LaunchFailed', async () => {
      const o = await (await launch(spec(dir('own127'), ['sh', '-c', 'exit 127']))).done;
      expect(o).toMatchObject({ exitCode: 127, cause: 'ExitNonZero' });
    });

    it('a signal Drover did not send is Signaled', async () => {
      const o = await (await launch(spec(dir('self-kill'), ['sh', '-c', 'kill -KILL $$']))).done;
      expect(o).toMatchObject({ exitCode: 137, signal: 'SIGKILL', cause: 'Signaled' });
    });
  });
});
