import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { Unpackr } from 'msgpackr';
import type { Logger } from 'pino';
import { stateName } from '../actors/index.js';
import {
  DecodeError,
  INTAKE_STREAM,
  REJECTED_SUBJECT,
  jobIdOfIntake,
  toJobSpec,
  type JobSpec,
  type ValidJobSpec,
} from '../events/index.js';
import type { Peek } from './rules.js';

const unpackr = new Unpackr({ useRecords: false });

/** A submit body as JSON or msgpack, by `Content-Type` (CONTRACT.md); JSON when absent. */
export function decodeSubmitBody(data: Uint8Array, contentType: string | undefined): unknown {
  if (contentType === 'application/msgpack') return unpackr.unpack(data);
  return JSON.parse(new TextDecoder().decode(data));
}

/** Why a valid-looking submission still cannot be accepted (its parent or dependencies). */
export function referenceProblems(spec: JobSpec, peek: Peek): string[] {
  const problems: string[] = [];
  if (spec.parent !== undefined) {
    const parent = peek.job(spec.parent);
    const state = parent ? stateName(parent) : 'unknown';
    if (!['submitted', 'queued', 'held', 'running'].includes(state))
      problems.push(`parent: job ${spec.parent} is ${state}; children join open jobs only`);
  }
  for (const dep of spec.after) {
    const job = peek.job(dep);
    if (!job || stateName(job) === 'none') problems.push(`after: job ${dep} is unknown`);
  }
  return problems;
}

/**
 * The intake sequences of the jobs `spec` refers to that are not known yet but came through the
 * intake before `seq` (a parent submitted just before its children, say): still being taken in.
 */
export function earlierIntakeRefs(spec: JobSpec, seq: number, peek: Peek): number[] {
  const known = (id: string) => {
    const job = peek.job(id);
    return job !== undefined && stateName(job) !== 'none';
  };
  return [...(spec.parent ? [spec.parent] : []), ...spec.after]
    .filter((id) => /^j\d+$/.test(id) && Number(id.slice(1)) < seq && !known(id))
    .map((id) => Number(id.slice(1)));
}

/** How long one pull of the intake waits; its idle heartbeat is half of it. */
export const INTAKE_PULL_EXPIRES_MS = 5_000;

/**
 * How long a taken submission may stay unacknowledged before it is delivered again: the time a
 * scheduler killed while taking it in holds it (and, through the ack floor, its children).
 */
export const INTAKE_ACK_WAIT_MS = 60_000;

/** A submission waiting for an earlier one is looked at again after this (a nak's delay). */
const WAIT_FOR_EARLIER_MS = 200;

/**
 * The last resort against waiting for ever (a submission that fails every time holds the ack
 * floor): well beyond `INTAKE_ACK_WAIT_MS` of re-deliveries every `WAIT_FOR_EARLIER_MS`.
 */
const MAX_WAIT_DELIVERIES = 2_000;

export interface Rejected {
  readonly seq: number;
  readonly msgId?: string;
  readonly error: { code: string; message: string; details?: unknown };
}

/**
 * The durable intake: submissions published to `drover.intake.submit` wait in a stream until a
 * leading scheduler takes them, so an outage loses none. The job id derives from the intake
 * sequence, so a re-delivery after a crash yields the same id and the same (deduplicated) events.
 * A rejected submission is announced on `drover.events.rejected` with the field named.
 *
 * This is an edge: anyone with publish rights on `drover.intake.submit` (a pipeline, an admin,
 * an older API) writes here directly and no header can prove a body was checked upstream, so
 * every body is validated once here and `accept` receives only a `ValidJobSpec`.
 */
