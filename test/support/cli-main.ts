import { join } from 'node:path';

/**
 * The compiled CLI, as users run it through bin/drover.js. Tests spawn it rather than
 * `node --import tsx src/cli/main.ts`: a cold tsx start compiles the whole CLI each time (2 s idle,
 * 4-9 s on a loaded 2-core machine), the compiled one starts in under a second, and it is what ships.
 * test/support/build-cli.ts (vitest's globalSetup) rebuilds dist/ first whenever src/ is newer.
 */
export const DROVER_MAIN = join(import.meta.dirname, '../../dist/cli/main.js');

/** `node` arguments that run `drover ARGS...`. */
export function droverArgv(args: readonly string[]): string[] {
  return [DROVER_MAIN, ...args];
}
