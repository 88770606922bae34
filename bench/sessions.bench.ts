import { connect } from '@nats-io/transport-node';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { IPty } from 'node-pty';
import type * as NodePty from 'node-pty';
import { startApiFarm } from '../test/support/api-farm.js';

/**
 * `npm run bench:sessions`: what `drover run` costs against the floor, in the same run.
 * - Keystroke round trip of `drover run -it -- sh` (a key typed into the CLI's terminal until
 *   the remote pty's echo is back on it: CLI → NATS → agent → pty → agent → NATS → CLI) next to
 *   `sh` on a local pty (node-pty, the same library): p50 and p99 in ms.
 * - Output throughput of `drover run -- head -c N /dev/zero` (first byte to last, through the
 *   credit window) next to raw core NATS: one connection publishing the same bytes in the same
 *   64 KiB messages to a subscriber on another connection. MB/s.
 * Prints one JSON document (BENCH_OUT also writes it). BENCH_SCALE scales keystrokes and bytes.
 */
const require = createRequire(import.meta.url);
const pty = require('node-pty') as typeof NodePty;
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const KEYS = Math.max(20, Math.round(200 * SCALE));
const BYTES = Math.max(8, Math.round(200 * SCALE)) * 1_000_000;
const MAIN = join(import.meta.dirname, '../src/cli/main.ts');
const TSX = import.meta.resolve('tsx');

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[Math.min(s.length - 1, Math.floor(p * s.length))] as number) * 100) / 100;
};

/** Type one key at a time on `term` and time until its echo is back. */
async function roundTrips(term: IPty, keys: number): Promise<number[]> {
  let seen = '';
  term.onData((d) => (seen += d));
  const until = async (s: string) => {
    while (!seen.endsWith(s)) await new Promise((r) => setImmediate(r));
  };
  const times: number[] = [];
  for (let i = 0; i < keys; i++) {
    const key = String.fromCharCode(97 + (i % 26));
    seen = '';
    const t0 = performance.now();
    term.write(key);
    await until(key);
    times.push(performance.now() - t0);
  }
  term.write('\x15'); // erase the typed line
  return times;
}

async function waitPrompt(term: IPty): Promise<void> {
  let text = '';
  const sub = term.onData((d) => (text += d));
  const deadline = Date.now() + 60_000;
  while (!/[$#] $/.test(text)) {
    if (Date.now() > deadline) throw new Error(`no prompt: ${text}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  sub.dispose();
}

async function keystrokes(url: string) {
  const env = {
    ...(process.env as Record<string, string>),
    DROVER_NATS_URL: url,
    LOG_LEVEL: 'silent',
  };
  const local = pty.spawn('/bin/sh', [], { cols: 80, rows: 24, env });
  await waitPrompt(local);
  const localTimes = await roundTrips(local, KEYS);
  local.kill();
  const remote = pty.spawn(process.execPath, ['--import', TSX, MAIN, 'run', '-it', '--', 'sh'], {
    cols: 80,
    rows: 24,
    env,
  });
  await waitPrompt(remote);
  const remoteTimes = await roundTrips(remote, KEYS);
  remote.write('\rexit\r');
  await new Promise((r) => remote.onExit(r));
  return {
    keys: KEYS,
    localPtyMs: { p50: pct(localTimes, 0.5), p99: pct(localTimes, 0.99) },
    droverRunItMs: { p50: pct(remoteTimes, 0.5), p99: pct(remoteTimes, 0.99) },
  };
}

async function sessionThroughput(url: string): Promise<number> {
  const child = spawn(
    process.execPath,
    ['--import', TSX, MAIN, 'run', '--', 'head', '-c', String(BYTES), '/dev/zero'],
    {
      env: { ...process.env, DROVER_NATS_URL: url, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let bytes = 0;
  let t0 = 0;
  child.stdout.on('data', (b: Buffer) => {
    if (bytes === 0) t0 = performance.now();
    bytes += b.length;
  });
  await new Promise((r) => child.once('close', r));
  if (bytes !== BYTES) throw new Error(`drover run delivered ${bytes} of ${BYTES} bytes`);
  return BYTES / 1e6 / ((performance.now() - t0) / 1000);
}

async function rawThroughput(url: string): Promise<number> {
  const pub = await connect({ servers: url });
  const sub = await connect({ servers: url });
  const frame = new Uint8Array(64 * 1024);
  let got = 0;
  let t0 = 0;
  const done = new Promise<void>((resolve) => {
    sub.subscribe('bench.raw', {
      callback: (_e, m) => {
        if (got === 0) t0 = performance.now();
        got += m.data.length;
        if (got >= BYTES) resolve();
      },
    });
  });
  await sub.flush();
  for (let sent = 0; sent < BYTES; sent += frame.length) {
    pub.publish('bench.raw', frame.subarray(0, Math.min(frame.length, BYTES - sent)));
    // Keep the publisher's buffer bounded, as a well-behaved sender must (no slow consumer).
    if ((sent / frame.length) % 64 === 63) await pub.flush();
  }
  await done;
  const mbs = BYTES / 1e6 / ((performance.now() - t0) / 1000);
  await pub.close();
  await sub.close();
  return mbs;
}

async function main() {
  const farm = await startApiFarm({ agents: 1 });
  try {
    const url = farm.server.url;
    const latency = await keystrokes(url);
    const raw: number[] = [];
    const ours: number[] = [];
    for (let i = 0; i < 3; i++) {
      raw.push(await rawThroughput(url));
      ours.push(await sessionThroughput(url));
    }
    const med = (xs: number[]) => Math.round(pct(xs, 0.5));
    const out = {
      bench: 'sessions',
      latency,
      throughput: {
        bytes: BYTES,
        rawCoreNatsMBs: med(raw),
        droverRunMBs: med(ours),
        ratio: Math.round((pct(ours, 0.5) / pct(raw, 0.5)) * 100) / 100,
      },
    };
    const text = JSON.stringify(out, null, 2);
    console.log(text);
    if (process.env.BENCH_OUT) await writeFile(process.env.BENCH_OUT, text);
  } finally {
    await farm.stop();
  }
}

await main();
