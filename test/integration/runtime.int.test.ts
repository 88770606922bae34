import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chunkBehaviour,
  createEntityRuntime,
  createdChunkPacker,
  RECENT_IDS,
  STALE_EPOCH,
  jobBehaviour,
  stateName,
  toPlain,
  type CommandMeta,
  type JobCommand,
  type JobSnapshot,
} from '../../src/actors/index.js';
import {
  eventSubject,
  isCorrupt,
  workerId,
  type Actor,
  type RecordedEvent,
} from '../../src/events/index.js';
import { jobSpec, uid } from '../support/events.js';
import { useEventLog } from '../support/nats-client.js';

const farm = useEventLog({ beforeAll, afterAll });

const scheduler: Actor = { kind: 'scheduler', id: 'sched-a', epoch: 1 };
let tick = 1_700_000_000_000;
const meta = (by: Actor = scheduler): CommandMeta => ({ id: randomUUID(), at: tick++, by });

async function submitQueued(
  runtime = createEntityRuntime({ eventLog: farm.log }),
  id = uid(),
): Promise<string> {
  expect(
    (await runtime.execute(jobBehaviour, id, { ...meta(), type: 'SubmitJob', data: jobSpec() })).ok,
  ).toBe(true);
  expect((await runtime.execute(jobBehaviour, id, { ...meta(), type: 'QueueJob' })).ok).toBe(true);
  return id;
}

/** Every stored event of the entity folds: the log never holds a transition the machine rejects. */
async function foldsCleanly(id: string): Promise<JobSnapshot> {
  const { events, corrupt } = await farm.log.read('job', id);
  expect(corrupt).toEqual([]);
  return (
    jobBehaviour.initial() &&
    events.reduce((s, e) => jobBehaviour.evolve(s, e), jobBehaviour.initial())
  );
}

