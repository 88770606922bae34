import { describe, expect, it } from 'vitest';
import {
  jobReasons,
  placeRound,
  type PendingReason,
  type Ranked,
  type Task,
} from '../../../src/policy/index.js';
import { node, task, vec } from '../../support/policy-arbitraries.js';

const rank = (...tasks: Task[]): Ranked[] =>
  tasks.map((t, i) => ({ task: t, dru: i / 10, rank: i }));
const codes = (rs: readonly PendingReason[] | undefined) => rs?.map((r) => r.code);
const T = Date.UTC(2030, 0, 1);

describe('pending reasons of placement', () => {
  const farm = [
    node({ id: 'n1', capacity: vec(4, 8192), labels: { zone: 'a' } }),
    node({ id: 'n2', capacity: vec(8, 16_384), labels: { zone: 'b' }, used: vec(6, 0) }),
  ];

  it('Unsatisfiable: no node could ever fit (names the largest node)', () => {
    const r = placeRound(rank(task({ request: vec(16, 1024) })), farm, 0);
    const [why] = r.waiting.get('J:0')!;
    expect(why).toMatchObject({ code: 'Unsatisfiable', details: { largestNode: 'n2' } });
    expect(why!.message).toContain('16 cpus');
    expect(why!.unblock).toMatch(/reduce the request|add a node/);
  });

  it('Resources and Priority: others ahead took the room (names the closest fit, users, dru)', () => {
    const other = task({ jobId: 'O', user: 'bob', request: vec(4, 1024) });
    const mine = task({ jobId: 'M', user: 'ann', request: vec(3, 1024) });
    const r = placeRound(rank(other, mine), farm, 0);
    const reasons = r.waiting.get('M:0')!;
    expect(codes(reasons)).toEqual(['Priority', 'Resources']);
    expect(reasons[0]).toMatchObject({ details: { users: [{ user: 'bob', dru: 0, tasks: 1 }] } });
    expect(reasons[0]!.message).toContain('bob (dru 0.000)');
    expect(reasons[1]).toMatchObject({ details: { closest: 'n2', free: vec(2, 16_384) } });
    expect(reasons.every((x) => x.unblock.length > 0)).toBe(true);
  });

  it('Constraint: labels exclude every node that would fit', () => {
    const t = task({ request: vec(6, 1024), labels: { zone: 'a' } });
    const reasons = placeRound(rank(t), farm, 0).waiting.get('J:0')!;
    expect(codes(reasons)).toEqual(['Constraint']);
    expect(reasons[0]!.message).toContain('zone=a');
  });

  it('Excluded: the nodes left after exclusions are full or absent', () => {
    const t = task({ request: vec(3, 1024), excludeNodes: ['n1'] });
    const reasons = placeRound(rank(t), farm, 0).waiting.get('J:0')!;
    expect(codes(reasons)).toEqual(['Excluded', 'Resources']);
    expect(reasons[0]).toMatchObject({ details: { excluded: ['n1'], remaining: 1 } });
    const absent = task({ request: vec(3, 1024), excludeNodes: ['n1', 'n2'] });
    expect(codes(placeRound(rank(absent), farm, 0).waiting.get('J:0'))).toEqual(['Excluded']);
  });

  it('Resources: the nodes that fit are not ready', () => {
    const down = [node({ id: 'n9', state: 'draining' })];
    const [why] = placeRound(rank(task()), down, 0).waiting.get('J:0')!;
    expect(why).toMatchObject({ code: 'Resources', details: { states: ['draining'] } });
  });

  it('Backoff: waiting out a retry backoff, even where it would fit', () => {
    const t = task({ notBefore: T + 60_000 });
    const [why, ...rest] = placeRound(rank(t), farm, T).waiting.get('J:0')!;
    expect(why).toMatchObject({ code: 'Backoff', details: { notBefore: T + 60_000 } });
    expect(why!.message).toContain('2030-01-01T00:01:00.000Z');
    expect(rest).toEqual([]);
  });

  it('lists all that apply: Backoff with Unsatisfiable', () => {
    const t = task({ notBefore: T + 1, request: vec(64, 1) });
    expect(codes(placeRound(rank(t), farm, T).waiting.get('J:0'))).toEqual([
      'Backoff',
      'Unsatisfiable',
    ]);
  });
});

describe('jobReasons', () => {
  it('Held: who and why', () => {
    expect(jobReasons({ held: { by: 'ops', reason: 'disk full' }, after: [] })).toEqual([
      {
        code: 'Held',
        message: 'held by ops: disk full',
        unblock: 'release the job',
        details: { by: 'ops', reason: 'disk full' },
      },
    ]);
  });

  it('Dependency names the jobs and their states; DependencyFailed says it will never run', () => {
    const after = [
      { jobId: 'a', state: 'running' },
      { jobId: 'b', state: 'succeeded' },
      { jobId: 'c', state: 'queued' },
    ];
    const [dep] = jobReasons({ after });
    expect(dep).toMatchObject({
      code: 'Dependency',
      message: 'waiting on a (running), c (queued)',
    });
    const failed = jobReasons({ after: [...after, { jobId: 'd', state: 'failed' }] });
    expect(codes(failed)).toEqual(['DependencyFailed', 'Dependency']);
    expect(failed[0]!.message).toContain('never run');
    expect(jobReasons({ after: [{ jobId: 'b', state: 'succeeded' }] })).toEqual([]);
  });

  it('BeginTime, Schedule, Quota and Reservation, each with what unblocks it', () => {
    const reasons = jobReasons({
      after: [],
      now: T,
      beginAt: T + 1000,
      schedule: { expression: '0 6 * * MON-FRI', nextAt: T + 2000 },
      quotas: [{ scope: 'user', name: 'ann', limit: 'gpus', used: 8, max: 8 }],
      reservations: [
        { id: 'r1', until: T + 5000, holders: ['bob'] },
        { id: 'r0', until: T - 1, holders: ['cy'] },
      ],
    });
    expect(codes(reasons)).toEqual(['BeginTime', 'Schedule', 'Quota', 'Reservation']);
    expect(reasons[2]!.message).toBe('user ann reached its gpus limit (8 of 8)');
    expect(reasons.every((r) => r.unblock.length > 0)).toBe(true);
    expect(jobReasons({ after: [], now: T, beginAt: T })).toEqual([]);
  });
});
