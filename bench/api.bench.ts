import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import pino from 'pino';
import { createApiClient, startApiService } from '../src/api/index.js';
import { INTAKE_SUBJECT, JetStreamPublisher, ensureFarmStreams } from '../src/events/index.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { paired, pipelined, rate } from './support.js';

/**
 * `npm run bench:api`: accepted submissions per second through `drover.api.submit` (validate,
 * publish to the durable intake, reply with the job id) from 64 concurrent clients, each on its
 * own connection, next to raw JetStream publishes of the same body to the intake from the same
 * 64 connections, in the same run. Raw and API runs alternate; the ratio is the median of the
 * pairs' ratios. Measured twice: with the service in its own process (as deployed, inside
 * `drover scheduler` or `drover api`: the goal) and in the clients' process (one event loop does
 * the clients' and the service's work). Prints one JSON document (BENCH_OUT also writes it).
 * BENCH_RAW=core makes the raw side hand-rolled core publishes with acks (the cheapest client
 * path to JetStream) instead of `js.publish`; BENCH_PROFILE_DIR writes the service's CPU profile.
 */
const CLIENTS = 64;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const N = Math.round(16_000 * Number(process.env.BENCH_SCALE ?? 1));

const body = {
  name: 'bench',
  user: 'bench',
  command: ['sh', '-c', 'echo hello'],
  cpus: 0.5,
  memMb: 256,
  chunks: 4,
  env: { SCENARIO: 'base' },
};

/** `count` operations spread over the clients, each client one at a time (awaited). */
async function overClients<T>(
  clients: T[],
  count: number,
  op: (c: T, i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    clients.map(async (c) => {
      while (next < count) await op(c, next++);
    }),
  );
}

/** Child mode: serve the API alone on `url` (as deployed: in the scheduler's process). */
async function serveOnly(url: string): Promise<void> {
  const nc = await connect({ servers: url, noAsyncTraces: true });
  const api = await startApiService({ nc, logger: pino({ level: 'silent' }) });
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    void api
      .stop()
      .then(() => nc.close())
      .then(() => process.exit(0));
  });
}

/** Start the API service in its own process; resolves once it serves. */
async function spawnService(url: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_PROFILE_DIR
        ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_PROFILE_DIR]
        : []),
      '--import',
      'tsx',
      'bench/api.bench.ts',
      '--serve',
      url,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await once(child.stdout as NodeJS.ReadableStream, 'data');
  return child;
}

async function main(): Promise<void> {
  const server = await startNatsServer();
  const conns: NatsConnection[] = [];
  const open = async () => {
    const nc = await connect({ servers: server.url, noAsyncTraces: true });
    conns.push(nc);
    return nc;
  };
  try {
    const serviceNc = await open();
    await ensureFarmStreams(await jetstreamManager(serviceNc));
    const api = await startApiService({ nc: serviceNc, logger: pino({ level: 'silent' }) });
    const clientNcs = await Promise.all(Array.from({ length: CLIENTS }, open));
    // BENCH_RAW=core: the raw side publishes by hand (core publish + one ack subscription per
    // connection), the cheapest way to get JetStream acks, instead of `js.publish`.
    const core = process.env.BENCH_RAW === 'core';
    const raw = clientNcs.map((nc) => {
      if (!core) return jetstream(nc);
      const p = new JetStreamPublisher(nc);
      return {
        publish: (s: string, d: Uint8Array, o: { msgID: string }) => p.publish(s, d, o.msgID),
      };
    });
    const clients = clientNcs.map((nc) => createApiClient(nc));
    const payload = new TextEncoder().encode(JSON.stringify(body));
    let run = 0;
    const rawRun = () =>
      rate(N, () =>
        overClients(raw, N, (js, i) =>
          js.publish(INTAKE_SUBJECT, payload, { msgID: `raw-${run}-${i}` }),
        ),
      );
    const apiRun = () => {
      run++;
      return rate(N, () =>
        overClients(clients, N, (c, i) => c.submit(body, { msgId: `api-${run}-${i}` })),
      );
    };
    await pipelined(200, CLIENTS, () => clients[0]!.submit(body)); // warm up
    const inProcess = await paired(RUNS, rawRun, apiRun);
    await api.stop();
    const child = await spawnService(server.url);
    const separate = await paired(RUNS, rawRun, apiRun);
    child.kill('SIGTERM');
    await once(child, 'exit');
    const out = {
      at: new Date().toISOString(),
      node: process.version,
      runs: RUNS,
      clients: CLIENTS,
      raw: core ? 'hand-rolled core publish with acks' : 'js.publish',
      submissionsPerRun: N,
      serviceInItsOwnProcess: {
        rawJsPublishPerSec: separate.raw,
        apiSubmitPerSec: separate.ours,
        apiVsRaw: separate.ratio,
        apiVsRawRange: separate.range,
      },
      serviceInTheClientsProcess: {
        rawJsPublishPerSec: inProcess.raw,
        apiSubmitPerSec: inProcess.ours,
        apiVsRaw: inProcess.ratio,
        apiVsRawRange: inProcess.range,
      },
      goals: { apiWithin2xOfRaw: separate.ratio >= 0.5 },
    };
    const json = JSON.stringify(out, null, 2);
    console.log(json);
    if (process.env.BENCH_OUT) await writeFile(process.env.BENCH_OUT, json + '\n');
  } finally {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await server.stop();
  }
}

if (process.argv[2] === '--serve') await serveOnly(process.argv[3] as string);
else await main();
