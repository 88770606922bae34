import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { drover } from '../../support/api-farm.js';
import { droverPiped } from '../../support/session-cli.js';
import { droverArgv } from '../../support/cli-main.js';

// The agents of this file's farm stop a session whose client is silent for 3 s (default 10 s).
process.env.DROVER_SESSION_GRACE_MS = '3000';


/** Resident memory of a live process in MB (VmRSS), or undefined once it is gone. */
function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${ms} ms`);
    await sleep(50);
  }
}

describe('drover run: big output, dropped clients', () => {
  let farm: ApiFarm;
  let dir: string;

  beforeAll(async () => {
    farm = await startApiFarm();
    dir = await mkdtemp(join(tmpdir(), 'drover-run-'));
  }, 60_000);
  afterAll(async () => {
    await farm?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('100 MB of output arrives intact, the CLI bounded while its reader stalls', async () => {
    const file = join(dir, 'random');
    const cmd = `head -c 100000000 /dev/urandom > ${file} && cat ${file}`;
    const child = spawn(process.execPath, droverArgv(['run', '--', 'sh', '-c', cmd]), {
      env: { ...process.env, DROVER_NATS_URL: farm.server.url, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const hash = createHash('sha256');
    let bytes = 0;
    let stalled = false;
    let peakMb = 0;
    let rssAtFirstByte: number | undefined;
    const pid = child.pid as number;
    const sampler = setInterval(() => (peakMb = Math.max(peakMb, rssMb(pid) ?? 0)), 20);
    child.stdout.on('data', (b: Buffer) => {
      rssAtFirstByte ??= rssMb(pid);
      hash.update(b);
      bytes += b.length;
      if (!stalled && bytes > 20_000_000) {
        // A reader that stops for 2 s: the CLI must not buffer what keeps coming meanwhile.
        stalled = true;
        child.stdout.pause();
        setTimeout(() => child.stdout.resume(), 2000);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    clearInterval(sampler);
    expect(code).toBe(0);
    expect(bytes).toBe(100_000_000);
    const want = createHash('sha256').update(readFileSync(file)).digest('hex');
    expect(hash.digest('hex')).toBe(want);
    // One credit window (1 MiB) plus frames in transit, not the 80 MB still to come at the stall.
    expect(peakMb - (rssAtFirstByte ?? 0)).toBeLessThan(60);
  }, 180_000);

  it('a dropped client: its process is stopped after the grace, and that is audited', async () => {
    const { child, done } = droverPiped(farm.server.url, ['run', '--', 'sleep', '4321']);
    const sessionId = await until('the session', async () => {
      const s = [...farm.api.live.model.sessions].find(([, v]) => v.value === 'running');
      return s?.[0];
    });
    const { events: before } = await farm.log.read('session', sessionId);
    const pid = (before.find((e) => e.type === 'session.placed')?.data as { pid: number }).pid;
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    child.kill('SIGKILL'); // no goodbye: the agent only stops hearing from it
    await done;
    const exited = await until('session.exited', async () => {
      const { events } = await farm.log.read('session', sessionId);
      return events.find((e) => e.type === 'session.exited');
    });
    expect(
      existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'),
    ).toBe(false);
    const { events } = await farm.log.read('session', sessionId);
    const stop = events.find((e) => e.type === 'session.stop_requested');
    expect(stop?.by).toMatchObject({ kind: 'agent' });
    expect((stop?.data as { reason: string }).reason).toMatch(/no heartbeat for 3 s/);
    expect(stop!.at - before.find((e) => e.type === 'session.placed')!.at).toBeGreaterThanOrEqual(
      3000,
    );
    expect(exited.data).toMatchObject({ signal: 'SIGTERM' });
    const audit = await drover(farm.server.url, ['audit', sessionId, '--json']);
    expect(audit.code).toBe(0);
    const rows = JSON.parse(audit.stdout) as { type: string; by: { kind: string; id: string } }[];
    expect(rows.map((r) => r.type)).toEqual([
      'session.opened',
      'session.placed',
      'session.stop_requested',
      'session.exited',
    ]);
    expect(rows[2]?.by.id).toMatch(/^node-/);
  }, 120_000);
});
