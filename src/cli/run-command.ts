import type { Command } from 'commander';
import { ErrorCodes, FrameKinds, SchedulerError } from '../events/index.js';
import type { ApiClient } from '../api/index.js';
import { printJson, withApi } from './api-cli.js';
import { env, fail } from './connection.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { allocNodes, combinedExitCode, runOnNodes } from './run-alloc.js';
import { SessionClient, shellExitCode, type SessionEnd } from './session-attach.js';
import { newShortId, resourceFields, type ResourceFlags } from './session-flags.js';

/** The flags of `drover run` as commander gives them. */
export interface RunFlags extends ResourceFlags {
  node?: string;
  alloc?: string;
  interactive?: boolean;
  tty?: boolean;
  json?: boolean;
}

/** A new session id: one subject token, short enough to type into `drover audit`. */
export const newSessionId = (): string => newShortId('s');

/** The `session.open` body of the flags (their syntax checked here, the rest by the API). */
export function openBody(id: string, command: string[], o: RunFlags, tty: boolean) {
  const body: Record<string, unknown> = {
    id,
    user: env.user,
    command,
    tty,
    cwd: process.cwd(),
    ...resourceFields(o),
  };
  if (o.node !== undefined) body.node = o.node;
  if (o.alloc !== undefined) {
    if (o.cpus !== undefined || o.mem !== undefined)
      throw new Error(
        '--alloc: a run inside an allocation uses its cpus and memory (no --cpus/--mem)',
      );
    body.alloc = o.alloc;
  }
  if (tty) Object.assign(body, terminalSize());
  return body;
}

function terminalSize(): { cols: number; rows: number } {
  return { cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 };
}

/**
 * With a pty: the local terminal in raw mode (every key, Ctrl-C included, goes to the remote
 * terminal, whose line discipline turns it into SIGINT for the remote foreground group) and
 * its size changes sent on (debounced: a dragged window sends a storm of SIGWINCH). Returns
 * the undo.
 */
function takeTerminal(api: ApiClient, client: SessionClient): () => void {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  let timer: NodeJS.Timeout | undefined;
  const onResize = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const call = api.call('session.resize', { id: client.id, ...terminalSize() });
      void client.holdInputWhile(call);
    }, 50);
  };
  process.on('SIGWINCH', onResize);
  return () => {
    process.off('SIGWINCH', onResize);
    clearTimeout(timer);
    if (raw) stdin.setRawMode(false);
  };
}

/**
 * Without a pty, signals the CLI gets are the remote process's (as `ssh host cmd` does): while
 * it runs they are forwarded to its process group; before it started they stop the session.
 */
function forwardSignals(api: ApiClient, client: SessionClient): void {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (client.node !== undefined) client.send(FrameKinds.Signal, { signal: sig });
      else void api.call('session.stop', { id: client.id, reason: `client got ${sig}` });
    });
  }
}

/**
 * `drover run --alloc ID` on every node the allocation holds: output labelled per node, the
 * exit code of the first node (in order) that failed, else 0.
 */
async function runEverywhere(
  api: ApiClient,
  nc: NatsConnection,
  alloc: string,
  nodes: readonly string[],
  body: Record<string, unknown>,
  json: boolean,
): Promise<void> {
  const open = (node: string) => {
    const id = newSessionId();
    return { id, body: { ...body, id, node } };
  };
  const out = { stdout: json ? process.stderr : process.stdout, stderr: process.stderr };
  const runs = await runOnNodes(api, nc, nodes, open, out);
  const exitCode = combinedExitCode(runs);
  if (json) printJson({ alloc, exitCode, runs });
  for (const r of runs)
    if (r.exitCode === null && !json) process.stderr.write(`drover run: ${r.node}: ${r.message}\n`);
  process.exitCode = exitCode;
}

/** Register `drover run`. */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run a command on the farm with its stdin/stdout/stderr attached')
    .option('--cpus <n>', 'CPUs (default 1)')
    .option('--mem <size>', 'memory, e.g. 512M (default 512M)')
    .option('--node <node>', 'run on this node (with --alloc: on this node of the allocation)')
    .option('--alloc <id>', 'run inside an allocation (drover alloc): on every node it holds')
    .option('-i, --interactive', 'keep stdin attached (it always is; for docker habits)')
    .option('-t, --tty', 'a pseudo-terminal: raw mode, window size, Ctrl-C to the remote group')
    .option('--json', "one JSON document on stdout at the end; the command's output on stderr")
    .argument('<command...>', 'the command and its arguments (after --)')
    .action(async (command: string[], o: RunFlags) => {
      const json = o.json === true;
      const tty = o.tty === true;
      const id = newSessionId();
      let body;
      try {
        body = openBody(id, command, o, tty);
      } catch (err) {
        fail('BAD_INPUT', (err as Error).message, json);
      }
      await withApi(json, async (api, nc) => {
        if (o.alloc !== undefined) {
          const nodes = await allocNodes(api, o.alloc, o.node);
          if (nodes.length > 1) {
            if (tty)
              throw new SchedulerError(
                ErrorCodes.BadInput,
                `-t: a pty runs on one node; allocation ${o.alloc} holds ${nodes.join(', ')} (pick one with --node)`,
              );
            return runEverywhere(api, nc, o.alloc, nodes, body, json);
          }
          body.node = nodes[0];
        }
        const io = {
          stdin: process.stdin,
          stdout: json ? process.stderr : process.stdout,
          stderr: process.stderr,
        };
        const client = new SessionClient(nc, api, id, String(body.user), io);
        const undo = tty ? takeTerminal(api, client) : () => undefined;
        if (!tty) forwardSignals(api, client);
        let end: SessionEnd;
        try {
          const opened = await api.call<{ jobId?: string }>('session.open', body);
          end = await client.ended;
          if (json)
            printJson({
              sessionId: id,
              ...(opened.jobId !== undefined && { jobId: opened.jobId }),
              ...(o.alloc !== undefined && { alloc: o.alloc }),
              ...end,
            });
        } catch (err) {
          throw err instanceof SchedulerError
            ? err
            : new SchedulerError(ErrorCodes.Unavailable, (err as Error).message, { cause: err });
        } finally {
          undo();
          client.close();
        }
        if (end.exitCode === null && !json) process.stderr.write(`drover run: ${end.message}\n`);
        process.exitCode = shellExitCode(end);
      });
    });
}
