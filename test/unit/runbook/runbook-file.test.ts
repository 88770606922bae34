import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  evaluateCondition,
  fill,
  fillCondition,
  parseRunbook,
} from '../../../src/policy/runbook/index.js';

const base = {
  name: 'probe',
  summary: 'a probe',
  args: [{ name: 'node' }],
  steps: [
    { id: 'look', kind: 'show', query: 'node', of: '{{node}}' },
    { id: 'why', kind: 'ask', question: 'why?', pattern: '[a-z]+', default: 'disk' },
    { id: 'drain', kind: 'act', op: 'node.drain', target: '{{node}}', reason: '{{why}}' },
    { id: 'idle', kind: 'wait', until: { node: '{{node}}', idle: true }, timeout: '10m' },
  ],
};
const issues = (input: unknown) => {
  const r = parseRunbook(input);
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
};
const withStep = (i: number, change: Record<string, unknown>) => ({
  ...base,
  steps: base.steps.map((s, j) => (j === i ? { ...s, ...change } : s)),
});

describe('runbook files (validated with the offending path named)', () => {
  it('accepts a good file and fills in the defaults', () => {
    const r = parseRunbook(base);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.runbook.steps[2]).toMatchObject({ dangerous: false });
    expect(r.runbook.steps[3]).toMatchObject({ every: '1s', onTimeout: 'abort' });
  });

  it('names the path of every problem', () => {
    expect(issues(withStep(3, { timeout: 'ten minutes' }))).toEqual([
      'steps[3].timeout: a duration: 30s, 10m, 1h',
    ]);
    expect(issues(withStep(0, { kind: 'peek' }))[0]).toMatch(/^steps\[0\]\.kind: /);
    expect(issues(withStep(2, { op: 'node.reboot' }))[0]).toMatch(/^steps\[2\]\.op: /);
    expect(issues(withStep(2, { extra: 1 }))[0]).toMatch(/^steps\[2\]: .*extra/);
    expect(issues({ ...base, steps: [] })[0]).toMatch(/^steps: /);
  });

  it('refuses templates naming nothing known, or answers not yet given', () => {
    expect(issues(withStep(2, { target: '{{nod}}' }))).toEqual([
      'steps[2].target: {{nod}} is neither an argument nor an earlier answer',
    ]);
    // `why` is answered at step 1: step 0 cannot use it yet.
    expect(issues(withStep(0, { of: '{{why}}' }))).toEqual([
      'steps[0].of: {{why}} is neither an argument nor an earlier answer',
    ]);
  });

  it('refuses cross-field mistakes: ids, patterns, defaults, queries, conditions', () => {
    expect(issues(withStep(1, { id: 'look' }))).toContain(
      'steps[1].id: look is already a step id or an argument',
    );
    expect(issues(withStep(1, { pattern: '(' }))).toEqual([
      'steps[1].pattern: not a regular expression',
    ]);
    expect(issues(withStep(1, { default: 'DISK' }))).toEqual([
      'steps[1].default: does not match the pattern [a-z]+',
    ]);
    expect(issues(withStep(0, { of: undefined }))).toEqual([
      'steps[0].of: the node query needs the job or node it is about',
    ]);
    expect(issues(withStep(3, { until: { node: 'n1', job: 'j1', idle: true } }))).toEqual([
      'steps[3].until: name exactly one of node or job',
    ]);
    expect(issues(withStep(3, { until: { job: 'j1', idle: true } }))).toEqual([
      'steps[3].until: idle is for a node',
    ]);
  });

  it('every shipped runbook is valid', () => {
    const dir = join(import.meta.dirname, '../../../runbooks');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.sort()).toEqual([
      'clear-simulation.yaml',
      'drain-and-repair.yaml',
      'update-agent.yaml',
    ]);
    for (const f of files)
      expect(issues(parseYaml(readFileSync(join(dir, f), 'utf8'))), f).toEqual([]);
  });
});

describe('templates and conditions', () => {
  it('fills known names and leaves unknown ones as written', () => {
    expect(fill('drain {{node}} ({{ why }}) {{nope}}', { node: 'n1', why: 'disk' })).toBe(
      'drain n1 (disk) {{nope}}',
    );
  });

  it('a condition is filled in before it is told (it once said "node {{node}} is idle")', () => {
    const c = fillCondition({ node: '{{node}}', idle: true }, { node: 'n2' });
    expect(evaluateCondition(c, { node: { state: 'drained', workers: 0, usedCpus: 0 } })).toEqual({
      holds: true,
      why: 'node n2 is idle',
    });
  });

  it('a condition says why it does not hold', () => {
    const c = { node: 'n1', state: ['drained'], idle: true as const };
    expect(evaluateCondition(c, {})).toEqual({ holds: false, why: 'node n1 does not exist' });
    expect(evaluateCondition(c, { node: { state: 'draining', workers: 2, usedCpus: 2 } }).why).toBe(
      'node n1 is draining, not drained, still has 2 worker(s)',
    );
    expect(
      evaluateCondition(c, { node: { state: 'drained', workers: 0, usedCpus: 0 } }).holds,
    ).toBe(true);
    const j = { job: 'j1', clearable: true as const };
    expect(
      evaluateCondition(j, { job: { state: 'cancelling', clearBlockers: ['j2 is running'] } }).why,
    ).toBe('job j1 not clearable: j2 is running');
  });
});
