import { fileURLToPath, pathToFileURL } from 'node:url';
import { connect } from '@nats-io/transport-node';
import pino from 'pino';
import { createJetStreamEventLog } from '../../src/events/index.js';
import { startHollowNodes } from '../../src/node-agent/bench/hollow-agent.service.js';
import { spawnBenchChild } from './bench-child.js';

/**
 * Hollow nodes in a process of their own, as kubemark runs them apart from the control plane:
 * the scheduler under test keeps its event loop to itself. The child reports on stdout, one
 * JSON line each: `{ready}` once every node is ready, then `{launches, firstAt, lastAt}` once
 * `expect` launches arrived (epoch ms of the first and the last); it stops on stdin `stop`.
 */
export interface HollowProcess {
  /** Resolves with the epoch ms of the first and last launch once `expect` arrived. */
  readonly launched: Promise<{ firstAt: number; lastAt: number }>;
  /** Launches taken so far (reported about once a second). */
  progress(): number;
  stop(): Promise<void>;
}

export interface HollowProcessOptions {
  readonly url: string;
  readonly prefix: string;
  readonly count: number;
  readonly cpus: number;
  readonly memMb: number;
  readonly durationMs: number;
  readonly expect: number;
}

export async function spawnHollowProcess(opts: HollowProcessOptions): Promise<HollowProcess> {
  const child = spawnBenchChild(fileURLToPath(import.meta.url), 'BENCH_HOLLOW', opts);
  await child.next(); // ready
  let progress = 0;
  const launched = (async () => {
    for (;;) {
      const m = await child.next();
      if (m.lastAt !== undefined) return { firstAt: m.firstAt as number, lastAt: m.lastAt };
      progress = m.launches as number;
    }
  })();
  launched.catch(() => undefined);
  return { launched, progress: () => progress, stop: () => child.stop() };
}

async function childMain(opts: HollowProcessOptions): Promise<void> {
  const nc = await connect({ servers: opts.url, noAsyncTraces: true });
  const eventLog = await createJetStreamEventLog(nc);
  const hollow = await startHollowNodes({
    nc,
    eventLog,
    prefix: opts.prefix,
    count: opts.count,
    capacity: { cpus: opts.cpus, memMb: opts.memMb, gpus: 0 },
    durationMs: opts.durationMs,
    logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
  });
  process.stdout.write(JSON.stringify({ ready: 1 }) + '\n');
  let firstAt = 0;
  let reportedAt = Date.now();
  const poll = setInterval(() => {
    if (Date.now() - reportedAt >= 1000) {
      reportedAt = Date.now();
      process.stdout.write(JSON.stringify({ launches: hollow.stats().launches }) + '\n');
    }
    const { launches } = hollow.stats();
    if (launches > 0 && firstAt === 0) firstAt = Date.now();
    if (launches >= opts.expect) {
      clearInterval(poll);
      if (firstAt === 0) firstAt = Date.now();
      process.stdout.write(JSON.stringify({ launches, firstAt, lastAt: Date.now() }) + '\n');
    }
  }, 2);
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  clearInterval(poll);
  await hollow.stop();
  await eventLog.close();
  await nc.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.env.BENCH_HOLLOW) {
  await childMain(JSON.parse(process.env.BENCH_HOLLOW) as HollowProcessOptions);
}
