import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobFold } from '../../../src/actors/index.js';
import {
  INTAKE_SUBJECT,
  REJECTED_SUBJECT,
  ensureFarmStreams,
  type ValidJobSpec,
} from '../../../src/events/index.js';
import { consumeIntake } from '../../../src/scheduler/intake.jetstream.js';
import type { Peek } from '../../../src/scheduler/rules.js';
import { ev, jobSpec } from '../../support/events.js';
import { connectTo } from '../../support/nats-client.js';
import { startNatsServer, type NatsServer } from '../../support/nats-server.js';

/** What the schedulers of one case took in (shared, as the log is between real ones). */
function farmView() {
  const accepted = new Map<string, ValidJobSpec>();
  const submitted = jobFold.foldEvents([ev('job.submitted', jobSpec())]);
  const peek: Peek = {
    job: (id) => (accepted.has(id) ? submitted : undefined),
    chunk: () => undefined,
    worker: () => undefined,
    node: () => undefined,
  };
  return { accepted, peek };
}

/** Deliveries of each intake sequence, read from the consumer's debug lines. */
function deliveryLog() {
  const deliveries = new Map<number, number>();
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        const { seq, delivery } = JSON.parse(line) as { seq?: number; delivery?: number };
        if (seq !== undefined && delivery !== undefined)
          deliveries.set(seq, Math.max(delivery, deliveries.get(seq) ?? 0));
      },
    },
  );
  return { deliveries, logger };
}

const body = (over: Record<string, unknown> = {}) =>
  JSON.stringify({ name: 'x', user: 'u', command: ['true'], ...over });

/**
 * Children submitted just after their parent join it, whoever takes them in and whenever: in the
 * chaos run a leading scheduler killed while taking a parent in held it until its ack wait (60 s)
 * ran out, and its two children, re-delivered to the new leader, were rejected after 25
 * re-deliveries (~5 s) as 'parent unknown' (or, once they waited, as 'parent succeeded': it had
 * run meanwhile): two accepted jobs never submitted.
 */
describe('the intake with a parent held by another scheduler', () => {
  let server: NatsServer;
  const conns: NatsConnection[] = [];
  const rejected: string[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    const nc = await connectTo(server);
    conns.push(nc);
    await ensureFarmStreams(await jetstreamManager(nc));
    nc.subscribe(REJECTED_SUBJECT, { callback: (_e, m) => void rejected.push(m.string()) });
  });
  afterAll(async () => {
    for (const nc of conns) await nc.close();
    await server?.stop();
  });

  const connect = async () => {
    const nc = await connectTo(server);
    conns.push(nc);
    return nc;
  };

  it('takes a parent held by a stopped leader back at once; its children join it', async () => {
    const { accepted, peek } = farmView();
    const js = jetstream(conns[0]!);
    // Scheduler A takes the parent in and freezes there (SIGSTOP, or killed before its ack).
    let parentTaken: () => void = () => undefined;
    const taken = new Promise<void>((r) => (parentTaken = r));
    const a = await consumeIntake(
      await connect(),
      pino({ level: 'silent' }),
      async () => {
        parentTaken();
        await new Promise(() => undefined);
      },
      peek,
    );
    const parent = `j${(await js.publish(INTAKE_SUBJECT, body())).seq}`;
    await taken;
    await a.stop(); // A pulls no more; the parent stays with it, unacknowledged

    // Scheduler B leads now: it takes the parent back without waiting out its ack wait (60 s),
    // before its rules run (caughtUp), and the children that follow join it.
    const t0 = Date.now();
    const b = await consumeIntake(
      await connect(),
      pino({ level: 'silent' }),
      async (jobId, spec) => void accepted.set(jobId, spec),
      peek,
    );
    await b.caughtUp;
    expect(accepted.has(parent)).toBe(true);
    const tookBackMs = Date.now() - t0;
    expect(tookBackMs).toBeLessThan(10_000);
    const children: string[] = [];
    for (let i = 0; i < 2; i++)
      children.push(`j${(await js.publish(INTAKE_SUBJECT, body({ parent }))).seq}`);
    const deadline = Date.now() + 20_000;
    while (!children.every((c) => accepted.has(c))) {
      expect(Date.now()).toBeLessThan(deadline);
      await sleep(50);
    }
    expect(accepted.get(children[0]!)?.parent).toBe(parent);
    expect(rejected).toEqual([]);
    await b.stop();
  }, 60_000);

  it('keeps children waiting while their parent is taken in, then accepts them', async () => {
    const { accepted, peek } = farmView();
    const js = jetstream(conns[0]!);
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const { deliveries, logger } = deliveryLog();
    const c = await consumeIntake(
      await connect(),
      logger,
      async (jobId, spec) => {
        if (spec.parent === undefined) await held; // the parent's acceptance is slow
        accepted.set(jobId, spec);
      },
      peek,
    );
    const parent = `j${(await js.publish(INTAKE_SUBJECT, body())).seq}`;
    const children: string[] = [];
    for (let i = 0; i < 2; i++)
      children.push(`j${(await js.publish(INTAKE_SUBJECT, body({ parent }))).seq}`);
    await sleep(2_000);
    expect(children.filter((id) => accepted.has(id))).toEqual([]);
    release();
    const deadline = Date.now() + 20_000;
    while (!children.every((id) => accepted.has(id))) {
      expect(Date.now()).toBeLessThan(deadline);
      await sleep(50);
    }
    expect(rejected).toEqual([]);
    expect(Math.max(...children.map((id) => deliveries.get(Number(id.slice(1))) ?? 0))).toBe(1);
    await c.stop();
  }, 60_000);

  it('rejects a child at once when its parent was rejected (the wait is bounded)', async () => {
    const { accepted, peek } = farmView();
    const js = jetstream(conns[0]!);
    const { deliveries, logger } = deliveryLog();
    const c = await consumeIntake(
      await connect(),
      logger,
      async (jobId, spec) => void accepted.set(jobId, spec),
      peek,
    );
    const before = rejected.length;
    const bad = `j${(await js.publish(INTAKE_SUBJECT, body({ command: [] }))).seq}`;
    const child = (await js.publish(INTAKE_SUBJECT, body({ parent: bad }))).seq;
    const deadline = Date.now() + 20_000;
    while (rejected.length < before + 2) {
      expect(Date.now()).toBeLessThan(deadline);
      await sleep(50);
    }
    const reasons = rejected.slice(before).map((r) => JSON.parse(r) as { seq: number });
    expect(reasons.map((r) => r.seq)).toContain(child);
    expect(rejected.at(-1)).toContain(`parent: job ${bad} is unknown`);
    expect(deliveries.get(child) ?? 0).toBeLessThan(10);
    expect(accepted.size).toBe(0);
    await c.stop();
  }, 30_000);
});
