import { readFileSync } from 'node:fs';

/**
 * `node --max-old-space-size=4096 --import tsx bench/heap-diff.ts A.heapsnapshot B.heapsnapshot
 * [N]` (issue 23 point 7): what grew between two heap snapshots of one process, by constructor
 * (objects, closures, arrays: their V8 name; strings and numbers by kind), as count and self
 * size; then, for the N (default 8) groups that grew most, what holds them in B (retainer group
 * and edge name). Prints JSON. Snapshots from `--heapsnapshot-signal` collect garbage first.
 */
interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[]];
      edge_fields: string[];
      edge_types: [string[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Parsed {
  readonly s: Snapshot;
  readonly nf: number;
  readonly groupOf: (node: number) => string;
}

const BY_KIND = new Set(['string', 'concatenated string', 'sliced string', 'number', 'code']);

function parse(path: string): Parsed {
  const s = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const { node_fields, node_types } = s.snapshot.meta;
  const nf = node_fields.length;
  const typeAt = node_fields.indexOf('type');
  const nameAt = node_fields.indexOf('name');
  const types = node_types[0];
  const groupOf = (node: number) => {
    const type = types[s.nodes[node + typeAt] as number] ?? '?';
    if (BY_KIND.has(type)) return `(${type})`;
    return `${type}:${s.strings[s.nodes[node + nameAt] as number] ?? '?'}`;
  };
  return { s, nf, groupOf };
}

function totals(p: Parsed): Map<string, { count: number; bytes: number }> {
  const sizeAt = p.s.snapshot.meta.node_fields.indexOf('self_size');
  const out = new Map<string, { count: number; bytes: number }>();
  for (let n = 0; n < p.s.nodes.length; n += p.nf) {
    const g = p.groupOf(n);
    const t = out.get(g) ?? { count: 0, bytes: 0 };
    t.count++;
    t.bytes += p.s.nodes[n + sizeAt] as number;
    out.set(g, t);
  }
  return out;
}

/** For nodes of `groups`: what retains them (retainer group . edge name), counted. */
function retainers(p: Parsed, groups: ReadonlySet<string>): Map<string, Map<string, number>> {
  const { node_fields, edge_fields, edge_types } = p.s.snapshot.meta;
  const ef = edge_fields.length;
  const countAt = node_fields.indexOf('edge_count');
  const [typeAt, nameAt, toAt] = ['type', 'name_or_index', 'to_node'].map((f) =>
    edge_fields.indexOf(f),
  ) as [number, number, number];
  const out = new Map<string, Map<string, number>>();
  let e = 0;
  for (let n = 0; n < p.s.nodes.length; n += p.nf) {
    const from = p.groupOf(n);
    const count = p.s.nodes[n + countAt] as number;
    for (let i = 0; i < count; i++, e += ef) {
      const to = p.s.edges[e + toAt] as number;
      const target = p.groupOf(to);
      if (!groups.has(target)) continue;
      const type = edge_types[0][p.s.edges[e + typeAt] as number];
      if (type === 'weak') continue;
      const raw = p.s.edges[e + nameAt] as number;
      const name =
        type === 'element' || type === 'hidden' ? '[]' : (p.s.strings[raw] ?? String(raw));
      const key = `${from} .${name}`;
      const m = out.get(target) ?? new Map<string, number>();
      m.set(key, (m.get(key) ?? 0) + 1);
      out.set(target, m);
    }
  }
  return out;
}

const [aPath, bPath, topArg] = process.argv.slice(2);
if (!aPath || !bPath) throw new Error('usage: heap-diff.ts A.heapsnapshot B.heapsnapshot [N]');
const a = totals(parse(aPath));
const pb = parse(bPath);
const b = totals(pb);
const grown = [...b]
  .map(([g, t]) => {
    const was = a.get(g) ?? { count: 0, bytes: 0 };
    return { group: g, count: t.count - was.count, kb: Math.round((t.bytes - was.bytes) / 1024) };
  })
  .filter((x) => x.kb > 0 || x.count > 0)
  .sort((x, y) => y.kb - x.kb)
  .slice(0, 40);
const sum = (m: Map<string, { bytes: number }>) =>
  Math.round([...m.values()].reduce((s, t) => s + t.bytes, 0) / 1024);
const top = new Set(grown.slice(0, Number(topArg ?? 8)).map((x) => x.group));
const held = retainers(pb, top);
console.log(
  JSON.stringify(
    {
      heapKb: { a: sum(a), b: sum(b) },
      grown,
      heldBy: Object.fromEntries(
        [...held].map(([g, m]) => [
          g,
          Object.fromEntries([...m].sort((x, y) => y[1] - x[1]).slice(0, 8)),
        ]),
      ),
    },
    null,
    1,
  ),
);
