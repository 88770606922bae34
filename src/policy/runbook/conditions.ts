import type { RunbookCondition } from '../../events/index.js';
import { fill } from './templates.js';

/** What the shell read of the node or job a condition names (undefined: it does not exist). */
export interface ConditionFacts {
  readonly node?: { readonly state: string; readonly workers: number; readonly usedCpus: number };
  readonly job?: { readonly state: string; readonly clearBlockers?: readonly string[] };
}

/** Whether a condition holds, and why not when it does not (shown while waiting). */
export interface ConditionVerdict {
  readonly holds: boolean;
  readonly why: string;
}

/**
 * Evaluate a runbook condition (targets already filled in) on what was read. Pure. Every part
 * must hold: the state is one of `state`; a node is `idle` (no worker and no CPU in use); a job
 * is `clearable` (clear's plan names no blocker).
 */
export function evaluateCondition(c: RunbookCondition, facts: ConditionFacts): ConditionVerdict {
  const name = c.node !== undefined ? `node ${c.node}` : `job ${c.job}`;
  const subject = c.node !== undefined ? facts.node : facts.job;
  if (!subject) return { holds: false, why: `${name} does not exist` };
  const problems: string[] = [];
  if (c.state && !c.state.includes(subject.state))
    problems.push(`is ${subject.state}, not ${c.state.join('|')}`);
  if (c.idle && facts.node && (facts.node.workers > 0 || facts.node.usedCpus > 0))
    problems.push(`still has ${facts.node.workers} worker(s)`);
  if (c.clearable && facts.job) {
    const blockers = facts.job.clearBlockers ?? ['clear plan unknown'];
    if (blockers.length) problems.push(`not clearable: ${blockers.join('; ')}`);
  }
  return problems.length
    ? { holds: false, why: `${name} ${problems.join(', ')}` }
    : { holds: true, why: `${name} ${describeCondition(c)}` };
}

/** A condition in words: `is drained|cordoned, idle`. Pure. */
export function describeCondition(c: RunbookCondition): string {
  const parts: string[] = [];
  if (c.state) parts.push(`is ${c.state.join('|')}`);
  if (c.idle) parts.push('is idle');
  if (c.clearable) parts.push('is clearable');
  return parts.join(', ');
}

/** A condition with its node or job template filled in from the run's variables. Pure. */
export function fillCondition(
  c: RunbookCondition,
  vars: Readonly<Record<string, string>>,
): RunbookCondition {
  return {
    ...c,
    ...(c.node !== undefined && { node: fill(c.node, vars) }),
    ...(c.job !== undefined && { job: fill(c.job, vars) }),
  };
}
