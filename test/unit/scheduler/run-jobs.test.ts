import { describe, expect, it } from 'vitest';
import {
  behaviours,
  stateName,
  type ChunkSnapshot,
  type JobSnapshot,
} from '../../../src/actors/index.js';
import type { Entity } from '../../../src/events/index.js';
import { creationOwed, jobCreation, unfinishedCreation } from '../../../src/scheduler/run-jobs.js';
import type { Action, Peek, RuleContext } from '../../../src/scheduler/rules.js';
import { scheduler } from '../../support/decider-spec.js';
import { jobSpec } from '../../support/events.js';

/** Entities folded in memory through their deciders, as the log would hold them. */
function model() {
  const states = new Map<string, unknown>();
  const key = (entity: Entity, id: string) => `${entity} ${id}`;
  const peek: Peek = {
    job: (id) => states.get(key('job', id)) as JobSnapshot | undefined,
    chunk: (id) => states.get(key('chunk', id)) as ChunkSnapshot | undefined,
    worker: () => undefined,
    node: () => undefined,
  };
  const apply = (a: Action) => {
    if (a.entity === 'kill') return;
    const b = behaviours[a.entity];
    const before = states.get(key(a.entity, a.id)) ?? b.initial();
    const d = b.decide(before as never, a.command as never);
    expect(d.ok, `${a.entity} ${a.id} ${a.command.type}`).toBe(true);
    let after = before;
    for (const e of d.ok ? d.events : []) after = b.evolve(after as never, e);
    states.set(key(a.entity, a.id), after);
  };
  const ctx: RuleContext = {
    peek,
    by: scheduler,
    now: 1,
    largestNode: { cpus: 4, memMb: 4096, gpus: 0 },
  };
  return { peek, apply, ctx };
}

const label = (a: Action) => (a.entity === 'kill' ? 'kill' : `${a.id} ${a.command.type}`);

/**
 * A leader killed between two appends of a pipeline job's creation (the flaky pipeline-failover
 * test): the job stayed `submitted`, or without its chunk, and its run never ended. Whatever
 * prefix of the creation landed, what is left is exactly the rest, and doing it makes the job
 * whole, never held again once it went past `submitted`.
 */
describe('unfinishedCreation and creationOwed', () => {
  const cases = [
    { what: 'a run job (held)', parent: undefined, hold: 'run r: its tasks are being decided' },
    { what: 'a task job (queued)', parent: 'run-job', hold: undefined },
    { what: 'a task job (held)', parent: 'run-job', hold: 'dependsOnPast' },
  ];
  for (const c of cases)
    it(`${c.what}: after any prefix, the rest and nothing else`, () => {
      const spec = jobSpec({ chunks: 2, ...(c.parent !== undefined && { parent: c.parent }) });
      const probe = model();
      const all = jobCreation(probe.ctx, 'j', spec, c.hold);
      for (let cut = 0; cut <= all.length; cut++) {
        const m = model();
        if (c.parent !== undefined)
          m.apply({
            entity: 'job',
            id: c.parent,
            command: { type: 'SubmitJob', id: 'submit:p', at: 0, by: scheduler, data: jobSpec({}) },
          });
        for (const a of all.slice(0, cut)) m.apply(a);
        expect(creationOwed(m.peek, 'j'), `cut ${cut}`).toBe(cut < all.length);
        const rest = unfinishedCreation(m.ctx, 'j', spec, c.hold);
        expect(rest.map(label), `cut ${cut}`).toEqual(all.slice(cut).map(label));
        for (const a of rest) m.apply(a);
        expect(creationOwed(m.peek, 'j')).toBe(false);
        expect(stateName(m.peek.job('j')!)).toBe(c.hold === undefined ? 'queued' : 'held');
      }
    });

  /** A job submitted and held with its chunk never created, then sent `type` by the scheduler. */
  function halfMadeThen(type: 'ReleaseJob' | 'RequestCancel') {
    const m = model();
    const spec = jobSpec({ chunks: 1 });
    const [submit, hold] = jobCreation(m.ctx, 'j', spec, 'wait');
    m.apply(submit!);
    m.apply(hold!);
    const id = type === 'ReleaseJob' ? 'release:j' : 'cancel:j';
    const reason = type === 'ReleaseJob' ? 'go' : 'x';
    m.apply({
      entity: 'job',
      id: 'j',
      command: { type, id, at: 2, by: scheduler, data: { reason } },
    });
    return { m, spec };
  }

  it('a held job released since is not held again, its missing chunk is still created', () => {
    const { m, spec } = halfMadeThen('ReleaseJob');
    expect(stateName(m.peek.job('j')!)).toBe('queued');
    expect(unfinishedCreation(m.ctx, 'j', spec, 'wait').map(label)).toEqual(['j:0 CreateChunk']);
  });

  it('a half made job cancelled since is owed nothing (no chunk for a cancelled job)', () => {
    const { m, spec } = halfMadeThen('RequestCancel');
    expect(stateName(m.peek.job('j')!)).toBe('cancelling');
    expect(creationOwed(m.peek, 'j')).toBe(false);
    expect(unfinishedCreation(m.ctx, 'j', spec, 'wait')).toEqual([]);
  });
});
