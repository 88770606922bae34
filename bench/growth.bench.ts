import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { promisify } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { ensureFarmStreams, EVENTS_STREAM } from '../src/events/index.js';
import { connectTo } from '../test/support/nats-client.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { seedHistories } from './growth-seed.js';

/**
 * Log growth (issue 23 point 7): start-up time and RSS of each service's fold as the log grows.
 * For each size in GROWTH_SIZES (default 100k, 1M, 10M events) a fresh server is seeded
 * (`growth-seed.ts`: raw publishes of generated farm histories), the last GROWTH_LIVE_EVENTS
 * (default 100k) being the farm's recent work. Measured, each fold in a process of its own
 * against a raw read of the same stream in the same run: before compaction, the scheduler's
 * catch-up and the API's read model (GROWTH_BEFORE); then `compactLog` moves every job tree done
 * before the recent work, and after it the same folds, the projection runner from zero (the
 * archive merged in; it writes checkpoints) and from those checkpoints. Flat start-up means the
 * "after" figures stay put while the log grows 100x. Prints one JSON document.
 */
const SIZES = (process.env.GROWTH_SIZES ?? '100000,1000000,10000000').split(',').map(Number);
const LIVE_EVENTS = Number(process.env.GROWTH_LIVE_EVENTS ?? 100_000);
const parts = (list: string) => list.split(',').filter((p) => p !== '');
const BEFORE = parts(process.env.GROWTH_BEFORE ?? 'raw,scheduler,api');
const AFTER = parts(process.env.GROWTH_AFTER ?? 'raw,scheduler,api,projections,checkpoint');
const CHILD_TIMEOUT_MS = Number(process.env.GROWTH_CHILD_TIMEOUT_MS ?? 1_800_000);
const run = promisify(execFile);
const say = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

type Figures = Record<string, number | string>;
/** The 1-minute load average (the machine is shared: figures are read beside it). */
const load1 = () => Math.round((loadavg()[0] ?? 0) * 10) / 10;

/** One fold in a child process; a fold that fails or times out is reported, not fatal. */
async function child(url: string, what: string): Promise<Figures> {
  try {
    const { stdout } = await run(
      process.execPath,
      ['--expose-gc', '--max-semi-space-size=32', '--import', 'tsx', 'bench/growth-child.ts'],
      {
        env: { ...process.env, GROWTH_CHILD: JSON.stringify({ url, what }) },
        maxBuffer: 1 << 20,
        timeout: CHILD_TIMEOUT_MS,
      },
    );
    return JSON.parse(stdout.trim().split('\n').pop() as string) as Figures;
  } catch (err) {
    const e = err as Error & { stderr?: string; killed?: boolean };
    const why = e.killed ? `timed out after ${CHILD_TIMEOUT_MS} ms` : (e.stderr ?? e.message);
    const lines = why.trim().split('\n');
    const line = lines.find((l) => /Error|error:/.test(l)) ?? lines.at(-1) ?? '';
    return { error: line.trim().slice(0, 400) };
  }
}

async function measure(url: string, parts: readonly string[]): Promise<Record<string, Figures>> {
  const out: Record<string, Figures> = {};
  for (const part of parts) {
    out[part] = { ...(await child(url, part)), load: load1() };
    say(`  ${part}: ${JSON.stringify(out[part])}`);
  }
  const raw = Number(out.raw?.ms ?? NaN);
  for (const [part, f] of Object.entries(out))
    if (part !== 'raw' && typeof f.ms === 'number' && raw > 0)
      f.vsRaw = Math.round((f.ms / raw) * 10) / 10;
  return out;
}

/**
 * `compactLog` in a child process (`growth-compact.ts`, as `drover compact` runs: its RSS is its
 * own), tried again after a failure (its JetStream API calls time out at 5 s on a machine at
 * load 30; a compaction is crash-safe, so a retry finishes what the failed one began).
 */
async function compactPatiently(url: string, cutAt: number): Promise<Figures> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { stdout } = await run(
        process.execPath,
        [
          // GROWTH_COMPACT_PROF: a directory for the compaction's CPU profile.
          ...(process.env.GROWTH_COMPACT_PROF
            ? ['--cpu-prof', '--cpu-prof-dir', process.env.GROWTH_COMPACT_PROF]
            : []),
          ...['--max-semi-space-size=32', '--import', 'tsx', 'bench/growth-compact.ts'],
        ],
        {
          env: { ...process.env, GROWTH_COMPACT: JSON.stringify({ url, cutAt }) },
          maxBuffer: 1 << 20,
          timeout: CHILD_TIMEOUT_MS,
        },
      );
      return JSON.parse(stdout.trim().split('\n').pop() as string) as Figures;
    } catch (err) {
      const e = err as Error & { stderr?: string };
      if (attempt >= 5) throw err;
      say(`compaction attempt ${attempt} failed (${(e.stderr ?? e.message).slice(-400)}); again`);
    }
  }
}

const results = [];
for (const size of SIZES) {
  // 10M events are ~3.5 GB live and as much again in the archive copy before the purge.
  const server = await startNatsServer({ maxFileStore: '40GB' });
  const nc = await connectTo(server);
  try {
    await ensureFarmStreams(await jetstreamManager(nc));
    say(`seeding ${size} events`);
    let cutAt = Date.now();
    let logged = 0;
    const t0 = performance.now();
    const seeded = await seedHistories(nc, {
      events: size,
      markAt: Math.max(0, size - LIVE_EVENTS),
      mark: () => (cutAt = Date.now()),
      progress: (n) => {
        if (Math.floor(n / 1e6) > Math.floor(logged / 1e6)) say(`  seeded ${n} (load ${load1()})`);
        logged = n;
      },
    });
    const seedMs = Math.round(performance.now() - t0);
    const seedLoad = load1();
    say(`seeded ${seeded.events} in ${seedMs} ms; before compaction`);
    const before = await measure(server.url, BEFORE);
    const c0 = performance.now();
    const moved = await compactPatiently(server.url, cutAt);
    const compactMs = Math.round(performance.now() - c0);
    const compactLoad = load1();
    const live = (await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM)).state.messages;
    say(`compacted in ${compactMs} ms: ${JSON.stringify(moved)}, ${live} live; after compaction`);
    const after = await measure(server.url, AFTER);
    results.push({
      events: seeded.events,
      seed: { ms: seedMs, perS: Math.round(seeded.events / (seedMs / 1000)), load: seedLoad },
      compaction: { ...moved, wallMs: compactMs, liveAfter: live, load: compactLoad },
      before,
      after,
    });
    say(`result: ${JSON.stringify(results.at(-1))}`);
  } finally {
    await nc.close();
    await server.stop();
  }
}
console.log(JSON.stringify({ bench: 'growth', liveEvents: LIVE_EVENTS, sizes: results }, null, 1));
