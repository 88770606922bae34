import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, testNatsVersion } from '../test/support/nats-server.js';
import { ratio } from './support.js';

/**
 * `node --import tsx bench/atomic-batch.bench.ts` (issue 22 point 2): what an atomic batch
 * (nats-server 2.12+, `allow_atomic`) would buy the agent's pairs of appends that always travel
 * together (`worker.started` + `chunk.started`, `worker.exited` + `chunk.succeeded`). Each pair
 * goes to two subjects, each conditional on its subject's last sequence and with a message id,
 * as Drover appends: (a) as today, two publishes sent at once and both acks awaited; (b) as one
 * atomic batch (`Nats-Batch-Id`, `Nats-Batch-Sequence`, `Nats-Batch-Commit` on the second, one
 * ack). Pairs one at a time (a freed slot waits for one pair), on a file stream as deployed and
 * on a memory stream, with the server's CPU per pair from /proc. Prints JSON.
 */
const N = Number(process.env.BENCH_PAIRS ?? 1_000);
const ROUNDS = Number(process.env.BENCH_RUNS ?? 2);

interface Acks {
  send(subject: string, h: Record<string, string>, reply: boolean): Promise<string>;
}

function ackRouter(nc: NatsConnection): Acks {
  const inbox = `_INBOX.atomic${Math.random().toString(36).slice(2)}`;
  const waiters = new Map<string, (d: string) => void>();
  nc.subscribe(`${inbox}.*`, {
    callback: (_e, m) => {
      const k = m.subject.slice(inbox.length + 1);
      waiters.get(k)?.(m.string());
      waiters.delete(k);
    },
  });
  let next = 0;
  const payload = new Uint8Array(200).fill(7);
  return {
    send(subject, h, reply) {
      const hdrs = headers();
      for (const [k, v] of Object.entries(h)) hdrs.set(k, v);
      if (!reply) {
        nc.publish(subject, payload, { headers: hdrs });
        return Promise.resolve('');
      }
      const token = String(next++);
      const acked = new Promise<string>((resolve) => waiters.set(token, resolve));
      nc.publish(subject, payload, { headers: hdrs, reply: `${inbox}.${token}` });
      return acked;
    },
  };
}

const refused = (ack: string) => {
  if (ack.includes('"error"')) throw new Error(`refused: ${ack}`);
};

/** Two conditional appends to two new subjects, sent at once, both acks awaited. */
async function pairApart(a: Acks, tag: string) {
  const acks = await Promise.all(
    ['w', 'c'].map((k) =>
      a.send(
        `t.${k}.${tag}`,
        { 'Nats-Msg-Id': `${k}${tag}`, 'Nats-Expected-Last-Subject-Sequence': '0' },
        true,
      ),
    ),
  );
  acks.forEach(refused);
}

/** The same two appends as one atomic batch: no ack for the first, one for the commit. */
async function pairAtomic(a: Acks, tag: string) {
  const batch = { 'Nats-Batch-Id': `b${tag}` };
  void a.send(
    `t.w.${tag}`,
    {
      ...batch,
      'Nats-Batch-Sequence': '1',
      'Nats-Msg-Id': `w${tag}`,
      'Nats-Expected-Last-Subject-Sequence': '0',
    },
    false,
  );
  refused(
    await a.send(
      `t.c.${tag}`,
      {
        ...batch,
        'Nats-Batch-Sequence': '2',
        'Nats-Batch-Commit': '1',
        'Nats-Msg-Id': `c${tag}`,
        'Nats-Expected-Last-Subject-Sequence': '0',
      },
      true,
    ),
  );
}

/** User + system CPU of a process so far, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function measure(storage: 'file' | 'memory') {
  const server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: 'ATOMIC_BENCH',
      subjects: ['t.>'],
      storage,
      allow_atomic: true,
      duplicate_window: 120e9,
    } as never);
    const conf = `${server.storeDir.slice(0, -'/store'.length)}/nats.conf`;
    const pid = Number(execFileSync('pgrep', ['-f', conf], { encoding: 'utf8' }).split('\n')[0]);
    const acks = ackRouter(nc);
    const out: Record<
      string,
      { pairsPerSec: number[]; p50Ms: number[]; p99Ms: number[]; serverCpuMsPerPair: number[] }
    > = {};
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, fn] of [
        ['apart', pairApart],
        ['atomic', pairAtomic],
      ] as const) {
        const cpu0 = cpuMs(pid);
        const lat: number[] = [];
        const t0 = performance.now();
        for (let i = 0; i < N; i++) {
          const t = performance.now();
          await fn(acks, `${name}${r}x${i}`);
          lat.push(performance.now() - t);
        }
        const seconds = (performance.now() - t0) / 1000;
        lat.sort((x, y) => x - y);
        const o = (out[name] ??= { pairsPerSec: [], p50Ms: [], p99Ms: [], serverCpuMsPerPair: [] });
        o.pairsPerSec.push(Math.round(N / seconds));
        o.p50Ms.push(Math.round(lat[Math.floor(N / 2)]! * 100) / 100);
        o.p99Ms.push(Math.round(lat[Math.floor(N * 0.99)]! * 100) / 100);
        o.serverCpuMsPerPair.push(Math.round(((cpuMs(pid) - cpu0) / N) * 1000) / 1000);
      }
    }
    const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    return {
      ...out,
      atomicVsApart: {
        pairsPerSec: ratio(med(out.atomic!.pairsPerSec), med(out.apart!.pairsPerSec)),
        serverCpuPerPair: ratio(
          med(out.atomic!.serverCpuMsPerPair),
          med(out.apart!.serverCpuMsPerPair),
        ),
      },
    };
  } finally {
    await nc.close();
    await server.stop();
  }
}

const results = {
  server: testNatsVersion(),
  pairs: N,
  rounds: ROUNDS,
  file: await measure('file'),
  memory: await measure('memory'),
};
process.stdout.write(JSON.stringify(results, null, 2) + '\n');
process.exit(0);
