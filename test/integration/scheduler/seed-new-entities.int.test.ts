import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkBehaviour, createEntityRuntime, stateName } from '../../../src/actors/index.js';
import { chunkId, type Actor } from '../../../src/events/index.js';
import { seedIfUnknown, type EntityAction } from '../../../src/scheduler/entity-view.js';
import { uid } from '../../support/events.js';
import { useEventLog } from '../../support/nats-client.js';

const farm = useEventLog({ beforeAll, afterAll });
const by: Actor = { kind: 'scheduler', id: 'sched-seed', epoch: 1 };

const create = (jobId: string, index: number): EntityAction => ({
  entity: 'chunk',
  id: chunkId(jobId, index),
  command: {
    type: 'CreateChunk',
    id: `create:${jobId}:${index}`,
    at: Date.now(),
    by,
    data: { jobId, index, total: 2 },
  },
});

describe("the scheduler's seed of entities a submission creates (no read per new chunk)", () => {
  it('a new chunk is created without reading its empty subject', async () => {
    const runtime = createEntityRuntime({ eventLog: farm.log, cache: true });
    const a = create(uid('j'), 0);
    seedIfUnknown(runtime, a);
    expect(runtime.peek(chunkBehaviour, a.id)?.lastSeq).toBe(0);
    const r = await runtime.execute(chunkBehaviour, a.id, a.command as never);
    expect(r.ok && r.events.map((e) => e.type)).toEqual(['chunk.created']);
    expect((await farm.log.read('chunk', a.id)).events).toHaveLength(1);
  });

  it('a seed that was wrong (the chunk exists: a re-delivered submission) conflicts, reads and writes nothing twice', async () => {
    const jobId = uid('j');
    const a = create(jobId, 1);
    const first = createEntityRuntime({ eventLog: farm.log, cache: true });
    await first.execute(chunkBehaviour, a.id, a.command as never);
    // Another life of the scheduler that has not folded it yet: its cache misses.
    const second = createEntityRuntime({ eventLog: farm.log, cache: true });
    seedIfUnknown(second, a);
    const r = await second.execute(chunkBehaviour, a.id, a.command as never);
    expect(r.ok).toBe(true);
    expect((await farm.log.read('chunk', a.id)).events).toHaveLength(1);
    expect(stateName(second.peek(chunkBehaviour, a.id)!.state)).toBe('pending');
    // A different command id on the existing chunk is decided on its real state, not the seed.
    const again = { ...a.command, id: `create:${jobId}:1:${randomUUID()}` };
    seedIfUnknown(second, a);
    const r2 = await second.execute(chunkBehaviour, a.id, again as never);
    expect(r2.ok).toBe(false);
    const types = (await farm.log.read('chunk', a.id)).events.map((e) => e.type);
    expect(types.filter((t) => t === 'chunk.created')).toHaveLength(1);
  });

  it('a known entity is never replaced by a seed', async () => {
    const runtime = createEntityRuntime({ eventLog: farm.log, cache: true });
    const a = create(uid('j'), 0);
    await runtime.execute(chunkBehaviour, a.id, a.command as never);
    const before = runtime.peek(chunkBehaviour, a.id);
    seedIfUnknown(runtime, a);
    expect(runtime.peek(chunkBehaviour, a.id)).toBe(before);
  });
});
