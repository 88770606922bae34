/**
 * Runbooks (issue 20), pure: validation of a runbook file with every problem named by its path,
 * templates (`{{name}}`), durations, and the conditions a `wait` or `when` checks on facts the
 * shell read through the API.
 */
export { matchesPattern, parseRunbook, runbookProblems } from './runbook-file.js';
export type { ParsedRunbook } from './runbook-file.js';
export { durationMs, fill, variablesOf } from './templates.js';
export { describeCondition, evaluateCondition, fillCondition } from './conditions.js';
export type { ConditionFacts, ConditionVerdict } from './conditions.js';
