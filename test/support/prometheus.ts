import { spawnSync } from 'node:child_process';

/**
 * The exposition text checked by Prometheus's own parser: `promtool check metrics` (Debian
 * package `prometheus`, installed by .ci/run). Parse errors fail; lint problems fail too when
 * they name a Drover metric (`drover_*`). The client library's default `nodejs_*` gauges are
 * named `..._total` and promtool lints them; they are prom-client's, not ours (CONTRACT allows
 * them), so those are returned, not thrown.
 */
export function promtoolCheck(text: string): string[] {
  const bin = process.env.PROMTOOL ?? 'promtool';
  const r = spawnSync(bin, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error)
    throw new Error(
      `${bin} not found: apt-get install prometheus (it ships promtool), or set PROMTOOL`,
    );
  const problems = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
  if (r.status !== 0 && r.status !== 3) throw new Error(`promtool: ${problems.join('; ')}`);
  const ours = problems.filter((l) => l.startsWith('drover_') || !/^[a-z_:]+ /.test(l));
  if (ours.length > 0) throw new Error(`promtool lint: ${ours.join('; ')}`);
  return problems;
}

/** One sample line of the text format: name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of a page that promtool accepted (comments skipped). */
export function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of `name`'s samples whose labels include `labels` (0 when none). */
export function valueOf(text: string, name: string, labels: Record<string, string> = {}): number {
  return samples(text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** GET a metrics page; its content type must be the text format's. */
export async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/plain; version=0.0.4'))
    throw new Error(`${url}: content type ${type}`);
  return res.text();
}
