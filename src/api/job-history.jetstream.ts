import { chunkId, type EntityHistory, type EventLog, type RecordedEvent } from '../events/index.js';
import { applyEvent, emptyReadModel, type ReadModel } from './read-model.js';

/** Entity reads in flight at once when a job's chunks and workers are read back. */
const READS_AT_ONCE = 32;

async function readAll(
  log: EventLog,
  entity: 'chunk' | 'worker',
  ids: readonly string[],
): Promise<EntityHistory[]> {
  const out: EntityHistory[] = [];
  for (let i = 0; i < ids.length; i += READS_AT_ONCE) {
    const batch = ids.slice(i, i + READS_AT_ONCE);
    out.push(...(await Promise.all(batch.map((id) => log.read(entity, id)))));
  }
  return out;
}

/** Job `id` read back from the log: a model holding it alone, and the events folded into it. */
export interface JobHistory {
  readonly model: ReadModel;
  /** The job's, its chunks' and their workers' events, in log order (its audit trail). */
  readonly events: RecordedEvent[];
}

/**
 * Job `id` folded from its own events in the log: the job's, its chunks' and their workers'
 * (`log` reads the archive for a compacted job). The read models let go of old finished jobs
 * (`ReadRetention`); this answers them on demand with the same views, folded by the same
 * machines, so `show`, `explain`, `logs` and the dashboard's job page answer what they did when
 * the job was in memory. Undefined when the log holds no such job.
 */
export async function readJobHistory(log: EventLog, id: string): Promise<JobHistory | undefined> {
  const job = await log.read('job', id);
  if (job.events.length === 0) return undefined;
  const model = emptyReadModel();
  for (const e of job.events) applyEvent(model, e);
  const context = model.jobs.get(id)?.context;
  const total = Math.max(context?.chunks.total ?? 0, context?.spec?.chunks ?? 0);
  const chunkIds = Array.from({ length: total }, (_, i) => chunkId(id, i));
  const chunks = (await readAll(log, 'chunk', chunkIds)).flatMap((h) => h.events).sort(bySeq);
  for (const e of chunks) applyEvent(model, e);
  const workerIds = [...model.chunks.values()].flatMap((c) =>
    c.context.attempts.map((a) => a.worker),
  );
  const workers = (await readAll(log, 'worker', workerIds)).flatMap((h) => h.events).sort(bySeq);
  for (const e of workers) applyEvent(model, e);
  return { model, events: [...job.events, ...chunks, ...workers].sort(bySeq) };
}

/** A read model holding job `id` alone, read from the log (`readJobHistory`). */
export async function readJobModel(log: EventLog, id: string): Promise<ReadModel | undefined> {
  return (await readJobHistory(log, id))?.model;
}

const bySeq = (a: RecordedEvent, b: RecordedEvent) => a.recorded.seq - b.recorded.seq;

/**
 * The stream sequence of job `id`'s `job.submitted` in the log (`log` reads the archive for a
 * compacted job): the job's place in the `jobs` list, which a paging cursor naming a job the read
 * model let go of resolves to. Undefined when the log holds no such job. One subject read.
 */
export async function readSubmittedSeq(log: EventLog, id: string): Promise<number | undefined> {
  const job = await log.read('job', id);
  return job.events.find((e) => e.type === 'job.submitted')?.recorded.seq;
}
