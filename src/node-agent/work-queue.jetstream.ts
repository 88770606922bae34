import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { Unpackr } from 'msgpackr';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { WORK_STREAM, WorkSchema, type Work } from '../events/index.js';

const unpackr = new Unpackr({ useRecords: false });
/** How long one pull of the work queue waits before the server ends it (and the client re-pulls). */
const WORK_PULL_EXPIRES_MS = 5_000;

/** Decode a work message; JSON is accepted too, so other tools can enqueue work by hand. */
export function decodeWork(m: JsMsg): Work {
  const raw: unknown = m.data[0] === 0x7b ? JSON.parse(m.string()) : unpackr.unpack(m.data);
  return WorkSchema.parse(raw);
}

/**
 * A durable pull consumer on the work queue (`DROVER_WORK`): what was not acknowledged comes
 * back after `ack_wait`, so launches and kills survive a restart of whoever takes them.
 */
export async function consumeWork(
  nc: NatsConnection,
  opts: { name: string; filter: string; maxAckPending: number; batch: number },
): Promise<ConsumerMessages> {
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add(WORK_STREAM, {
    durable_name: opts.name,
    filter_subject: opts.filter,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(60_000),
    max_ack_pending: opts.maxAckPending,
  });
  const consumer = await jetstream(nc).consumers.get(WORK_STREAM, opts.name);
  // A pull lost with a killed server is noticed after two missed idle heartbeats of the pull's
  // expiry: 5 s instead of the client's default 30 s (a launch waited ~30 s after a server kill).
  return consumer.consume({ max_messages: opts.batch, expires: WORK_PULL_EXPIRES_MS });
}

/**
 * Act on each work message, one worker at a time (a kill waits for its launch), acknowledging it
 * once handled and asking for redelivery when handling failed. An unreadable message is
 * terminated: redelivering it would fail forever. `handle` returning undefined drops the message.
 */
export async function processWork(
  messages: ConsumerMessages,
  logger: Logger,
  handle: (work: Work, m: JsMsg) => (() => Promise<unknown>) | undefined,
  serial: { run<T>(key: string, task: () => Promise<T>): Promise<T> },
): Promise<void> {
  for await (const m of messages) {
    let work: Work;
    try {
      work = decodeWork(m);
    } catch (err) {
      logger.error({ err, seq: m.seq }, 'unreadable work message dropped');
      m.term();
      continue;
    }
    const task = handle(work, m);
    if (!task) {
      m.term();
      continue;
    }
    serial
      .run(`work:${work.worker}`, task)
      .then(
        () => m.ack(),
        (err: unknown) => {
          logger.error({ err, worker: work.worker }, 'work failed; redelivered later');
          m.nak(1000);
        },
      )
      // The ack or nak itself failed (the connection closed as the agent stops): the message
      // comes back after `ack_wait`, and the launch's and kill's ids make that harmless.
      .catch((err: unknown) => logger.warn({ err, worker: work.worker }, 'work not acknowledged'));
  }
}

/** A running intake of work (`takeWork`). */
export interface WorkIntake {
  /** Stop taking work, and wait for the handling of what was taken to be queued. */
  stop(): Promise<void>;
}

/**
 * `consumeWork` then `processWork`, again whenever the consumer's messages end while the intake
 * runs (a pull consumer ends with an error when its stream or consumer is gone, say after a
 * JetStream outage): an agent whose intake ended took no more work yet heartbeated on, and
 * nothing observed the failure (issue 23). The first `consumeWork` fails as before (start-up
 * waits on it); later ones are tried again with a backoff.
 */
export async function takeWork(
  nc: NatsConnection,
  opts: { name: string; filter: string; maxAckPending: number; batch: number },
  logger: Logger,
  handle: (work: Work, m: JsMsg) => (() => Promise<unknown>) | undefined,
  serial: { run<T>(key: string, task: () => Promise<T>): Promise<T> },
): Promise<WorkIntake> {
  let stopped = false;
  let messages: ConsumerMessages | undefined = await consumeWork(nc, opts);
  const loop = (async () => {
    for (let delayMs = 250; !stopped; delayMs = Math.min(2 * delayMs, 5_000)) {
      if (messages) {
        const ended = await processWork(messages, logger, handle, serial).then(
          () => undefined,
          (err: unknown) => err,
        );
        if (stopped) return;
        logger.warn({ err: ended }, 'work queue ended; taking work again');
        delayMs = 250;
      }
      await sleep(delayMs);
      if (stopped || nc.isClosed()) return;
      messages = await consumeWork(nc, opts).catch((err: unknown) => {
        logger.warn({ err }, 'work queue not reachable; trying again');
        return undefined;
      });
    }
  })();
  return {
    async stop() {
      stopped = true;
      await messages?.close();
      await loop;
    },
  };
}
