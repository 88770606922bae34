import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

/**
 * The folder import graph of `src` (DESIGN.md "The house"), read from the source text: every
 * static `import`/`export ... from` and dynamic `import('...')` of a relative path. A folder is a
 * top-level folder of `src` (the pure policy, `policy`, included: the projections and the
 * scheduler both use it, and its calendars are one node with it).
 */
export type FolderGraph = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

const STATIC =
  /(?:^|[\n;])\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/g;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every relative module a source text imports or re-exports. */
export function importsOf(text: string): string[] {
  const found = [...text.matchAll(STATIC), ...text.matchAll(DYNAMIC)].map((m) => m[1] as string);
  return found.filter((s) => s.startsWith('.'));
}

/** The folder node of a path relative to `src` (`policy/calendar/sessions.ts` → `policy`). */
export function folderOf(pathInSrc: string): string {
  const parts = pathInSrc.split(sep).join('/').split('/');
  return parts.length > 1 ? (parts[0] as string) : '.';
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.ts$/.test(e.name) ? [p] : [];
  });
}

/** The graph: folder → imported folder → the files that make the edge (`a.ts -> b.js`). */
export function folderGraph(srcDir: string): FolderGraph {
  const graph = new Map<string, Map<string, string[]>>();
  for (const file of sources(srcDir)) {
    const from = folderOf(relative(srcDir, file));
    const edges = graph.get(from) ?? new Map<string, string[]>();
    graph.set(from, edges);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = relative(srcDir, normalize(join(dirname(file), spec)));
      const to = folderOf(target);
      if (to === from) continue;
      edges.set(to, [...(edges.get(to) ?? []), `${relative(srcDir, file)} -> ${target}`]);
    }
  }
  return graph;
}

/** A cycle of folders (`[a, b, a]`), or undefined when the graph has none. */
export function findCycle(graph: FolderGraph): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of [...(graph.get(node)?.keys() ?? [])].sort()) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of [...graph.keys()].sort()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

/** One `from -> to` line per edge, sorted (how the graph is printed and recorded). */
export function edgeLines(graph: FolderGraph): string[] {
  return [...graph]
    .flatMap(([from, edges]) => [...edges.keys()].map((to) => `${from} -> ${to}`))
    .sort();
}
