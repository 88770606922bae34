#!/usr/bin/env node
// The drover command: runs the compiled CLI (built by `npm ci` through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  console.error('error: UNAVAILABLE: drover is not built; run `npm ci` (or `npm run build`) first');
  process.exit(5);
}
await import(main);
