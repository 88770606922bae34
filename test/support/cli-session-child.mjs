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

/** What `process.exit` throws: it unwinds the command (a process of its own would stop here). */
class Exit extends Error {
  constructor(code) {
    super(`exit ${code}`);
    this.code = code;
  }
}

/**
 * The command running: its output, and `code` once it ended. A process ends at its first
 * `process.exit`: its code is the answer's and whatever the command writes after it (a `catch`
 * that sees the unwinding Exit and reports it, say) is dropped, as it would never have run.
 */
let running;
/** Something threw outside any command: the next answer asks the parent to retire this child. */
let tainted = false;

const realExit = process.exit.bind(process);
const realStdout = process.stdout.write.bind(process.stdout);
const realStderr = process.stderr.write.bind(process.stderr);
const capture =
  (key, real) =>
  (chunk, ...rest) => {
    if (!running) return real(chunk, ...rest);
    if (running.code === undefined)
      running[key] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    const done = rest.find((r) => typeof r === 'function');
    if (done) queueMicrotask(done);
    return true;
  };
process.stdout.write = capture('stdout', realStdout);
process.stderr.write = capture('stderr', realStderr);
process.exit = (code) => {
  const c = Number(code ?? process.exitCode ?? 0);
  running?.end(c);
  throw new Exit(c);
};

/** A throw nobody awaited: a crash (exit 1, the error on stderr) or an exit from a callback. */
function uncaught(err) {
  if (err instanceof Exit) return; // its code is recorded already
  if (running && running.code === undefined) {
    running.stderr += `${err?.stack ?? String(err)}\n`;
    running.end(1);
  } else realStderr(`cli-session: uncaught outside a command: ${err?.stack ?? String(err)}\n`);
  tainted = true;
}
process.on('uncaughtException', uncaught);
process.on('unhandledRejection', uncaught);

/** How long a command may still unwind after its exit before its child counts as stray. */
const UNWIND_MS = 2_000;

async function run(args) {
  process.exitCode = 0;
  const cmd = running;
  const ended = new Promise((resolve) => {
    cmd.end = (code) => {
      if (cmd.code !== undefined) return;
      cmd.code = code;
      resolve();
    };
  });
  const chain = program(args)
    .parseAsync(['node', 'drover', ...args])
    .then(
      () => cmd.end(Number(process.exitCode ?? 0)),
      (err) => {
        if (err instanceof Exit) return;
        if (cmd.code === undefined) cmd.stderr += `${err?.stack ?? String(err)}\n`;
        cmd.end(1);
      },
    );
  await ended;
  // A process would be gone: what still runs of the command is left over. It normally unwinds
  // at once (the Exit travels up); if not, the child is retired rather than reused.
  let timer;
  const unwound = await Promise.race([
    chain.then(() => true),
    new Promise((resolve) => (timer = setTimeout(() => resolve(false), UNWIND_MS))),
  ]);
  clearTimeout(timer);
  return { code: cmd.code, stray: !unwound || tainted };
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
