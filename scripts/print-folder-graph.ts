// Prints the folder import graph of src (one `from -> to` line per edge, with the files that
// make it when run with --files), as test/unit/folder-graph.test.ts checks it.
import { join } from 'node:path';
import { edgeLines, folderGraph } from '../test/support/folder-graph.js';

const graph = folderGraph(join(import.meta.dirname, '../src'));
const files = process.argv.includes('--files');
for (const line of edgeLines(graph)) {
  console.log(line);
  if (!files) continue;
  const [from, to] = line.split(' -> ') as [string, string];
  for (const f of graph.get(from)?.get(to) ?? []) console.log(`    ${f}`);
}
