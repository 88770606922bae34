// The child of test/support/cli-session.ts: one process that runs one-shot `drover` commands one
// after another, as the compiled CLI (dist/, what bin/drover.js runs) would in a process of its
// own. Its environment is the command's (the parent keeps one child per environment); a request
// `{ id, args }` comes over the IPC channel (stdin stays closed, as for a spawned CLI) and the
// answer is `{ id, code, stdout, stderr, stray }`: everything the command wrote to process.stdout
// and process.stderr (console and commander included) and its exit code, `process.exit` ending
// only that command. Each command gets a fresh program with src/cli/main.ts's registrations; the
// services main.ts declares itself (up, scheduler, agent, dashboard) are not here: spawn those.
//
// Plain JavaScript on purpose: under `--import tsx` every import of dist/ and node_modules goes
// through tsx's hooks, which doubles the start (8 s against 16 s at load 20 on this machine).
import { Command } from 'commander';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const DIST_CLI = join(import.meta.dirname, '../../dist/cli');

/** The register functions of src/cli/main.ts, in its order: [file, export]. */
const REGISTRATIONS = [
  ['submit-command', 'registerSubmitCommand'],
  ['run-command', 'registerRunCommand'],
  ['alloc-command', 'registerAllocCommand'],
  ['sessions-command', 'registerSessionsCommand'],
  ['job-commands', 'registerJobCommands'],
  ['environment-commands', 'registerEnvironmentCommands'],
  ['cancel-commands', 'registerCancelCommands'],
  ['node-commands', 'registerNodeCommands'],
  ['api-services', 'registerApiCommand'],
  ['projection-commands', 'registerProjectionCommands'],
  ['policy-commands', 'registerPolicyCommands'],
  ['mem-default-commands', 'registerMemDefaultCommands'],
  ['calendar-commands', 'registerCalendarCommands'],
  ['reservation-commands', 'registerReservationCommands'],
  ['workflow-commands', 'registerWorkflowCommands'],
  ['rerun-command', 'registerRerunCommand'],
  ['promises-commands', 'registerPromisesCommand'],
  ['log-commands', 'registerLogCommands'],
  ['sql-sink-command', 'registerSqlSinkCommand'],
  ['alert-commands', 'registerAlertCommands'],
  ['runbook-commands', 'registerRunbookCommands'],
];

const load = (file) => import(pathToFileURL(join(DIST_CLI, `${file}.js`)).href);

const modules = await Promise.all(REGISTRATIONS.map(([file]) => load(file)));
const registers = REGISTRATIONS.map(([file, name], i) => {
  const register = modules[i][name];
  if (typeof register !== 'function') throw new Error(`dist/cli/${file}.js has no ${name}`);
  return register;
});
const { contractParseErrors } = await load('parse-errors');

/** A fresh program per command, as src/cli/main.ts builds it for its one command. */
function program(argv) {
  const p = contractParseErrors(new Command('drover').enablePositionalOptions(), argv);
  for (const register of registers) register(p);
  return p;
}
const known = new Set(program([]).commands.map((c) => c.name()));

/** `process.exit` inside a command: ends that command with its code, not the session. */
class Exit extends Error {
  constructor(code) {
    super(`exit ${code}`);
    this.code = code;
  }
}

/** The command running: its output so far, and `end` for an exit nobody awaited. */
let running;

const realExit = process.exit.bind(process);
const realStdout = process.stdout.write.bind(process.stdout);
const realStderr = process.stderr.write.bind(process.stderr);
const capture = (key, real) => (chunk, ...rest) => {
  if (!running) return real(chunk, ...rest);
  running[key] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  const done = rest.find((r) => typeof r === 'function');
  if (done) queueMicrotask(done);
  return true;
};
process.stdout.write = capture('stdout', realStdout);
process.stderr.write = capture('stderr', realStderr);
process.exit = (code) => {
  throw new Exit(Number(code ?? process.exitCode ?? 0));
};

/**
 * A throw nobody awaited (a `process.exit` from a callback, a crash): a process of its own would
 * end there, with that code (1 and the error on stderr for a crash). The answer says it ended so
 * (`stray`) and the parent retires this child: the command's leftovers may still run.
 */
function uncaught(err) {
  if (!running?.end) {
    realStderr(`cli-session: uncaught outside a command: ${err?.stack ?? String(err)}\n`);
    return;
  }
  if (!(err instanceof Exit)) running.stderr += `${err?.stack ?? String(err)}\n`;
  running.end(err instanceof Exit ? err.code : 1);
}
process.on('uncaughtException', uncaught);
process.on('unhandledRejection', uncaught);

async function run(args) {
  process.exitCode = 0;
  let stray = false;
  const ended = new Promise((resolve) => {
    running.end = (code) => {
      stray = true;
      resolve(code);
    };
  });
  const chain = program(args)
    .parseAsync(['node', 'drover', ...args])
    .then(
      () => Number(process.exitCode ?? 0),
      (err) => {
        if (err instanceof Exit) return err.code;
        running.stderr += `${err?.stack ?? String(err)}\n`;
        return 1;
      },
    );
  const code = await Promise.race([chain, ended]);
  return { code, stray };
}

process.on('message', async (req) => {
  if (!known.has(req.args[0] ?? '')) {
    const refused = `drover ${req.args[0] ?? ''} is not a one-shot command of the session: spawn it`;
    process.send({ id: req.id, refused });
    return;
  }
  running = { stdout: '', stderr: '' };
  const { code, stray } = await run(req.args);
  const { stdout, stderr } = running;
  running = undefined;
  process.exitCode = 0;
  process.send({ id: req.id, code, stdout, stderr, stray });
});
// The parent gone (its test file ended, or it was killed): so is the session.
process.on('disconnect', () => realExit(0));
process.send({ ready: true });
