import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventLog } from '../../../src/events/index.js';
import {
  auditPlan,
  auditProjection,
  createProjectionRunner,
  type AuditState,
  type Projection,
} from '../../../src/projections/index.js';
import { useEventLog } from '../../support/nats-client.js';
import { appendAll } from '../../support/projection-fixture.js';
import { farmHistory, type Entry } from '../../support/projection-history.js';

const farm = useEventLog({ beforeAll, afterAll });

/** The log, with `during` run once the replay has handed out its last batch (a writer racing it). */
function racing(log: EventLog, during: () => Promise<void>): EventLog {
  return Object.assign(Object.create(log) as EventLog, {
    async *replayBatches(range: Parameters<EventLog['replayBatches']>[0]) {
      for await (const batch of log.replayBatches(range)) yield batch;
      await during();
    },
  });
}

describe('projection runner started beside a busy farm', () => {
  it('folds an event appended while it was catching up (the lost `audit JOB` of issue 21)', async () => {
    const tag = `r${randomUUID().slice(0, 6)}`;
    await appendAll(farm.log, farmHistory(3, { jobs: 3, tag }));
    const late: Entry[] = farmHistory(4, { jobs: 1, tag: `${tag}x` }).slice(0, 1);
    const lateSubject = `drover.ev.${late[0]!.entity}.${late[0]!.id}`;
    let lateSeq = 0;
    const log = racing(farm.log, async () => {
      if (lateSeq === 0) lateSeq = (await appendAll(farm.log, late))[0]!;
    });
    const runner = createProjectionRunner({
      log,
      projections: [auditProjection as Projection<unknown>],
    });
    await runner.start();
    runner.tail();
    await runner.waitFor(lateSeq, 5_000);
    await runner.stop();
    const plan = auditPlan(runner.state<AuditState>('audit'), late[0]!.id);
    expect(plan.subjects).toContain(lateSubject);
    expect(plan.seqs).toContain(lateSeq);
  });
});
