import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connect } from '@nats-io/transport-node';
import pino from 'pino';
import { createJetStreamEventLog } from '../../src/events/index.js';
import { startHollowNodes } from '../../src/node-agent/hollow.service.js';

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
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, BENCH_HOLLOW: JSON.stringify(opts) },
    },
  );
  const lines = createInterface({ input: child.stdout! });
  // Lines are queued until read: two lines in one chunk (a progress report and the final one)
  // otherwise found one waiter, and the final report was lost.
  const waiting: { resolve: (m: Record<string, number>) => void; reject: (e: Error) => void }[] =
    [];
  const unread: Record<string, number>[] = [];
  let exited: Error | undefined;
  lines.on('line', (l) => {
    const m = JSON.parse(l) as Record<string, number>;
    const w = waiting.shift();
    if (w) w.resolve(m);
    else unread.push(m);
  });
  child.once('exit', (code) => {
    exited = new Error(`hollow process exited (${code})`);
    for (const w of waiting.splice(0)) w.reject(exited);
  });
  const next = () =>
    new Promise<Record<string, number>>((resolve, reject) => {
      const m = unread.shift();
      if (m) resolve(m);
      else if (exited) reject(exited);
      else waiting.push({ resolve, reject });
    });
  await next(); // ready
  let progress = 0;
  const launched = (async () => {
    for (;;) {
      const m = await next();
      if (m.lastAt !== undefined) return { firstAt: m.firstAt as number, lastAt: m.lastAt };
      progress = m.launches as number;
    }
  })();
  launched.catch(() => undefined);
  return {
    launched,
    progress: () => progress,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin!.end('stop\n');
      await exited;
    },
  };
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