export async function consumeIntake(
  nc: NatsConnection,
  logger: Logger,
  accept: (jobId: string, spec: ValidJobSpec) => Promise<void>,
  peek: Peek,
  recall: (jobIds: readonly string[]) => Promise<void> = async () => {},
): Promise<{ caughtUp: Promise<void>; stop(): Promise<void> }> {
  const jsm = await jetstreamManager(nc);
  const { lastSeq } = await takeOverIntake(jsm, logger);
  const consumer = await jetstream(nc).consumers.get(INTAKE_STREAM, 'scheduler');
  // A pull dies with the server leading the consumer (kill -9 on a cluster): the client notices
  // after two missed idle heartbeats, half of `expires` each. At the default 30 s, submissions
  // waited ~40 s after a server's loss (the three-server failover test: 'heartbeats_missed',
  // then the first delivery); at 5 s they wait ~5 s, for one idle pull request every 5 s.
  const messages: ConsumerMessages = await consumer.consume({
    max_messages: 1024,
    expires: INTAKE_PULL_EXPIRES_MS,
  });
  const js = jetstream(nc);
  /** Recorded (acknowledged by DROVER_REJECTED) before the submission is acknowledged. */
  const reject = async (m: JsMsg, error: Rejected['error']) => {
    const msgId = m.headers?.get('Nats-Msg-Id') || undefined;
    const body: Rejected = { seq: m.seq, ...(msgId && { msgId }), error };
    logger.warn(body, 'submission rejected');
    await js.publish(REJECTED_SUBJECT, JSON.stringify(body), { msgID: `rejected:${m.seq}` });
  };
  /** Submissions being taken in by this process, by intake sequence. */
  const inFlight = new Map<number, Promise<unknown>>();
  /**
   * Whether some of the intake sequences `refs` have not been taken in yet: at or above the
   * consumer's ack floor, they may still be held (by a scheduler killed while taking them in,
   * until their ack wait ends) or not delivered yet. Below it they were accepted or rejected.
   */
  const stillComing = async (refs: readonly number[]): Promise<boolean> => {
    const info = await jsm.consumers.info(INTAKE_STREAM, 'scheduler').catch(() => undefined);
    return info === undefined || refs.some((ref) => ref > info.ack_floor.stream_seq);
  };
  /**
   * A submission that refers to an earlier one not known yet (children just after their parent)
   * waits for it: at once when this process takes it in, else while the intake may still bring
   * it. Rejecting it instead after a fixed number of re-deliveries lost children whose parent was
   * held by a leader killed mid-intake (the chaos run: a parent's two children never submitted).
   */
  const waitsForEarlier = async (spec: JobSpec, m: JsMsg): Promise<boolean> => {
    let refs = earlierIntakeRefs(spec, m.seq, peek);
    const here = refs.map((ref) => inFlight.get(ref)).filter((p) => p !== undefined);
    if (here.length > 0) {
      await Promise.all(here.map((p) => p.catch(() => undefined)));
      refs = earlierIntakeRefs(spec, m.seq, peek);
    }
    return (
      refs.length > 0 && m.info.deliveryCount < MAX_WAIT_DELIVERIES && (await stillComing(refs))
    );
  };
  const handle = async (m: JsMsg): Promise<'done' | 'later'> => {
    let spec: ValidJobSpec;
    try {
      spec = toJobSpec(
        decodeSubmitBody(m.data, m.headers?.get('Content-Type')),
        'drover.intake.submit',
      );
    } catch (err) {
      const details = err instanceof DecodeError ? err.issues : undefined;
      await reject(m, { code: 'INVALID_SUBMISSION', message: (err as Error).message, details });
      return 'done';
    }
    // Jobs it refers to that the scheduler let go of (finished long ago) are read back first.
    await recall([...(spec.parent !== undefined ? [spec.parent] : []), ...spec.after]);
    let problems = referenceProblems(spec, peek);
    if (problems.length > 0 && (await waitsForEarlier(spec, m))) {
      m.nak(WAIT_FOR_EARLIER_MS);
      return 'later';
    }
    problems = referenceProblems(spec, peek);
    if (problems.length > 0) {
      await reject(m, {
        code: 'INVALID_SUBMISSION',
        message: problems.join('; '),
        details: problems,
      });
      return 'done';
    }
    await accept(jobIdOfIntake(m.seq), spec);
    return 'done';
  };
  // What the consumer tells of its pulls (missed heartbeats: a pull lost with its server).
  void (async () => {
    for await (const s of messages.status())
      if (s.type !== 'heartbeat' && s.type !== 'next') logger.debug({ status: s }, 'intake status');
  })().catch(() => undefined);
  const loop = (async () => {
    for await (const m of messages) {
      logger.debug({ seq: m.seq, delivery: m.info.deliveryCount }, 'submission taken');
      const handled = handle(m).then(
        (outcome) => outcome !== 'later' && m.ack(),
        (err: unknown) => {
          logger.error({ err, seq: m.seq }, 'intake failed; redelivered later');
          m.nak(1000);
        },
      );
      inFlight.set(m.seq, handled);
      void handled
        // The ack or nak itself failed (a closed connection): the submission comes back after
        // its ack wait and is taken in again idempotently (its job id is its intake sequence).
        .catch((err: unknown) => logger.warn({ err, seq: m.seq }, 'submission not acknowledged'))
        .finally(() => inFlight.get(m.seq) === handled && inFlight.delete(m.seq));
    }
  })().catch((err: unknown) => {
    // Observed at once (it is awaited only by `stop`): an unobserved end crashed the process.
    if (!stopped) logger.error({ err }, 'intake ended: no submission is taken in');
  });
  let stopped = false;
  return {
    caughtUp: caughtUpTo(jsm, lastSeq, () => stopped, logger),
    async stop() {
      stopped = true;
      await messages.close();
      await loop;
    },
  };
}

