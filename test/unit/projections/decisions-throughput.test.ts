import { describe, expect, it } from 'vitest';
import {
  decisionsAt,
  decisionsProjection,
  throughput,
  throughputProjection,
} from '../../../src/projections/index.js';
import { handLog } from '../../support/projection-log.js';

const T = Date.UTC(2026, 0, 5, 9, 0, 0);
const req = { cpus: 1, memMb: 64, gpus: 0 };

describe('decisions projection', () => {
  it('answers "why was it pending at 09:14" and shows the placement after it', () => {
    const log = handLog();
    log.add('job', 'J', T + 10 * 60_000, 'job.pending_noted', {
      reasons: [{ code: 'Priority', message: 'bob is ahead', unblock: 'wait' }],
      rank: 3,
      queueLength: 7,
      ahead: [{ user: 'bob', dru: 0.25 }],
    });
    log.add('chunk', 'J:0', T + 20 * 60_000, 'chunk.assigned', {
      attempt: 1,
      node: 'n2',
      worker: 'J:0:1',
      request: req,
      decision: { dru: 0.3, rank: 0, skipped: [{ node: 'n1', reason: 'full' }] },
    });
    const s = log.fold(decisionsProjection);
    const at914 = decisionsAt(s, 'J', T + 14 * 60_000);
    expect(at914.waiting).toMatchObject({
      seq: 1,
      rank: 3,
      queueLength: 7,
      ahead: [{ user: 'bob', dru: 0.25 }],
    });
    expect(at914.waiting?.reasons[0]?.code).toBe('Priority');
    expect(at914.placed).toBeNull();
    const later = decisionsAt(s, 'J');
    expect(later.waiting).toBeNull();
    expect(later.placed).toMatchObject({
      node: 'n2',
      dru: 0.3,
      rank: 0,
      skipped: [{ node: 'n1', reason: 'full' }],
      seq: 2,
    });
    expect(decisionsAt(s, 'J', T).entries).toEqual([]);
  });
});

describe('throughput projection', () => {
  it('counts completed chunks per minute per node and per worker, from the current assignment', () => {
    const log = handLog();
    const done = (chunk: string, node: string, attempt: number, at: number) => {
      log.add('chunk', chunk, at - 1000, 'chunk.assigned', {
        attempt,
        node,
        worker: `${chunk}:${attempt}`,
        request: req,
      });
      log.add('chunk', chunk, at, 'chunk.succeeded', { attempt });
    };
    done('A:0', 'n1', 1, T + 5_000);
    done('A:1', 'n1', 1, T + 50_000);
    done('A:2', 'n2', 1, T + 65_000);
    log.add('chunk', 'B:0', T, 'chunk.assigned', {
      attempt: 1,
      node: 'n1',
      worker: 'B:0:1',
      request: req,
    });
    log.add('chunk', 'B:0', T + 1, 'chunk.assigned', {
      attempt: 2,
      node: 'n2',
      worker: 'B:0:2',
      request: req,
    });
    log.add('chunk', 'B:0', T + 70_000, 'chunk.succeeded', { attempt: 2 });
    const s = log.fold(throughputProjection);
    expect(throughput(s, { by: 'node' })).toEqual([
      { key: 'n1', total: 2, buckets: [{ minute: T, count: 2 }] },
      { key: 'n2', total: 2, buckets: [{ minute: T + 60_000, count: 2 }] },
    ]);
    expect(throughput(s, { by: 'worker' }).map((x) => x.key)).toEqual([
      'A:0:1',
      'A:1:1',
      'A:2:1',
      'B:0:2',
    ]);
    expect(throughput(s, { by: 'node', since: T + 60_000 }).map((x) => x.key)).toEqual(['n2']);
  });

  it('keeps only 24 h of minute buckets (bounded memory), node totals forever', () => {
    const log = handLog();
    for (let h = 0; h < 30; h++) {
      log.add('chunk', `C:${h}`, T + h * 3_600_000, 'chunk.assigned', {
        attempt: 1,
        node: 'n1',
        worker: `C:${h}:1`,
        request: req,
      });
      log.add('chunk', `C:${h}`, T + h * 3_600_000 + 1, 'chunk.succeeded', { attempt: 1 });
    }
    const s = log.fold(throughputProjection);
    const [n1] = throughput(s, { by: 'node' });
    expect(n1?.total).toBe(30);
    expect(n1!.buckets.length).toBeLessThanOrEqual(25);
  });
});
