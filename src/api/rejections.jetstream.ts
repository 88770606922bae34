import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { REJECTED_STREAM, jobIdOfIntake } from '../events/index.js';

/*
 * `DROVER_REJECTED` (named in `events/subjects.ts`) captures
 * `drover.events.rejected`, where the scheduler announces intake submissions it refused
 * (CONTRACT: "a rejected one is recorded with its reason and visible in `drover audit`").
 * Nothing enters the event log for them: they never became jobs. Kept 30 days.
 */

/** A rejection as `drover audit` shows it (the CONTRACT `audit` shape, one entry). */
export interface RejectionEntry {
  seq: number;
  at: number;
  subject: string;
  type: 'submission.rejected';
  by: { kind: 'scheduler'; id: string; epoch?: number };
  data: { intakeSeq: number; jobId: string; msgId?: string; error: unknown };
}

/**
 * The rejections of intake submissions whose would-be job id or `Nats-Msg-Id` is `id`, in order.
 * Reads the whole (bounded) stream with an ordered consumer; empty when the stream is missing.
 */
export async function findRejections(nc: NatsConnection, id: string): Promise<RejectionEntry[]> {
  const js = jetstream(nc);
  let consumer;
  try {
    consumer = await js.consumers.get(REJECTED_STREAM, { deliver_policy: DeliverPolicy.All });
  } catch {
    return [];
  }
  const info = await consumer.info(true).catch(() => undefined);
  if (!info || info.num_pending === 0) return [];
  const out: RejectionEntry[] = [];
  const messages = await consumer.consume();
  for await (const m of messages) {
    const body = safeJson(m.string()) as { seq?: number; msgId?: string; error?: unknown };
    const intakeSeq = body.seq ?? 0;
    const jobId = jobIdOfIntake(intakeSeq);
    if (jobId === id || body.msgId === id) {
      out.push({
        seq: m.seq,
        at: Math.floor(m.info.timestampNanos / 1e6),
        subject: m.subject,
        type: 'submission.rejected',
        by: { kind: 'scheduler', id: 'intake' },
        data: { intakeSeq, jobId, ...(body.msgId && { msgId: body.msgId }), error: body.error },
      });
    }
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return out;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}