describe('entity runtime against a real nats-server', () => {
  it('fences a deposed scheduler: a command with an older epoch than the entity has seen is refused', async () => {
    const deposed = createEntityRuntime({ eventLog: farm.log, cache: true });
    const leader = createEntityRuntime({ eventLog: farm.log, cache: true });
    const id = await submitQueued(deposed);
    await deposed.load(jobBehaviour, id); // the old leader's view, before the takeover
    const newer: Actor = { kind: 'scheduler', id: 'sched-b', epoch: 2 };
    expect((await leader.execute(jobBehaviour, id, { ...meta(newer), type: 'StartJob' })).ok).toBe(
      true,
    );
    const late = await deposed.execute(jobBehaviour, id, {
      ...meta(),
      type: 'RequestCancel',
      data: { reason: 'old leader' },
    });
    expect(late.ok).toBe(false);
    expect(!late.ok && late.rejection.code).toBe(STALE_EPOCH);
    const { events } = await farm.log.read('job', id);
    expect(events.map((e) => e.type)).toEqual(['job.submitted', 'job.queued', 'job.started']);
  });

  it('two schedulers racing on one job: the loser reloads, decides again on the new state', async () => {
    for (let round = 0; round < 10; round++) {
      const a = createEntityRuntime({ eventLog: farm.log, cache: true });
      const b = createEntityRuntime({ eventLog: farm.log, cache: true });
      const id = await submitQueued(a);
      await b.load(jobBehaviour, id); // both now hold the same `queued` view
      const [cancel, start] = await Promise.all([
        a.execute(jobBehaviour, id, {
          ...meta(),
          type: 'RequestCancel',
          data: { reason: 'user asked' },
        }),
        b.execute(jobBehaviour, id, { ...meta(), type: 'StartJob' }),
      ]);
      expect(cancel.ok).toBe(true); // accepted from queued and from running
      const final = await foldsCleanly(id);
      expect(stateName(final)).toBe('cancelling');
      // Start was either first (then cancel came after it) or refused on the reloaded state.
      if (!start.ok) expect(start.rejection.code).toBe('InvalidTransition');
    }
  });

  it('a stale cache costs one conflict, never a wrong write', async () => {
    const a = createEntityRuntime({ eventLog: farm.log, cache: true });
    const id = await submitQueued(a);
    const b = createEntityRuntime({ eventLog: farm.log });
    await b.execute(jobBehaviour, id, {
      ...meta(),
      type: 'HoldJob',
      data: { reason: 'maintenance' },
    });
    // a still believes the job is queued; starting a held job must be refused after the reload.
    const r = await a.execute(jobBehaviour, id, { ...meta(), type: 'StartJob' });
    expect(r.ok).toBe(false);
    expect(stateName(r.state)).toBe('held');
    const { events } = await farm.log.read('job', id);
    expect(events.map((e) => e.type)).toEqual([
      'job.submitted',
      'job.queued',
      'job.held',
      'job.command_rejected',
    ]);
  });

  it('tells the owner of a cache what a conflict reload brought in, which its tail will then skip', async () => {
    const refreshed: { id: string; state: string; lastSeq: number }[] = [];
    const a = createEntityRuntime({
      eventLog: farm.log,
      cache: true,
      onRefresh: (_entity, id, l) =>
        refreshed.push({ id, state: stateName(l.state as JobSnapshot), lastSeq: l.lastSeq }),
    });
    const id = await submitQueued(createEntityRuntime({ eventLog: farm.log }));
    await a.load(jobBehaviour, id);
    expect(refreshed).toEqual([{ id, state: 'queued', lastSeq: expect.any(Number) }]);
    const b = createEntityRuntime({ eventLog: farm.log });
    const held = await b.execute(jobBehaviour, id, {
      ...meta(),
      type: 'HoldJob',
      data: { reason: 'maintenance' },
    });
    // a's StartJob conflicts, reloads (held), is refused and audited: not ok, no own events.
    const r = await a.execute(jobBehaviour, id, { ...meta(), type: 'StartJob' });
    expect(r.ok).toBe(false);
    expect(refreshed.at(-1)).toEqual({ id, state: 'held', lastSeq: held.lastSeq });
    // The tail delivering job.held now finds nothing new: the refresh was the only notice.
    const { events } = await farm.log.read('job', id);
    const heldEvent = events.find((e) => e.type === 'job.held') as RecordedEvent;
    expect(a.observe(jobBehaviour, id, heldEvent)).toBeUndefined();
  });
  it('a command delivered twice is applied once, and the second delivery is told it is done', async () => {
    const id = await submitQueued();
    const hold: JobCommand = { ...meta(), type: 'HoldJob', data: { reason: 'deadline' } };
    const first = await createEntityRuntime({ eventLog: farm.log }).execute(jobBehaviour, id, hold);
    // Another instance (no cache) gets the same command again, e.g. after a lost reply.
    const again = await createEntityRuntime({ eventLog: farm.log }).execute(jobBehaviour, id, hold);
    expect(first.ok && again.ok).toBe(true);
    if (again.ok) expect(again.duplicates).toBe(1);
    // A network-level retry of the same append (same event ids, stale condition) is a duplicate too.
    const retried = await farm.log.append('job', id, first.ok ? first.events : [], {
      expectedSeq: 0,
    });
    expect(retried.ok && retried.duplicates).toBe(1);
    const types = (await farm.log.read('job', id)).events.map((e) => e.type);
    expect(types).toEqual(['job.submitted', 'job.queued', 'job.held']);
  });

  it('keeps a bounded window of recent event ids per cached entity', async () => {
    const runtime = createEntityRuntime({ eventLog: farm.log, cache: true });
    const id = await submitQueued(runtime);
    for (let i = 0; i < RECENT_IDS + 40; i++) {
      const r = await runtime.execute(jobBehaviour, id, {
        ...meta(),
        type: 'ChangePriority',
        data: { priority: i, reason: 'deadline moved' },
      });
      expect(r.ok).toBe(true);
    }
    expect((await runtime.load(jobBehaviour, id)).eventIds.size).toBe(RECENT_IDS);
  });

  it('a cache that packs created chunks answers as one that does not: peeks, dedupe, tail, assignment', async () => {
    const packing = createEntityRuntime({
      eventLog: farm.log,
      cache: true,
      packers: { chunk: createdChunkPacker },
    });
    const plain = createEntityRuntime({ eventLog: farm.log, cache: true });
    const jobId = uid();
    const chunk = `${jobId}:0`;
    // The intake's command id: the chunk's one event id is what the packer derives from the id.
    const create = {
      ...meta(),
      id: `create:${chunk}`,
      type: 'CreateChunk' as const,
      data: { jobId, index: 0, total: 1 },
    };
    expect((await packing.execute(chunkBehaviour, chunk, create)).ok).toBe(true);
    const [event] = (await farm.log.read('chunk', chunk)).events as RecordedEvent[];
    plain.observe(chunkBehaviour, chunk, event!);
    expect(packing.peek(chunkBehaviour, chunk)).toStrictEqual(plain.peek(chunkBehaviour, chunk));
    // The tail bringing the scheduler's own append back changes nothing.
    expect(packing.observe(chunkBehaviour, chunk, event!)).toBeUndefined();
    // A re-delivered creation is recognised from the packed chunk's one event id.
    const again = await packing.execute(chunkBehaviour, chunk, create);
    expect(again.ok && again.duplicates).toBe(1);
    const request = { cpus: 1, memMb: 256, gpus: 0 };
    const assign = {
      ...meta(),
      type: 'AssignChunk' as const,
      data: { attempt: 1, node: 'n1', worker: workerId(jobId, 0, 1), request },
    };
    const placed = await packing.execute(chunkBehaviour, chunk, assign);
    expect(placed.ok && stateName(placed.state)).toBe('assigned');
    expect((await farm.log.read('chunk', chunk)).events.map((e) => e.type)).toEqual([
      'chunk.created',
      'chunk.assigned',
    ]);
    expect(packing.peek(chunkBehaviour, chunk)?.state).toStrictEqual(placed.ok && placed.state);
  });

  it('a late result from an old attempt is rejected, audited in the log, and never stored', async () => {
    const runtime = createEntityRuntime({ eventLog: farm.log });
    const jobId = uid();
    const chunk = `${jobId}:0`;
    const run = (cmd: Parameters<typeof chunkBehaviour.decide>[1]) =>
      runtime.execute(chunkBehaviour, chunk, cmd);
    const request = { cpus: 1, memMb: 256, gpus: 0 };
    await run({ ...meta(), type: 'CreateChunk', data: { jobId, index: 0, total: 1 } });
    await run({
      ...meta(),
      type: 'AssignChunk',
      data: { attempt: 1, node: 'n1', worker: workerId(jobId, 0, 1), request },
    });
    await run({ ...meta(), type: 'StartChunk', data: { attempt: 1, pid: 100 } });
    await run({
      ...meta(),
      type: 'ReportAttemptFailed',
      data: { attempt: 1, cause: 'NodeLost', confirmed: false },
    });
    await run({
      ...meta(),
      type: 'AssignChunk',
      data: { attempt: 2, node: 'n2', worker: workerId(jobId, 0, 2), request },
    });
    await run({ ...meta(), type: 'StartChunk', data: { attempt: 2, pid: 200 } });

    const late = await run({
      ...meta({ kind: 'agent', id: 'n1' }),
      type: 'ReportResult',
      data: { attempt: 1, result: { pnl: 1 } },
    });
    expect(late.ok).toBe(false);
    if (!late.ok) expect(late.rejection.code).toBe('StaleResult');
    expect((late.state.context as { result?: unknown }).result).toBeUndefined();

    const { events } = await farm.log.read('chunk', chunk);
    const audit = events.find((e) => e.type === 'chunk.result_rejected');
    expect(audit?.data).toMatchObject({ attempt: 1, currentAttempt: 2, state: 'running' });
    expect(audit?.by).toEqual({ kind: 'agent', id: 'n1' });
    expect(events.some((e) => e.type === 'chunk.succeeded')).toBe(false);
  });
});

