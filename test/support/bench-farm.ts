import { StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { readdir, readFile } from 'node:fs/promises';
import { createEntityRuntime, behaviours, type EntityBehaviour } from '../../src/actors/index.js';
import {
  INTAKE_SUBJECT,
  chunkId,
  createJetStreamEventLog,
  ensureFarmStreams,
  eventSubject,
  isCorrupt,
  jobIdOfIntake,
  toJobSpec,
  type Actor,
  type Entity,
  type JetStreamEventLog,
  type RecordedEvent,
} from '../../src/events/index.js';
import { pipelined, rate } from '../../bench/support.js';
import { connectTo } from './nats-client.js';
import { startNatsServer, type NatsServer } from './nats-server.js';

/** A fresh nats-server with the farm's streams and an open log (one per benchmark). */
export interface BenchServer {
  readonly server: NatsServer;
  readonly nc: NatsConnection;
  readonly log: JetStreamEventLog;
  stop(): Promise<void>;
}

export async function startBenchServer(): Promise<BenchServer> {
  const server = await startNatsServer();
  const nc = await connectTo(server);
  await ensureFarmStreams(await jetstreamManager(nc));
  const log = await createJetStreamEventLog(nc);
  return {
    server,
    nc,
    log,
    async stop() {
      await log.close();
      await nc.close();
      await server.stop();
    },
  };
}

/**
 * Raw ceiling: the library's `js.publish`, 1,024 in flight, into a stream of its own
 * (`BENCH_RAW`), so the farm's log stays as Drover wrote it.
 */
export async function rawPublishRate(nc: NatsConnection, count: number): Promise<number> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams
    .add({ name: 'BENCH_RAW', subjects: ['bench.raw.>'], storage: StorageType.File })
    .catch(() => undefined);
  const js = jetstream(nc);
  const payload = new Uint8Array(120).fill(7);
  const tag = randomUUID().slice(0, 8);
  return rate(count, () =>
    pipelined(count, 1024, (i) =>
      js.publish(`bench.raw.${i % 10_000}`, payload, { msgID: `${tag}-${i}` }),
    ),
  );
}

/** A live tail from `fromSeq` calling `on` for every event of `entity` until stopped. */
export function watchLog(
  log: JetStreamEventLog,
  fromSeq: number,
  entity: Entity,
  on: (e: RecordedEvent, id: string) => void,
): { stop(): Promise<void> } {
  const tail = log.tail({ fromSeq, entity });
  const running = (async () => {
    for await (const item of tail) {
      if (isCorrupt(item)) continue;
      const s = item.recorded.subject;
      on(item as RecordedEvent, s.slice(s.lastIndexOf('.') + 1));
    }
  })();
  return {
    async stop() {
      await tail.stop();
      await running.catch(() => undefined);
    },
  };
}

/** Resolves once `done()` holds, checking every `everyMs`; rejects after `timeoutMs`. */
export async function until(done: () => boolean, timeoutMs: number, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`bench: condition not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Publish one submit body to the durable intake; resolves with the job id. */
export async function submitToIntake(
  nc: NatsConnection,
  body: Record<string, unknown>,
  msgId: string,
): Promise<string> {
  const ack = await jetstream(nc).publish(INTAKE_SUBJECT, JSON.stringify(body), { msgID: msgId });
  return jobIdOfIntake(ack.seq);
}

/**
 * Write queued jobs straight into the log, as the scheduler's intake would (`job.submitted` by
 * the user, `job.queued` and every `chunk.created` by a scheduler of epoch 0, so any scheduler
 * that leads later outranks it): the placement benchmark starts from a full queue.
 */
export async function seedQueuedJobs(
  log: JetStreamEventLog,
  opts: {
    jobs: number;
    chunks: number;
    users: number;
    cpus: number;
    memMb: number;
    window?: number;
  },
): Promise<{ jobIds: string[]; events: number }> {
  const runtime = createEntityRuntime({ eventLog: log, cache: true });
  const by: Actor = { kind: 'scheduler', id: 'seed', epoch: 0 };
  const at = Date.now();
  const exec = async (entity: Entity, id: string, command: unknown, fresh: boolean) => {
    const behaviour = behaviours[entity] as EntityBehaviour<unknown, unknown>;
    // A new entity: seed it empty (saves a read per entity; a wrong seed would only conflict).
    if (fresh)
      runtime.prime(behaviour, id, { state: behaviour.initial(), lastSeq: 0, eventIds: new Set() });
    const r = await runtime.execute(behaviour, id, command as never);
    if (!r.ok) throw new Error(`seed ${entity} ${id}: ${r.rejection.message}`);
    if (entity === 'chunk') runtime.forget(eventSubject('chunk', id)); // keep memory flat
  };
  const jobIds = Array.from({ length: opts.jobs }, (_, i) => `s${i}`);
  let next = 0;
  const lane = async () => {
    while (next < jobIds.length) {
      const i = next++;
      const jobId = jobIds[i] as string;
      const spec = toJobSpec(
        {
          name: `seed-${i}`,
          user: `user${i % opts.users}`,
          command: ['true'],
          chunks: opts.chunks,
          cpus: opts.cpus,
          memMb: opts.memMb,
        },
        'bench',
      );
      const user: Actor = { kind: 'user', id: spec.user };
      await exec(
        'job',
        jobId,
        { type: 'SubmitJob', id: `submit:${jobId}`, at, by: user, data: spec },
        true,
      );
      await exec('job', jobId, { type: 'QueueJob', id: `queue:${jobId}`, at, by }, false);
      runtime.forget(eventSubject('job', jobId));
      await Promise.all(
        Array.from({ length: opts.chunks }, (_, index) =>
          exec(
            'chunk',
            chunkId(jobId, index),
            {
              type: 'CreateChunk',
              id: `create:${jobId}:${index}`,
              at,
              by,
              data: { jobId, index, total: opts.chunks },
            },
            true,
          ),
        ),
      );
    }
  };
  await Promise.all(Array.from({ length: opts.window ?? 16 }, lane));
  return { jobIds, events: opts.jobs * (2 + opts.chunks) };
}

/**
 * Processes alive now whose environment names one of `workers` (DROVER_WORKER), read from /proc
 * so nothing the agent says is trusted. A process in one of `pgids` without that name is listed
 * apart (`ours: false`): with the machine's pids wrapping (pid_max 32,768 on a shared machine),
 * a recorded group's number may belong to someone else's process by now, and the caller must
 * not kill it (a cancel run on 2026-12-05 counted 15 survivors and SIGKILLed them; which
 * processes they were was not recorded).
 */
export async function survivors(pgids: ReadonlySet<number>, workers: ReadonlySet<string>) {
  const alive: { pid: number; cmd: string; ours: boolean }[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue; // a zombie is dead, only not yet reaped
      const pgrp = Number(fields[2]);
      const env = await readFile(`/proc/${name}/environ`, 'utf8').catch(() => '');
      const worker = /(?:^|\0)DROVER_WORKER=([^\0]*)/.exec(env)?.[1];
      const ours = worker !== undefined && workers.has(worker);
      if (ours || pgids.has(pgrp)) {
        const cmd = (await readFile(`/proc/${name}/cmdline`, 'utf8')).replaceAll('\0', ' ');
        alive.push({ pid: Number(name), cmd, ours });
      }
    } catch {
      // gone while we looked: dead
    }
  }
  return alive;
}

/** Percentile (nearest rank) of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}
