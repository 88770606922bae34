import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { samples, scrape } from '../../support/prometheus.js';
import { startUp, type UpProcess } from '../../support/up-process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RULES = join(import.meta.dirname, '../../../deploy/prometheus/drover.rules.yml');

interface RuleFile {
  groups: { name: string; rules: { alert: string; expr: string; for?: string }[] }[];
}

/** The Drover metric names an expression uses (`drover_*`, histogram suffixes included). */
const metricsIn = (expr: string): string[] => [
  ...new Set([...expr.matchAll(/\bdrover_[a-z0-9_]+\b/g)].map((m) => m[0])),
];

/**
 * deploy/prometheus/drover.rules.yml: Prometheus's own checker accepts it, it has a rule for
 * each of Drover's built-in alerts that a metric can carry, and every metric its expressions
 * use is on the /metrics page of a real `drover up` (scheduler, API, agents and farm gauges
 * merged) — so a renamed metric breaks this test, not a site's paging.
 */
describe('Prometheus alerting rules', () => {
  let up: UpProcess;
  beforeAll(async () => {
    up = await startUp(['--nodes', '1']);
    await up.firstLine;
  }, 90_000);
  afterAll(async () => {
    await up?.cleanup();
  }, 30_000);

  it('passes promtool check rules', () => {
    const bin = process.env.PROMTOOL ?? 'promtool';
    const r = spawnSync(bin, ['check', 'rules', RULES], { encoding: 'utf8' });
    if (r.error)
      throw new Error(
        `${bin} not found: apt-get install prometheus (it ships promtool), or set PROMTOOL`,
      );
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: 4 rules found/);
  });

  it('covers the built-in alerts, using only metrics a real scrape of drover up has', async () => {
    const file = parseYaml(readFileSync(RULES, 'utf8')) as RuleFile;
    const rules = file.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert).sort()).toEqual([
      'DroverNoSchedulerLeading',
      'DroverNodeLost',
      'DroverNodesSwapping',
      'DroverQueueWaitHigh',
    ]);
    const used = [...new Set(rules.flatMap((r) => metricsIn(r.expr)))].sort();
    expect(used).toEqual(expect.arrayContaining(['drover_farm_nodes', 'drover_scheduler_leader']));
    const url = `http://127.0.0.1:${up.env.DROVER_HTTP_PORT}/metrics`;
    // The agent's first node reading (swap rates) lands within a sampling period of its start.
    let names = new Set<string>();
    for (let i = 0; i < 150; i++) {
      names = new Set(samples(await scrape(url).catch(() => '')).map((s) => s.name));
      if (used.every((m) => names.has(m))) break;
      await sleep(200);
    }
    expect(used.filter((m) => !names.has(m))).toEqual([]);
  }, 60_000);
});
