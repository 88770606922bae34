import { applyEvent, chunkView, publicState, type ReadModel } from '../api/index.js';
import { chunkId, parseChunkId, parseEventSubject, type RecordedEvent } from '../events/index.js';

/** One row of `events`: the envelope, flattened for SQL (`data` stays JSON). */
export interface EventRow {
  seq: number;
  subject: string;
  entity: string;
  entityId: string;
  jobId: string | null;
  type: string;
  v: number;
  eventId: string;
  at: number;
  byKind: string;
  byId: string;
  data: unknown;
}

/** One row of `jobs`: the job's state after the batch (upserted by id). */
export interface JobRowSql {
  id: string;
  name: string;
  user: string;
  pool: string;
  state: string;
  priority: number;
  parent: string | null;
  createdAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  cpus: number;
  memMb: number;
  gpus: number;
  chunks: number;
  retries: number;
  command: string[];
  outcomeCause: string | null;
  outcomeMessage: string | null;
  resultsCleared: boolean;
  lastSeq: number;
}

/** One row of `attempts`: an attempt of a chunk after the batch (upserted by job, chunk, attempt). */
export interface AttemptRow {
  jobId: string;
  chunk: number;
  attempt: number;
  worker: string;
  node: string;
  state: string;
  cause: string | null;
  exitCode: number | null;
  signal: string | null;
  peakRssMb: number | null;
  cpuSeconds: number | null;
  startedAt: number | null;
  endedAt: number | null;
}

/** One row of `usage_samples`: a `worker.sampled` event (inserted once, by its sequence). */
export interface SampleRow {
  seq: number;
  worker: string;
  jobId: string;
  chunk: number;
  attempt: number;
  node: string | null;
  at: number;
  rssMb: number;
  peakRssMb: number;
  cpuSeconds: number;
}

/** What one batch writes: new events and samples, and the latest state of what they touched. */
export interface SinkRows {
  events: EventRow[];
  jobs: JobRowSql[];
  attempts: AttemptRow[];
  samples: SampleRow[];
}

/** The job and chunk an entity id belongs to (`J`, `J:i`, `J:i:a`). */
function ownerOf(entity: string, id: string): { jobId: string; chunk?: string } | undefined {
  if (entity === 'job') return { jobId: id };
  if (entity === 'chunk') return { jobId: parseChunkId(id).jobId, chunk: id };
  if (entity === 'worker') {
    const chunk = id.slice(0, id.lastIndexOf(':'));
    return { jobId: parseChunkId(chunk).jobId, chunk };
  }
  return undefined;
}

/**
 * Fold `events` into `model` (the API's read model: the one fold of jobs, chunks and workers)
 * and return the rows they produce: every event, every usage sample, and the state after the
 * batch of each job and chunk attempt they touched. Pure; mutates `model`. Rows are keyed
 * (events and samples by sequence, jobs by id, attempts by job, chunk and attempt), so writing
 * them is the same whether a job was touched once or a thousand times in the batch.
 */
export function sinkRows(model: ReadModel, events: readonly RecordedEvent[]): SinkRows {
  const out: SinkRows = { events: [], jobs: [], attempts: [], samples: [] };
  const jobs = new Map<string, number>();
  const chunks = new Set<string>();
  for (const e of events) {
    applyEvent(model, e);
    const where = parseEventSubject(e.recorded.subject);
    const owner = where && ownerOf(where.entity, where.id);
    if (owner) {
      jobs.set(owner.jobId, e.recorded.seq);
      if (owner.chunk) chunks.add(owner.chunk);
    }
    out.events.push({
      seq: e.recorded.seq,
      subject: e.recorded.subject,
      entity: where?.entity ?? 'unknown',
      entityId: where?.id ?? '',
      jobId: owner?.jobId ?? null,
      type: e.type,
      v: e.v,
      eventId: e.id,
      at: e.at,
      byKind: e.by.kind,
      byId: e.by.id,
      data: e.data,
    });
    if (e.type === 'worker.sampled' && where) {
      const [jobId, chunk, attempt] = where.id.split(':');
      out.samples.push({
        seq: e.recorded.seq,
        worker: where.id,
        jobId: jobId ?? '',
        chunk: Number(chunk),
        attempt: Number(attempt),
        node: model.workers.get(where.id)?.snapshot.context.node ?? null,
        at: e.at,
        rssMb: e.data.rssMb,
        peakRssMb: e.data.peakRssMb,
        cpuSeconds: e.data.cpuSeconds,
      });
    }
  }
  for (const [id, lastSeq] of jobs) {
    const row = jobRow(model, id, lastSeq);
    if (row) out.jobs.push(row);
  }
  for (const id of chunks) out.attempts.push(...attemptRows(model, id));
  return out;
}

function jobRow(model: ReadModel, id: string, lastSeq: number): JobRowSql | undefined {
  const job = model.jobs.get(id);
  const state = job && publicState(job);
  const spec = job?.context.spec;
  if (!job || !state || !spec) return undefined;
  const ctx = job.context;
  return {
    id,
    name: spec.name,
    user: spec.user,
    pool: spec.pool,
    state,
    priority: ctx.priority,
    parent: spec.parent ?? null,
    createdAt: ctx.createdAt ?? null,
    startedAt: ctx.startedAt ?? null,
    endedAt: ctx.endedAt ?? null,
    cpus: spec.cpus,
    memMb: spec.memMb,
    gpus: spec.gpus,
    chunks: spec.chunks,
    retries: spec.retries,
    command: [...spec.command],
    outcomeCause: ctx.outcome?.cause ?? null,
    outcomeMessage: ctx.outcome?.message ?? null,
    resultsCleared: ctx.resultsCleared,
    lastSeq,
  };
}

function attemptRows(model: ReadModel, id: string): AttemptRow[] {
  const { jobId, index } = parseChunkId(id);
  if (!model.chunks.has(chunkId(jobId, index))) return [];
  return chunkView(model, jobId, index).attempts.map((a) => ({
    jobId,
    chunk: index,
    attempt: a.attempt,
    worker: a.worker,
    node: a.node,
    state: a.state,
    cause: a.cause ?? null,
    exitCode: a.exitCode ?? null,
    signal: a.signal ?? null,
    peakRssMb: a.peakRssMb ?? null,
    cpuSeconds: a.cpuSeconds ?? null,
    startedAt: a.startedAt ?? null,
    endedAt: a.endedAt ?? null,
  }));
}
