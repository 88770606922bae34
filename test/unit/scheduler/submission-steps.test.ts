import { describe, expect, it } from 'vitest';
import { submissionSteps } from '../../../src/scheduler/work-messages.js';
import type { Peek, RuleContext } from '../../../src/scheduler/rules.js';
import { scheduler } from '../../support/decider-spec.js';
import { jobSpec } from '../../support/events.js';

const peek: Peek = {
  job: () => undefined,
  chunk: () => undefined,
  worker: () => undefined,
  node: () => undefined,
};
const ctx: RuleContext = {
  peek,
  by: scheduler,
  now: 1,
  largestNode: { cpus: 1, memMb: 256, gpus: 0 },
};
const types = (steps: ReturnType<typeof submissionSteps>['first']) =>
  steps.map((a) =>
    a.entity === 'kill' ? 'kill' : `${a.entity} ${a.id} ${(a.command as { type: string }).type}`,
  );

/**
 * Regression of the chaos run (issue 23 point 3): children left `submitted` for ever when their
 * parent ended between the child's `job.submitted` and the parent's `child_added`. The parent
 * is bound first, so a parent that ended refuses the child before anything of it is written.
 */
describe('submissionSteps', () => {
  it("binds a child to its parent before the child's own job.submitted", () => {
    const { first, chunks } = submissionSteps(ctx, 'j9', jobSpec({ parent: 'j8', chunks: 2 }));
    expect(types(first)).toEqual(['job j8 AddChild', 'job j9 SubmitJob', 'job j9 QueueJob']);
    expect(types(chunks)).toEqual(['chunk j9:0 CreateChunk', 'chunk j9:1 CreateChunk']);
  });

  it('takes in a job without a parent as before', () => {
    const { first } = submissionSteps(ctx, 'j9', jobSpec({}));
    expect(types(first)).toEqual(['job j9 SubmitJob', 'job j9 QueueJob']);
  });
});
