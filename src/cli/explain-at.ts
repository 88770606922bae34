import { applyEvent, emptyReadModel, explainJob, type Explanation } from '../api/index.js';
import { createJetStreamEventLog, isCorrupt } from '../events/index.js';
import { connectNats, env, readerInbox } from './connection.js';

/** Where a replay stops: a stream sequence or an epoch-ms time. */
export type Until = { readonly seq: number } | { readonly time: number };

/**
 * `SEQ` (digits) or an ISO time as a replay bound; undefined when it is neither. Pure. Shared by
 * `explain --at`, `replay --until` and the `--until` of `usage`, `fairshare` and `audit`.
 */
export function parseUntil(text: string): Until | undefined {
  if (/^\d+$/.test(text)) return { seq: Number(text) };
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : { time: t };
}

/**
 * `explain JOB --at TIME|SEQ`: the API's own read model folded from the log up to that point,
 * explained by the same pure `explainJob` the API runs live, so "why was this pending at 09:14?"
 * has the answer the farm gave then. Undefined when the job did not exist yet. The log tail is
 * not fetched: logs are today's files, not the past's.
 */
export async function explainAt(id: string, at: Until): Promise<Explanation | undefined> {
  const nc = await connectNats(env.natsUrl, readerInbox());
  try {
    const log = await createJetStreamEventLog(nc);
    const model = emptyReadModel();
    const range = 'seq' in at ? { untilSeq: at.seq } : { untilTime: at.time };
    for await (const batch of log.replayBatches(range))
      for (const item of batch) if (!isCorrupt(item)) applyEvent(model, item);
    await log.close();
    return explainJob(model, id)?.explanation;
  } finally {
    await nc.close();
  }
}
