import { readFile, readdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { stateName } from '../src/actors/index.js';
import { ARCHIVE_STREAM, EVENTS_STREAM } from '../src/events/index.js';
import { spawnDrover, type DroverProcess } from '../test/support/drover-process.js';
import { drover } from '../test/support/drover-cli.js';
import { startFarm } from '../test/support/farm.js';
import { rssCurve, type RssCurve } from './rss-curve.js';

/**
 * `npm run bench:soak` (issue 23 point 7): memory under steady load for SOAK_MS (default 30 min).
 * One nats-server; the scheduler (with the API and the projections' checkpoint writer), two
 * agents and the dashboard as real processes; SOAK_RATE jobs a second (default 2: tiny jobs, every
 * fourth one in 2 chunks) through the durable intake; `drover compact --older-than
 * SOAK_RETENTION` (default 60s) every SOAK_COMPACT_MS (default 60 s); the API's and the
 * dashboard's read models keep finished jobs SOAK_READ_RETENTION (default 5m, passed as
 * `DROVER_READ_RETENTION`: with the services' 24 h they would fill for a day, longer than any
 * soak, and no flat line could show within one). The RSS of every service
 * (and of nats-server) is read from /proc every SOAK_SAMPLE_MS (default 10 s). Prints one JSON
 * document: per service the curve's start, p50, max, end and slope (MB per hour, over the whole
 * run and over its second half, after warm-up), and what the farm did: every stream's messages,
 * bytes, subjects and consumers at the first minute and at the end, and the consumers' names (a
 * consumer left behind per job, or KV history, would show there). SOAK_HEAP_DIR adds heap
 * snapshots of the scheduler and the dashboard and nats-server's Go heap profile every
 * SOAK_HEAP_EVERY_MS (compare with `bench/heap-diff.ts` and `go tool pprof -base`); a snapshot
 * raises its process's RSS, so measure RSS in a run without them.
 */
const SOAK_MS = Number(process.env.SOAK_MS ?? 1_800_000);
const RATE = Number(process.env.SOAK_RATE ?? 2);
const SAMPLE_MS = Number(process.env.SOAK_SAMPLE_MS ?? 10_000);
const COMPACT_MS = Number(process.env.SOAK_COMPACT_MS ?? 60_000);
const RETENTION = process.env.SOAK_RETENTION ?? '60s';
const READ_RETENTION = process.env.SOAK_READ_RETENTION ?? '5m';
// SOAK_HEAP_DIR: the scheduler and the dashboard write a heap snapshot there (SIGUSR2, which
// collects garbage first) every SOAK_HEAP_EVERY_MS (default 5 min): compare them by constructor.
const HEAP_DIR = process.env.SOAK_HEAP_DIR;
const HEAP_EVERY_MS = Number(process.env.SOAK_HEAP_EVERY_MS ?? 300_000);
const heapArgs = HEAP_DIR ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${HEAP_DIR}`] : [];
const say = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

// With SOAK_HEAP_DIR, nats-server serves Go's profiles too: its heap is saved beside the others.
const profPort = HEAP_DIR ? await freePort() : undefined;
const farm = await startFarm({
  agents: 0,
  scheduler: false,
  ...(profPort && { serverOptions: { extraConfig: `prof_port: ${profPort}` } }),
});
const marker = `soak${process.pid}x${Date.now().toString(36)}`;
const dataDir = await mkdtemp(join(tmpdir(), 'drover-soak-'));
const env = {
  DROVER_NATS_URL: farm.server.url,
  DROVER_DATA_DIR: dataDir,
  DROVER_HTTP_PORT: '0',
  DROVER_READ_RETENTION: READ_RETENTION,
  LOG_LEVEL: 'error',
};
const services = new Map<string, DroverProcess>([
  ['scheduler', spawnDrover(['scheduler', '--json'], env, heapArgs)],
  [
    'agent-1',
    spawnDrover(['agent', '--node', 'soak-1', '--cpus', '2', '--mem', '2G', '--json'], env),
  ],
  [
    'agent-2',
    spawnDrover(['agent', '--node', 'soak-2', '--cpus', '2', '--mem', '2G', '--json'], env),
  ],
  ['dashboard', spawnDrover(['dashboard', '--port', '0', '--json'], env, heapArgs)],
]);
const samples = new Map<string, { t: number; mb: number }[]>();
const compactions = { runs: 0, failed: 0, movedMessages: 0, movedJobs: 0, maxMs: 0 };
const submitted: string[] = [];
/** Every stream's size, subjects and consumers, once a minute: what nats-server holds. */
const streams: { t: number; streams: StreamSample[] }[] = [];
let stop = false;
let exitCode = 0;
try {
  await until(() => [...services.values()].every((p) => p.output().includes('{')), 120_000);
  say(`services up; soaking for ${SOAK_MS / 1000} s at ${RATE} jobs/s`);
  const t0 = Date.now();
  const pids = new Map([...services].map(([name, p]) => [name, p.child.pid]));
  pids.set('nats-server', await natsServerPid(farm.server.storeDir));
  const sampler = (async () => {
    while (!stop) {
      for (const [name, pid] of pids) {
        const mb = await rssMb(pid);
        if (mb !== undefined)
          samples.set(name, [...(samples.get(name) ?? []), { t: Date.now() - t0, mb }]);
      }
      await sleep(SAMPLE_MS);
    }
  })();
  const jsmSampler = await jetstreamManager(farm.nc);
  const streamSampler = (async () => {
    while (!stop) {
      streams.push({ t: Date.now() - t0, streams: await streamSamples(jsmSampler) });
      for (let s = 0; s < 60 && !stop; s++) await sleep(1000);
    }
  })();
  const heaps = (async () => {
    if (!HEAP_DIR) return;
    while (!stop) {
      for (let s = 0; s < HEAP_EVERY_MS / 1000 && !stop; s++) await sleep(1000);
      if (stop) break;
      for (const name of ['scheduler', 'dashboard']) services.get(name)?.child.kill('SIGUSR2');
      if (profPort) await saveNatsHeap(profPort, join(HEAP_DIR, `nats-${Date.now()}.pb.gz`));
      say('heap snapshots asked for');
    }
  })();
  const compactor = (async () => {
    while (!stop) {
      await sleep(COMPACT_MS);
      if (stop) break;
      const out = await drover(farm.server.url, ['compact', '--older-than', RETENTION, '--json']);
      compactions.runs++;
      if (out.code !== 0) {
        compactions.failed++;
        say(`compaction failed: ${(out.stdout + out.stderr).slice(-300)}`);
        continue;
      }
      const r = JSON.parse(out.stdout) as { messages: number; jobs: number; elapsedMs: number };
      compactions.movedMessages += r.messages;
      compactions.movedJobs += r.jobs;
      compactions.maxMs = Math.max(compactions.maxMs, r.elapsedMs);
    }
  })();
  // Steady submissions: one every 1/RATE s on a fixed timetable (a slow publish does not shift it).
  for (let i = 0; Date.now() - t0 < SOAK_MS; i++) {
    await sleep(Math.max(0, t0 + (i * 1000) / RATE - Date.now()));
    const command = ['sh', '-c', 'sleep 0.1', marker];
    const body = { name: 'soak', user: ['alice', 'bob', 'carol'][i % 3], cpus: 0.25, memMb: 16 };
    submitted.push(await farm.submit({ ...body, command, ...(i % 4 === 3 && { chunks: 2 }) }));
    if (i % 600 === 599) say(`${i + 1} submitted`);
    const down = [...services].find(
      ([, p]) => p.child.exitCode !== null || p.child.signalCode !== null,
    );
    if (down) throw new Error(`${down[0]} ended during the soak: ${down[1].output().slice(-500)}`);
  }
  stop = true;
  await Promise.all([sampler, compactor, streamSampler, heaps]);
  const last = submitted.at(-1);
  const lastState = last ? stateName(await farm.waitFor(last, undefined, 120_000)) : 'none';
  const jsm = await jetstreamManager(farm.nc);
  const live = (await jsm.streams.info(EVENTS_STREAM)).state;
  const archive = await jsm.streams.info(ARCHIVE_STREAM).then(
    (i) => i.state.messages,
    () => 0,
  );
  const curves: Record<string, RssCurve> = {};
  for (const [name, xs] of samples) curves[name] = rssCurve(xs);
  console.log(
    JSON.stringify(
      {
        bench: 'soak',
        minutes: Math.round((Date.now() - t0) / 6000) / 10,
        rate: RATE,
        readRetention: READ_RETENTION,
        sampleEveryS: SAMPLE_MS / 1000,
        submitted: submitted.length,
        lastJob: lastState,
        log: { lastSeq: live.last_seq, liveMessages: live.messages, archived: archive },
        compactions,
        rssMb: curves,
        streams: streamGrowth(streams),
        consumers: await consumerNames(jsm),
      },
      null,
      1,
    ),
  );
} catch (err) {
  say(`soak failed: ${(err as Error).stack ?? String(err)}`);
  exitCode = 1;
} finally {
  stop = true;
  await Promise.all([...services.values()].map((p) => p.stop()));
  await farm.stop();
  await rm(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);

async function until(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(
        `services not up after ${ms} ms: ${[...services].map(([n, p]) => `${n}: ${p.output().slice(-300)}`).join(' | ')}`,
      );
    await sleep(200);
  }
}

/** The test server's pid, from the name of its ports file (`<dir>/ports/<name>_<pid>.ports`). */
async function natsServerPid(storeDir: string): Promise<number | undefined> {
  const files = await readdir(join(dirname(storeDir), 'ports')).catch(() => [] as string[]);
  const pid = files.map((f) => /_(\d+)\.ports$/.exec(f)?.[1]).find((x) => x !== undefined);
  return pid === undefined ? undefined : Number(pid);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** nats-server's Go heap profile (`go tool pprof -top -base A B` compares two). */
async function saveNatsHeap(port: number, file: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/debug/pprof/heap`).catch(() => undefined);
  if (res?.ok) await writeFile(file, Buffer.from(await res.arrayBuffer()));
  else say('nats-server heap profile not read');
}

