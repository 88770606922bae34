import { Command } from 'commander';
import { registerProjectionCommands } from '../../src/cli/projection-commands.js';

/**
 * A tiny `drover` with only the projection commands, for tests that run them as a child
 * process (`node --import tsx test/support/projection-cli.ts usage --json`) before main.ts
 * registers them.
 */
const program = new Command('drover').exitOverride((err) => {
  process.exitCode = err.exitCode === 1 ? 2 : err.exitCode;
  throw err;
});
registerProjectionCommands(program);
await program.parseAsync(process.argv).catch(() => undefined);
