import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  edgeLines,
  findCycle,
  folderGraph,
  importsOf,
  type FolderGraph,
} from '../support/folder-graph.js';

/**
 * DESIGN.md's rules for the house, on the folder import graph of `src` (parsed from the
 * sources, so a new import that breaks one fails here with the file that made the edge).
 */
const graph = folderGraph(join(import.meta.dirname, '../../src'));

/** Pure folders (DESIGN: no NATS, no clock, no process): they may import only pure folders. */
const PURE = ['events', 'actors', 'projections', 'policy'];

/** The edges out of `from`, as `to: [files]`. */
const edgesOf = (g: FolderGraph, from: string) => Object.fromEntries(g.get(from) ?? []);

/** Who imports `folder`, with the files that do. */
const importersOf = (g: FolderGraph, folder: string) =>
  Object.fromEntries(
    [...g].flatMap(([from, edges]) => (edges.has(folder) ? [[from, edges.get(folder)]] : [])),
  );

describe('the folder import graph of src (DESIGN.md "The house")', () => {
  it('has no cycle', () => {
    expect(findCycle(graph), edgeLines(graph).join('\n')).toBeUndefined();
  });

  it('nothing imports cli', () => {
    expect(importersOf(graph, 'cli')).toEqual({});
  });

  it('nothing imports dashboard, except the cli that starts it (drover up, drover dashboard)', () => {
    const importers = importersOf(graph, 'dashboard');
    expect(Object.keys(importers)).toEqual(Object.keys(importers).length ? ['cli'] : []);
  });

  it('the node agent never imports the scheduler (they meet only on subjects)', () => {
    const { scheduler } = edgesOf(graph, 'node-agent');
    expect(scheduler).toBeUndefined();
  });

  it.each(PURE)('pure folder %s imports only pure folders', (folder) => {
    const impure = Object.fromEntries(
      Object.entries(edgesOf(graph, folder)).filter(([to]) => !PURE.includes(to)),
    );
    expect(impure).toEqual({});
  });

  it('the checks themselves: a cycle is found, and imports are read in every form', () => {
    const cyclic: FolderGraph = new Map([
      ['a', new Map([['b', ['a/x.ts -> b/y.ts']]])],
      ['b', new Map([['c', ['b/y.ts -> c/z.ts']]])],
      ['c', new Map([['a', ['c/z.ts -> a/x.ts']]])],
    ]);
    expect(findCycle(cyclic)).toEqual(['a', 'b', 'c', 'a']);
    const text = [
      "import { a } from '../a/index.js';",
      "import type {\n  B,\n  C,\n} from '../b/index.js';",
      "export { d } from './d.js';",
      "export * from '../e/index.js';",
      "import '../f/side-effect.js';",
      "const g = await import('../g/main.js');",
      "import { z } from 'zod';",
    ].join('\n');
    expect(importsOf(text).sort()).toEqual(
      [
        '../a/index.js',
        '../b/index.js',
        './d.js',
        '../e/index.js',
        '../f/side-effect.js',
        '../g/main.js',
      ].sort(),
    );
  });
});
