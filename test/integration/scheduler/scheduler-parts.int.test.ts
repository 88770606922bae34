import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEntityRuntime,
  jobBehaviour,
  type CommandMeta,
  type NodeSnapshot,
} from '../../../src/actors/index.js';
import { heartbeatSubject, type Actor, type RecordedEvent } from '../../../src/events/index.js';
import { followLog } from '../../../src/scheduler/catch-up.service.js';
import type { Change } from '../../../src/scheduler/entity-view.js';
import { FarmIndex } from '../../../src/scheduler/farm-index.js';
import { NodeWatch } from '../../../src/scheduler/node-watch.service.js';
import type { Peek, RuleContext } from '../../../src/scheduler/rules.js';
import { jobSpec, uid } from '../../support/events.js';
import { useEventLog } from '../../support/nats-client.js';

const farm = useEventLog({ beforeAll, afterAll });
const logger = pino({ level: 'silent' });
const by: Actor = { kind: 'scheduler', id: 'sched-t', epoch: 1 };
const meta = (): CommandMeta => ({ id: randomUUID(), at: Date.now(), by });

async function until(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((r) => setTimeout(r, 10));
}

describe('the node watch (heartbeats on a real server)', () => {
  it('a node heard lately lives; a node never heard is lost once the silence is long enough', async () => {
    let now = 1_000_000;
    const watch = new NodeWatch(() => now, 10_000);
    watch.listen(farm.nc);
    const [heard, silent] = [uid('N'), uid('N')];
    const index = new FarmIndex(3600);
    const ready = { value: 'ready', context: {} } as unknown as NodeSnapshot;
    index.node(heard, ready);
    index.node(silent, ready);
    const peek = { node: () => ready } as unknown as Peek;
    const ctx = (): RuleContext => ({ peek, by, now, largestNode: { cpus: 1, memMb: 1, gpus: 0 } });
    // The watch sees both nodes now (a node never heard is timed from when it is first seen).
    expect(watch.check(ctx(), index).filter((a) => a.entity === 'node')).toEqual([]);
    now += 20_000;
    farm.nc.publish(heartbeatSubject(heard), JSON.stringify({ node: heard, workers: [] }));
    farm.nc.publish(heartbeatSubject(heard), 'not json'); // no sign of life, no failure either
    // The watch's own clock says when it heard: poll until it has.
    await until(() =>
      watch.check(ctx(), index).every((a) => a.entity !== 'node' || a.id !== heard),
    );
    const lost = watch.check(ctx(), index).filter((a) => a.entity === 'node');
    expect(lost.map((a) => a.id)).toEqual([silent]);
    watch.stop();
  });
});

describe('catch-up (followLog on a real server)', () => {
  it('folds every event up to the log end before caughtUp resolves, then follows live', async () => {
    const runtime = createEntityRuntime({ eventLog: farm.log });
    const writer = createEntityRuntime({ eventLog: farm.log });
    const before = uid('J');
    await writer.execute(jobBehaviour, before, {
      ...meta(),
      type: 'SubmitJob',
      data: jobSpec({ user: 'ann' }),
    });
    const changes: Change[] = [];
    const events: RecordedEvent[] = [];
    const f = await followLog({
      eventLog: farm.log,
      runtime,
      changed: (c) => changes.push(c),
      event: (e) => events.push(e),
      logger,
    });
    await f.caughtUp;
    const submitted = changes.find((c) => c.entity === 'job' && c.id === before);
    expect(submitted?.seq).toBe(
      events.find((e) => e.recorded.subject.endsWith(before))?.recorded.seq,
    );
    expect(runtime.peek(jobBehaviour, before)?.state.context.spec?.user).toBe('ann');
    const after = uid('J');
    await writer.execute(jobBehaviour, after, { ...meta(), type: 'SubmitJob', data: jobSpec() });
    await until(() => changes.some((c) => c.id === after));
    await f.stop();
  });
});
