import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  launch,
  readopt,
  type AdoptionRecord,
  type Supervised,
  type UsageSample,
} from '../../../src/node-agent/supervisor/index.js';
import { FIXTURES, liveInGroup, spec, tempRoot } from './support.js';

let root: Awaited<ReturnType<typeof tempRoot>>;
beforeAll(async () => {
  root = await tempRoot();
});
afterAll(async () => {
  await root.cleanup();
});

function recordOf(s: Supervised, runDir: string, startedAt: number): AdoptionRecord {
  return {
    workerId: s.workerId,
    pid: s.pid,
    startTime: s.startTime,
    runDir,
    memLimitMb: 512,
    startedAt,
  };
}

/** Run the stand-in agent, read its adoption record, then kill it with SIGKILL. */
async function agentThatDies(runDir: string, command: string[]): Promise<AdoptionRecord> {
  const agent = spawn(
    process.execPath,
    ['--import', 'tsx', join(FIXTURES, 'agent.ts'), runDir, ...command],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise((resolve) => agent.once('exit', resolve));
  const lines = createInterface({ input: agent.stdout });
  const first = await new Promise<string>((resolve) => lines.once('line', resolve));
  agent.kill('SIGKILL');
  await exited;
  return JSON.parse(first) as AdoptionRecord;
}

describe('readopt', () => {
  it('keeps sampling a process whose handle was lost and reads its exit code from the status file', async () => {
    const runDir = root.dir('lost-handle');
    const startedAt = Date.now();
    const first = await launch(
      spec(runDir, ['sh', '-c', 'sleep 1; exit 5']),
      {},
      { sampleMs: 60_000 },
    );
    const samples: UsageSample[] = [];
    const again = await readopt(
      recordOf(first, runDir, startedAt),
      { onSample: (x) => samples.push(x) },
      { sampleMs: 50 },
    );
    expect(again?.pgid).toBe(first.pid);
    const o = await (again as Supervised).done;
    expect(o).toMatchObject({ exitCode: 5, cause: 'ExitNonZero' });
    expect(samples.length).toBeGreaterThan(3);
    expect(o.wallSeconds).toBeGreaterThanOrEqual(1);
  });

  it('returns undefined for a dead pid', async () => {
    const runDir = root.dir('dead');
    const s = await launch(spec(runDir, ['true']));
    await s.done;
    expect(await readopt(recordOf(s, runDir, Date.now()))).toBeUndefined();
  });

  it('returns undefined when the pid was reused (start time differs)', async () => {
    const runDir = root.dir('reused');
    const s = await launch(spec(runDir, ['sleep', '30']));
    const wrong = {
      ...recordOf(s, runDir, Date.now()),
      startTime: String(Number(s.startTime) - 1),
    };
    expect(await readopt(wrong)).toBeUndefined();
    await s.kill('cancel');
  });

  it('survives an agent killed with -9: the exit code still arrives', async () => {
    const runDir = root.dir('agent-died-exit');
    const record = await agentThatDies(runDir, ['sh', '-c', 'sleep 1; exit 7']);
    const s = await readopt(record, {}, { sampleMs: 50 });
    expect(s).toBeDefined();
    expect(await (s as Supervised).done).toMatchObject({ exitCode: 7, cause: 'ExitNonZero' });
  });

  it('kills a re-adopted group after an agent killed with -9', async () => {
    const runDir = root.dir('agent-died-kill');
    const record = await agentThatDies(runDir, ['sh', join(FIXTURES, 'ignore-term.sh')]);
    const s = (await readopt(record, {}, { sampleMs: 50 })) as Supervised;
    expect((await liveInGroup(s.pgid)).length).toBeGreaterThanOrEqual(1);
    const o = await s.kill('cancel', { graceMs: 200 });
    expect(o.cause).toBe('Cancelled');
    expect(await liveInGroup(s.pgid)).toEqual([]);
  });
});