describe('replay equals live folding', () => {
  it('100,000 events: the tail folded live, a full replay and the writers agree entity by entity', async () => {
    const jobs = 20_000; // x5 events each
    const fromSeq = (await farm.log.lastSeq()) + 1;
    const live = new Map<string, JobSnapshot>();
    const tail = farm.log.tail({ fromSeq, entity: 'job' });
    const expectedEvents = jobs * 5;
    const tailing = (async () => {
      let n = 0;
      for await (const item of tail) {
        if (isCorrupt(item)) throw item.error;
        const s = live.get(item.recorded.subject) ?? jobBehaviour.initial();
        live.set(item.recorded.subject, jobBehaviour.evolve(s, item));
        if (++n === expectedEvents) await tail.stop();
      }
    })();

    // Writers decide with the pure deciders and append with the expected sequence, 512 jobs at once.
    const written = new Map<string, JobSnapshot>();
    const tag = randomUUID().slice(0, 6);
    let next = 0;
    const lifecycle = (): JobCommand[] => [
      { ...meta(), type: 'SubmitJob', data: jobSpec({ user: `u${next % 7}` }) },
      { ...meta(), type: 'QueueJob' },
      { ...meta(), type: 'StartJob' },
      {
        ...meta(),
        type: 'RecordChunksSettled',
        data: { chunks: [{ index: 0, state: 'succeeded', quiescent: true }] },
      },
      { ...meta(), type: 'CompleteJob' },
    ];
    await Promise.all(
      Array.from({ length: 512 }, async () => {
        while (next < jobs) {
          const id = `L${tag}${next++}`;
          let state = jobBehaviour.initial();
          let lastSeq = 0;
          for (const command of lifecycle()) {
            const d = jobBehaviour.decide(state, command);
            if (!d.ok) throw new Error(d.rejection.message);
            const r = await farm.log.append('job', id, d.events, { expectedSeq: lastSeq });
            if (!r.ok) throw new Error('conflict');
            lastSeq = r.seqs[r.seqs.length - 1] as number;
            for (const e of d.events) state = jobBehaviour.evolve(state, e);
          }
          written.set(eventSubject('job', id), state);
        }
      }),
    );
    await tailing;

    const replayed = new Map<string, JobSnapshot>();
    let count = 0;
    for await (const batch of farm.log.replayBatches({ fromSeq, entity: 'job' })) {
      for (const item of batch) {
        if (isCorrupt(item)) throw item.error;
        const e = item as RecordedEvent;
        replayed.set(
          e.recorded.subject,
          jobBehaviour.evolve(replayed.get(e.recorded.subject) ?? jobBehaviour.initial(), e),
        );
        count++;
      }
    }
    expect(count).toBe(expectedEvents);
    expect(replayed.size).toBe(jobs);
    for (const [subject, state] of written) {
      expect(stateName(state)).toBe('succeeded');
      expect(toPlain(replayed.get(subject) as JobSnapshot)).toEqual(toPlain(state));
      expect(toPlain(live.get(subject) as JobSnapshot)).toEqual(toPlain(state));
    }
  }, 180_000);
});
