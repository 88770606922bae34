import {
  chunkId,
  currentVersion,
  eventSubject,
  workerId,
  type Actor,
  type DroverEvent,
  type Entity,
  type EventData,
  type EventType,
  type EventLog,
  type RecordedEvent,
} from '../../src/events/index.js';

/** One event of a generated history, with the entity it belongs to. */
export interface Entry {
  readonly entity: Entity;
  readonly id: string;
  readonly event: DroverEvent;
}

export interface HistoryOptions {
  readonly jobs: number;
  readonly users?: number;
  readonly names?: number;
  readonly nodes?: number;
  /**
   * Place work on these nodes, registered elsewhere (hollow nodes that register themselves),
   * instead of `nodes` nodes the history registers.
   */
  readonly nodeNames?: readonly string[];
  readonly t0?: number;
  /** Prefix of every id (benchmarks append several histories to one stream). */
  readonly tag?: string;
}

/** mulberry32: a small deterministic PRNG (tests and benchmarks must be reproducible). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const scheduler: Actor = { kind: 'scheduler', id: 'sched-1', epoch: 3 };
const agent: Actor = { kind: 'agent', id: 'agent' };

/**
 * A plausible farm history: nodes register, jobs are submitted (some as children), their chunks
 * are placed with decisions or noted as pending, workers are sampled and exit, are killed for
 * memory (and retried with more) or lost with their node; a few late results and rejected
 * commands. Jobs overlap in time (events are merged by time). Deterministic in `seed`.
 */
