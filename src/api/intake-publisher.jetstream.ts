import type { NatsConnection } from '@nats-io/transport-node';
import {
  ErrorCodes,
  INTAKE_SUBJECT,
  JetStreamPublisher,
  SchedulerError,
  hasCode,
  type ValidJobSpec,
} from '../events/index.js';

/** The ack of an intake publish: the stream sequence (the job id derives from it). */
export interface IntakeAck {
  readonly seq: number;
  readonly duplicate: boolean;
}

/**
 * Publishes a submission the API has validated to the durable intake and awaits JetStream's ack.
 * It takes only a `ValidJobSpec`, so the API cannot forward a body it has not checked; the intake
 * consumer still checks what it reads, as it does everything on `drover.intake.submit`.
 */
export interface IntakePublisher {
  publish(spec: ValidJobSpec, msgId: string): Promise<IntakeAck>;
  close(): void;
}

const encoder = new TextEncoder();

/**
 * The API's path into the intake: the event log's publisher (core publish with one ack
 * subscription, a bounded window, swept timeouts; `js.publish` costs ~2.5x the CPU per message
 * and halved `drover.api.submit`'s throughput), with its failures as UNAVAILABLE or TIMEOUT.
 * It sends each publish at once (`latency: 'now'`): the submitter waits on this round trip, and
 * waiting for the end of the turn put the API's other work of that turn (the read model's
 * folds, other replies) in front of it.
 */
export function createIntakePublisher(nc: NatsConnection, timeoutMs = 5_000): IntakePublisher {
  const publisher = new JetStreamPublisher(nc, timeoutMs, undefined, 'now');
  return {
    async publish(spec, msgId) {
      try {
        const payload = encoder.encode(JSON.stringify(spec));
        const outcome = await publisher.publish(INTAKE_SUBJECT, payload, msgId);
        if (outcome.kind !== 'stored')
          throw new SchedulerError(ErrorCodes.Unavailable, 'intake refused the publish');
        return { seq: outcome.seq, duplicate: outcome.duplicate };
      } catch (err) {
        if (hasCode(err, ErrorCodes.Unavailable, ErrorCodes.Timeout)) throw err;
        throw new SchedulerError(ErrorCodes.Unavailable, (err as Error).message, { cause: err });
      }
    },
    close() {
      void publisher.close().catch(() => undefined); // stopping: nothing is waiting for it
    },
  };
}
