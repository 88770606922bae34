import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { CliResult } from './api-farm.js';

const CHILD = join(import.meta.dirname, 'cli-session-child.mjs');

/**
 * `drover` one-shot commands against one farm, answered by long-lived CLI processes instead of
 * one process per command (test/support/cli-session-child.mjs): on this loaded 2-core machine a
 * CLI start costs 2-5 s, a command in a started one tens of milliseconds. `run` takes the
 * arguments of api-farm.ts's `drover` and answers the same `{ code, stdout, stderr }`; each
 * command still runs the compiled CLI in a process whose environment (and cwd) is the one that
 * `drover` would have given it: a child serves one environment, and commands run at the same time
 * run in different children. For tests of what the commands answer; a test about the process
 * itself (signals, a terminal, logs on stderr, a service) spawns it with `drover`.
 */
export interface CliSession {
  run(
    args: string[],
    env?: Record<string, string>,
    timeoutMs?: number,
    cwd?: string,
  ): Promise<CliResult>;
  /** End every child (afterAll). */
  stop(): Promise<void>;
}

interface Answer {
  id: number;
  code: number;
  stdout: string;
  stderr: string;
  /** The command ended from a callback nobody awaited: its leftovers may run, retire the child. */
  stray: boolean;
  /** Not a one-shot command (a service): the test must spawn it. */
  refused?: string;
}

interface Child {
  proc: ChildProcess;
  /** What the child wrote outside any command (its start-up failure, say). */
  output: string;
  exited: Promise<void>;
  dead: boolean;
}

function startChild(env: NodeJS.ProcessEnv, cwd: string | undefined): Promise<Child> {
  const proc = spawn(process.execPath, [CHILD], {
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    ...(cwd !== undefined && { cwd }),
  });
  const child: Child = {
    proc,
    output: '',
    dead: false,
    exited: new Promise((resolve) => proc.once('exit', () => resolve())),
  };
  void child.exited.then(() => (child.dead = true));
  proc.stdout!.on('data', (b: Buffer) => (child.output += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (child.output += b.toString()));
  return new Promise((resolve, reject) => {
    const ready = (m: { ready?: boolean }) => {
      if (!m.ready) return;
      proc.off('message', ready);
      resolve(child);
    };
    proc.on('message', ready);
    proc.once('error', reject);
    void child.exited.then(() =>
      reject(new Error(`cli session child exited before it was ready:\n${child.output}`)),
    );
  });
}

function ask(child: Child, id: number, args: string[], timeoutMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    const answer = (m: Answer) => {
      if (m.id !== id) return;
      clearTimeout(timer);
      child.proc.off('message', answer);
      resolve(m);
    };
    // As `drover` does: a command that overruns is killed and answers -1.
    const lost = (why: string): Answer => ({
      id,
      code: -1,
      stdout: '',
      stderr: `${why}\n${child.output}`,
      stray: true,
    });
    const timer = setTimeout(() => {
      child.proc.kill('SIGKILL');
      answer(lost(`killed after ${timeoutMs} ms`));
    }, timeoutMs);
    void child.exited.then(() => answer(lost('the cli session child exited')));
    child.proc.on('message', answer);
    child.proc.send({ id, args });
  });
}

/**
 * One session per farm: `cliSession(farm.server.url)` in beforeAll, `stop()` in afterAll.
 * `warm` lists the environments (as given to `run`) whose child to start at once, in the
 * background: a child's start is a CLI start, seconds on a loaded machine.
 */
export function cliSession(url: string, warm: Record<string, string>[] = []): CliSession {
  /** Children free for a command, by environment; a warm one may still be starting. */
  const idle = new Map<string, Promise<Child>[]>();
  const all = new Set<Promise<Child>>();
  let next = 0;
  let stopped = false;

  const keyOf = (env: Record<string, string>, cwd?: string) =>
    JSON.stringify([Object.entries(env).sort(), cwd ?? null]);
  const start = (env: Record<string, string>, cwd?: string) => {
    // The same environment as api-farm.ts's `drover` gives its child.
    const vars = { ...process.env, DROVER_NATS_URL: url, LOG_LEVEL: 'silent', ...env };
    const child = startChild(vars, cwd);
    all.add(child);
    child.catch(() => all.delete(child));
    return child;
  };
  const retire = (child: Child) => child.proc.kill('SIGKILL');
  for (const env of warm) idle.set(keyOf(env), [...(idle.get(keyOf(env)) ?? []), start(env)]);

  return {
    async run(args, env = {}, timeoutMs = 60_000, cwd) {
      if (stopped) throw new Error('cli session stopped');
      const key = keyOf(env, cwd);
      let child: Child | undefined;
      while (!child) {
        const free = idle.get(key)?.shift();
        const c = await (free ?? start(env, cwd));
        if (!c.dead) child = c;
      }
      const mine = Promise.resolve(child);
      const a = await ask(child, next++, args, timeoutMs);
      if (a.stray || child.dead || stopped) retire(child);
      else idle.set(key, [...(idle.get(key) ?? []), mine]);
      if (a.refused) throw new Error(a.refused);
      return { code: a.code, stdout: a.stdout, stderr: a.stderr };
    },
    async stop() {
      stopped = true;
      const children = await Promise.allSettled([...all]);
      for (const c of children) if (c.status === 'fulfilled') retire(c.value);
      await Promise.all(
        children.map((c) => (c.status === 'fulfilled' ? c.value.exited : undefined)),
      );
    },
  };
}
