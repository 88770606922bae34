import { Command } from 'commander';
import { registerCalendarCommands } from '../../src/cli/calendar-commands.js';
import { registerCancelCommands } from '../../src/cli/cancel-commands.js';
import { registerJobCommands } from '../../src/cli/job-commands.js';
import { registerLogCommands } from '../../src/cli/log-commands.js';
import { registerMemDefaultCommands } from '../../src/cli/mem-default-commands.js';
import { registerNodeCommands } from '../../src/cli/node-commands.js';
import { contractParseErrors } from '../../src/cli/parse-errors.js';
import { registerProjectionCommands } from '../../src/cli/projection-commands.js';
import { registerSubmitCommand } from '../../src/cli/submit-command.js';

/**
 * Several one-shot `drover` commands in one process, as one role (its credentials are this
 * process's environment): `node --import tsx test/support/cli-batch.ts '[["jobs","--json"],…]'`
 * prints `[{ code, stdout }]`. Each command runs on a fresh program with the registrations of
 * src/cli/main.ts (the services aside); `process.exit` ends only that command. One process per
 * role instead of one per command: on a loaded 2-core machine each start of the CLI costs ~2-5 s.
 */
class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function program(argv: string[]): Command {
  const p = contractParseErrors(new Command('drover').enablePositionalOptions(), argv);
  registerSubmitCommand(p);
  registerJobCommands(p);
  registerCancelCommands(p);
  registerNodeCommands(p);
  registerProjectionCommands(p);
  registerMemDefaultCommands(p);
  registerCalendarCommands(p);
  registerLogCommands(p);
  return p;
}

const lines = JSON.parse(process.argv[2] ?? '[]') as string[][];
const write = process.stdout.write.bind(process.stdout);
const exit = process.exit.bind(process);
const results: { code: number; stdout: string }[] = [];
for (const args of lines) {
  let out = '';
  // A write's callback is called as a stream's would be: the CLI waits for it before it exits
  // (api-cli.ts flushStdout), and a command waiting for a callback never called never ends.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    const done = rest.find((r): r is () => void => typeof r === 'function');
    if (done) queueMicrotask(done);
    return true;
  }) as typeof process.stdout.write;
  process.exit = ((code?: number) => {
    throw new Exit(code ?? Number(process.exitCode ?? 0));
  }) as typeof process.exit;
  process.exitCode = 0;
  let code: number;
  try {
    await program(args).parseAsync(['node', 'drover', ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (err) {
    code = err instanceof Exit ? err.code : -2;
    if (!(err instanceof Exit)) out += `\nuncaught: ${String(err)}`;
  }
  results.push({ code, stdout: out });
}
process.stdout.write = write;
process.exitCode = 0;
write(JSON.stringify(results) + '\n', () => exit(0));
