// Writes docs/transitions/<entity>.md from the machines themselves (src/actors/transition-table.ts).
// Run by `npm run gen:tables`; test/unit/actors/transition-tables.test.ts fails when they are stale.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transitionTables } from '../src/actors/index.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'transitions');
mkdirSync(dir, { recursive: true });
for (const [entity, markdown] of Object.entries(transitionTables())) {
  writeFileSync(join(dir, `${entity}.md`), markdown);
  console.log(`wrote docs/transitions/${entity}.md`);
}
