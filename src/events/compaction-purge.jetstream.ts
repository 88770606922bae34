import {
  AckPolicy,
  DeliverPolicy,
  jetstreamManager,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { ErrorCodes, SchedulerError } from './errors.js';
import type { KindPurge, PrefixPurge } from './purge-plan.js';
import { entityOfSubject } from './subjects.js';

/** What the purge did: calls made, and kinds purged one by one because a prefix was refused. */
export interface PurgeReport {
  readonly prefixCalls: number;
  readonly prefixMessages: number;
  readonly subjectCalls: number;
  readonly refused: string[];
}

/** How long a prefix's count or purge may take on the server. */
const PREFIX_TIMEOUT_MS = 300_000;

/**
 * Purge what a compaction copied, checked and recorded: kind by kind (`planPurge`'s order), one
 * call for the kind's moved prefix, then the moved subjects after it one by one, each below
 * `endSeq + 1` (an event appended since stays live). A prefix is purged only when the server
 * counts exactly the messages the copy saw below its cut (so nothing that stays, and nothing the
 * copy missed, lies there); otherwise that kind is purged subject by subject, as before.
 */
export async function purgeMoved(
  nc: NatsConnection,
  stream: string,
  kinds: readonly KindPurge[],
  moved: readonly string[],
  endSeq: number,
): Promise<PurgeReport> {
  const report = { prefixCalls: 0, prefixMessages: 0, subjectCalls: 0, refused: [] as string[] };
  const jsm = await jetstreamManager(nc);
  // A kind's prefix is millions of messages on a large log: its count and its purge are one
  // server call each that may take longer than the client's default 5 s.
  const slow = await jetstreamManager(nc, { timeout: PREFIX_TIMEOUT_MS });
  for (const k of kinds) {
    let subjects = k.subjects;
    if (k.prefix && (await countBelow(slow, stream, k.prefix)) === k.prefix.messages) {
      const { purged } = await slow.streams.purge(stream, {
        filter: k.prefix.filter,
        seq: k.prefix.beforeSeq,
      });
      if (purged !== k.prefix.messages)
        throw new SchedulerError(
          ErrorCodes.Internal,
          `purge of ${k.prefix.filter} below seq ${k.prefix.beforeSeq} removed ${purged} ` +
            `messages, ${k.prefix.messages} counted just before: another writer or compaction?`,
        );
      report.prefixCalls++;
      report.prefixMessages += purged;
    } else if (k.prefix) {
      report.refused.push(k.kind);
      subjects = moved.filter((s) => entityOfSubject(s) === k.kind);
    }
    await purgeSubjects(jsm, stream, subjects, endSeq + 1);
    report.subjectCalls += subjects.length;
  }
  return report;
}

/**
 * How many messages of the prefix's filter the stream holds below its cut: the pending count of
 * a consumer from the cut, then of one from the start. In that order, an append in between
 * can only make the difference larger than the truth, never equal to it by chance.
 */
async function countBelow(jsm: JetStreamManager, stream: string, p: PrefixPurge): Promise<number> {
  const fromCut = await pendingFrom(jsm, stream, p.filter, p.beforeSeq);
  const fromStart = await pendingFrom(jsm, stream, p.filter, 1);
  return fromStart - fromCut;
}

async function pendingFrom(
  jsm: JetStreamManager,
  stream: string,
  filter: string,
  seq: number,
): Promise<number> {
  const info = await jsm.consumers.add(stream, {
    ack_policy: AckPolicy.None,
    mem_storage: true,
    num_replicas: 1,
    inactive_threshold: nanos(30_000),
    filter_subject: filter,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: seq,
  });
  await jsm.consumers.delete(stream, info.name).catch(() => undefined);
  return info.num_pending;
}

/** Purge each subject's messages below `beforeSeq`, 16 calls at a time. */
async function purgeSubjects(
  jsm: JetStreamManager,
  stream: string,
  subjects: readonly string[],
  beforeSeq: number,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < subjects.length) {
      const filter = subjects[next++] as string;
      await jsm.streams.purge(stream, { filter, seq: beforeSeq });
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, subjects.length) }, lane));
}