export function farmHistory(seed: number, o: HistoryOptions): Entry[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const tag = o.tag ?? 'h';
  const t0 = o.t0 ?? 1_700_000_000_000;
  const users = Array.from({ length: o.users ?? 3 }, (_, i) => `u${i}`);
  const names = Array.from({ length: o.names ?? 4 }, (_, i) => `render${i}`);
  const nodes = o.nodeNames ?? Array.from({ length: o.nodes ?? 3 }, (_, i) => `${tag}n${i}`);
  const timed: { at: number; n: number; entry: Entry }[] = [];
  let n = 0;
  let evn = 0;
  const add = <T extends EventType>(
    entity: Entity,
    id: string,
    at: number,
    type: T,
    data: EventData<T>,
    by: Actor = scheduler,
  ) => {
    const event = { type, v: currentVersion(type), id: `${tag}e${seed}-${evn++}`, at, by, data };
    timed.push({ at, n: n++, entry: { entity, id, event: event as unknown as DroverEvent } });
  };
  for (const node of o.nodeNames ? [] : nodes) {
    add(
      'node',
      node,
      t0,
      'node.registered',
      {
        cpus: 16,
        memMb: 65536,
        gpus: 1,
        hostname: node,
        labels: {},
        incarnation: 'i1',
      },
      agent,
    );
    add('node', node, t0 + 1, 'node.ready', {}, agent);
  }
  const jobIds: string[] = [];
  for (let j = 0; j < o.jobs; j++) {
    const job = `${tag}j${j}`;
    const user = pick(users);
    const name = pick(names);
    let t = t0 + 10 + j * int(500, 4000);
    const chunks = int(1, 3);
    const memMb = pick([256, 512, 1024]);
    const parent = jobIds.length && rnd() < 0.1 ? pick(jobIds) : undefined;
    jobIds.push(job);
    add(
      'job',
      job,
      t,
      'job.submitted',
      {
        name,
        user,
        pool: pick(['default', 'gpu']),
        command: ['render'],
        cpus: pick([1, 2]),
        memMb,
        gpus: 0,
        chunks,
        retries: 1,
        after: [],
        labels: {},
        excludeNodes: [],
        priority: 0,
        env: {},
        ...(parent ? { parent } : {}),
      },
      { kind: 'user', id: user },
    );
    if (parent) add('job', parent, t, 'job.child_added', { childId: job });
    add('job', job, (t += 5), 'job.queued', {});
    if (rnd() < 0.3) {
      add('job', job, (t += 7), 'job.pending_noted', {
        reasons: [{ code: 'Resources', message: 'no node has 2 cpus free', unblock: 'wait' }],
        rank: int(0, 9),
        queueLength: 10,
        ahead: [{ user: pick(users), dru: rnd() }],
      });
    }
    if (rnd() < 0.05) {
      add('job', job, t + 1, 'job.command_rejected', {
        command: 'clear',
        code: 'STATE',
        message: 'running',
      });
    }
    let end = t;
    for (let c = 0; c < chunks; c++) {
      const chunk = chunkId(job, c);
      let ct = t + int(10, 3000);
      add('chunk', chunk, t + 6, 'chunk.created', { jobId: job, index: c, total: chunks });
      let request = { cpus: 1, memMb, gpus: 0 };
      for (let attempt = 1; attempt <= 2; attempt++) {
        const worker = workerId(job, c, attempt);
        const node = pick(nodes);
        add('chunk', chunk, ct, 'chunk.assigned', {
          attempt,
          node,
          worker,
          request,
          decision: {
            dru: rnd(),
            rank: int(0, 5),
            skipped: [{ node: pick(nodes), reason: 'full' }],
          },
        });
        add(
          'worker',
          worker,
          (ct += 3),
          'worker.launching',
          {
            jobId: job,
            chunk: c,
            attempt,
            node,
            memLimitMb: request.memMb,
          },
          agent,
        );
        add('worker', worker, (ct += 20), 'worker.started', { pid: 100 + c, pgid: 100 + c }, agent);
        add('chunk', chunk, ct, 'chunk.started', { attempt, pid: 100 + c }, agent);
        let peak = 0;
        let cpu = 0;
        const samples = int(1, 4);
        for (let s = 0; s < samples; s++) {
          const rss = int(50, request.memMb * 1.2);
          peak = Math.max(peak, rss);
          cpu += int(1, 30);
          add(
            'worker',
            worker,
            (ct += int(1000, 20000)),
            'worker.sampled',
            { rssMb: rss, peakRssMb: peak, cpuSeconds: cpu },
            agent,
          );
        }
        const wall = int(1, 60);
        const fate = rnd();
        ct += int(100, 5000);
        if (fate < 0.75 || attempt === 2) {
          add(
            'worker',
            worker,
            ct,
            'worker.exited',
            {
              peakRssMb: peak,
              cpuSeconds: cpu,
              wallSeconds: wall,
              exitCode: 0,
              signal: null,
              cause: 'Succeeded',
            },
            agent,
          );
          add('chunk', chunk, ct + 2, 'chunk.succeeded', { attempt }, agent);
          if (rnd() < 0.05) {
            add(
              'chunk',
              chunk,
              ct + 50,
              'chunk.result_rejected',
              { attempt, currentAttempt: attempt, state: 'succeeded', reason: 'late duplicate' },
              agent,
            );
          }
          break;
        }
        if (fate < 0.9) {
          const oom = peak + int(1, 200);
          add(
            'worker',
            worker,
            ct,
            'worker.kill_requested',
            { reason: 'out_of_memory', signal: 'SIGKILL' },
            agent,
          );
          add(
            'worker',
            worker,
            ct + 5,
            'worker.killed',
            {
              peakRssMb: oom,
              cpuSeconds: cpu,
              wallSeconds: wall,
              signal: 'SIGKILL',
              cause: 'OutOfMemory',
            },
            agent,
          );
          add('chunk', chunk, ct + 6, 'chunk.attempt_failed', {
            attempt,
            cause: 'OutOfMemory',
            confirmed: true,
          });
          request = { ...request, memMb: Math.ceil(oom * 1.5) };
        } else {
          add('worker', worker, ct, 'worker.lost', { cause: 'NodeLost', reason: 'no heartbeat' });
          add('chunk', chunk, ct + 6, 'chunk.attempt_failed', {
            attempt,
            cause: 'NodeLost',
            confirmed: false,
          });
        }
        add('chunk', chunk, ct + 7, 'chunk.retry_scheduled', {
          attempt,
          notBefore: ct + 1000,
          request,
          avoidNodes: [node],
          countsAgainstRetries: true,
          reason: 'retry',
        });
        ct += 1000;
      }
      end = Math.max(end, ct + 10);
    }
    const settled = Array.from({ length: chunks }, (_, index) => ({
      index,
      state: 'succeeded' as const,
      quiescent: true,
    }));
    add('job', job, end + 1, 'job.chunks_settled', { chunks: settled });
    add('job', job, end + 2, 'job.succeeded', {});
  }
  timed.sort((a, b) => a.at - b.at || a.n - b.n);
  return timed.map((x) => x.entry);
}

/** The entries as the log would record them: sequences 1.. in order, subjects by entity. */
export function recordAll(entries: readonly Entry[], firstSeq = 1): RecordedEvent[] {
  return entries.map((x, i) => ({
    ...x.event,
    recorded: { subject: eventSubject(x.entity, x.id), seq: firstSeq + i },
  })) as RecordedEvent[];
}

/** Append in order, each conditional on its entity's last sequence (as Drover does). */
export async function appendChained(
  log: EventLog,
  entries: readonly Entry[],
  last = new Map<string, number>(),
): Promise<Map<string, number>> {
  for (const x of entries) {
    const key = eventSubject(x.entity, x.id);
    const r = await log.append(x.entity, x.id, [x.event], { expectedSeq: last.get(key) ?? 0 });
    if (!r.ok) throw new Error(`conflict on ${key}`);
    last.set(key, r.seqs[0] as number);
  }
  return last;
}