const consumerConfig = {
  durable_name: 'scheduler',
  ack_policy: AckPolicy.Explicit,
  ack_wait: nanos(INTAKE_ACK_WAIT_MS),
  max_ack_pending: 4096,
};

/**
 * Make the intake's durable consumer this leader's. Submissions an earlier leader took but never
 * acknowledged (killed or paused while taking them in) would come back only after their ack
 * wait, a minute, and the work around them moved on meanwhile: a parent taken in and finished
 * while its children waited could no longer take them. So when some are pending, the consumer
 * is made again from its ack floor: they come back at once (those acknowledged above the floor
 * too, taken in again idempotently: job ids derive from the intake sequence). Returns the
 * intake's last sequence now.
 */
async function takeOverIntake(jsm: JetStreamManager, logger: Logger): Promise<{ lastSeq: number }> {
  const { last_seq: lastSeq } = (await jsm.streams.info(INTAKE_STREAM)).state;
  const prior = await jsm.consumers.info(INTAKE_STREAM, 'scheduler').catch(() => undefined);
  if (prior && prior.num_ack_pending === 0) return { lastSeq };
  if (prior) {
    const from = prior.ack_floor.stream_seq + 1;
    logger.info({ pending: prior.num_ack_pending, from }, 'intake: taking back what a leader held');
    await jsm.consumers.delete(INTAKE_STREAM, 'scheduler');
    await jsm.consumers.add(INTAKE_STREAM, {
      ...consumerConfig,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
    });
  } else {
    await jsm.consumers.add(INTAKE_STREAM, {
      ...consumerConfig,
      deliver_policy: DeliverPolicy.All,
    });
  }
  return { lastSeq };
}

/** How long a new leader waits for the intake's backlog before it goes on anyway. */
const CATCH_UP_MS = 10_000;

/**
 * Resolves once every submission up to `seq` was taken in (the ack floor reached it), or after
 * `CATCH_UP_MS`: a new leader takes what was pending in before its rules settle any job, so a
 * parent cannot end while its children still wait in the intake.
 */
async function caughtUpTo(
  jsm: JetStreamManager,
  seq: number,
  stopped: () => boolean,
  logger: Logger,
): Promise<void> {
  const deadline = Date.now() + CATCH_UP_MS;
  while (!stopped()) {
    const info = await jsm.consumers.info(INTAKE_STREAM, 'scheduler').catch(() => undefined);
    if (info && info.ack_floor.stream_seq >= seq) return;
    if (Date.now() > deadline) {
      logger.warn({ seq, floor: info?.ack_floor.stream_seq }, 'intake backlog not taken in yet');
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