interface StreamSample {
  readonly name: string;
  readonly messages: number;
  readonly bytes: number;
  readonly subjects: number;
  readonly consumers: number;
}

async function streamSamples(jsm: JetStreamManager): Promise<StreamSample[]> {
  const out: StreamSample[] = [];
  try {
    for await (const info of jsm.streams.list()) {
      const { messages, bytes, num_subjects, consumer_count } = info.state;
      out.push({
        name: info.config.name,
        messages,
        bytes,
        subjects: num_subjects ?? 0,
        consumers: consumer_count,
      });
    }
  } catch (err) {
    say(`stream info failed: ${(err as Error).message}`);
  }
  return out;
}

/** Per stream: its first and last sample (at the first minute and at the end). */
function streamGrowth(xs: readonly { t: number; streams: readonly StreamSample[] }[]) {
  const first = xs[0]?.streams ?? [];
  const last = xs.at(-1)?.streams ?? [];
  return Object.fromEntries(
    last.map((s) => {
      const f = first.find((x) => x.name === s.name);
      const pick = (x: StreamSample | undefined) =>
        x && {
          messages: x.messages,
          mb: Math.round(x.bytes / 1e5) / 10,
          subjects: x.subjects,
          consumers: x.consumers,
        };
      return [s.name, { first: pick(f), last: pick(s) }];
    }),
  );
}

/** Every stream's consumers at the end (one left behind per job would show here). */
async function consumerNames(jsm: JetStreamManager): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for await (const info of jsm.streams.list()) {
    const names: string[] = [];
    for await (const c of jsm.consumers.list(info.config.name)) names.push(c.name);
    out[info.config.name] = names;
  }
  return out;
}

async function rssMb(pid: number | undefined): Promise<number | undefined> {
  if (!pid) return undefined;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
}
