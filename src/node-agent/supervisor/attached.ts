import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { IPty } from 'node-pty';
import type * as NodePty from 'node-pty';
import { signalName } from '../../events/index.js';
import { parseStat } from './proc.js';
import { procConstants } from './proc-reader.js';
import { readFileSync } from 'node:fs';
import { supervise } from './supervisor.js';
import type { LaunchSpec, Supervised, SupervisorHooks, SupervisorOptions } from './types.js';
import { preflight, wrapperArgs } from './wrapper.js';

// node-pty is CommonJS with a native addon: loaded on first use, so an agent that never runs a
// pty session never loads it.
const require = createRequire(import.meta.url);

/** Which of the process's output streams a chunk of bytes came from. */
export type OutputStream = 'stdout' | 'stderr';

/**
 * The attached ends of a process started for a session: its output as it comes (pausable, so
 * the session's credit window is the process's back-pressure), its input, and its terminal.
 */
export interface AttachedIo {
  /** `onOutput` gets every chunk; `onOutputEnd` once every stream is closed. */
  onOutput(cb: (stream: OutputStream, bytes: Buffer) => void): void;
  onOutputEnd(cb: () => void): void;
  /** Stop / start reading the output (the process blocks on write meanwhile). */
  pause(): void;
  resume(): void;
  /** Write stdin; `done` once it was handed to the process (a pipe's write callback). */
  write(bytes: Uint8Array, done: () => void): void;
  endInput(): void;
  /** Only with a pty. */
  resize(cols: number, rows: number): void;
  /** A signal to the whole process group (Ctrl-C of a client without a pty). */
  signal(sig: NodeJS.Signals): void;
}

export interface AttachedLaunch {
  readonly supervised: Supervised;
  readonly io: AttachedIo;
}

/** How a session's process is attached: plain pipes, or a pty of this size. */
export type Attachment = { tty: false } | { tty: true; cols: number; rows: number };

function startTimeOf(pid: number): string {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.startTime ?? '';
  } catch {
    return '';
  }
}

/**
 * Start one attempt with its stdio attached instead of written to files: under the same `sh`
 * wrapper and the same supervisor as any attempt (process group, memory and time limits,
 * usage samples, SIGTERM-grace-SIGKILL, exit classification), so a session is a job like any
 * other except for where its bytes go. With a pty (node-pty) the wrapper is the session leader
 * of a new terminal: Ctrl-C typed by the client is the line discipline's SIGINT to the
 * foreground group, exactly as on a local terminal. `undefined` when it could not start (the
 * caller records a failed launch).
 */
export async function launchAttached(
  spec: LaunchSpec,
  attach: Attachment,
  hooks: SupervisorHooks = {},
  opts: SupervisorOptions = {},
): Promise<AttachedLaunch | { problem: string }> {
  const startedAt = (opts.clock ?? Date.now)();
  const k = await procConstants();
  await mkdir(spec.runDir, { recursive: true });
  const env = {
    ...(process.env as Record<string, string>),
    ...spec.env,
    DROVER_REPORT: join(spec.runDir, 'report'),
    DROVER_STATUS_FILE: join(spec.runDir, 'status'),
  };
  await rm(env.DROVER_STATUS_FILE, { force: true });
  const cwd = spec.cwd ?? spec.runDir;
  const problem = await preflight(spec.command, cwd);
  if (problem !== undefined) return { problem };
  const started = attach.tty ? startPty(spec, cwd, env, attach) : startPipes(spec, cwd, env);
  if ('problem' in started) return started;
  const supervised = supervise({
    ...spec,
    pid: started.pid,
    pgid: started.pid,
    startTime: startTimeOf(started.pid),
    startedAt,
    watch: 'child',
    k,
    hooks,
    opts,
  });
  started.onExit(
    (code, signal) =>
      void supervised
        .leaderExited(code, signal)
        .catch((err: unknown) => hooks.onError?.(err as Error)),
  );
  return { supervised, io: started.io };
}

interface Started {
  pid: number;
  io: AttachedIo;
  onExit(cb: (code: number | null, signal: string | null) => void): void;
}

function startPipes(
  spec: LaunchSpec,
  cwd: string,
  env: Record<string, string>,
): Started | { problem: string } {
  const child = spawn('/bin/sh', wrapperArgs(spec.command), {
    cwd,
    env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) return { problem: `could not start ${spec.command[0] ?? ''}` };
  const { stdin, stdout, stderr } = child;
  // A process that exits without reading its stdin makes our pending writes fail with EPIPE:
  // that is the process's business, not the agent's.
  stdin.on('error', () => undefined);
  let open = 2;
  const ends: (() => void)[] = [];
  const ended = () => {
    if (--open === 0) for (const cb of ends.splice(0)) cb();
  };
  stdout.once('close', ended);
  stderr.once('close', ended);
  const io: AttachedIo = {
    onOutput(cb) {
      stdout.on('data', (b: Buffer) => cb('stdout', b));
      stderr.on('data', (b: Buffer) => cb('stderr', b));
    },
    // A fast command's pipes may close before anyone asks: then at once.
    onOutputEnd: (cb) => (open === 0 ? cb() : void ends.push(cb)),
    pause() {
      stdout.pause();
      stderr.pause();
    },
    resume() {
      stdout.resume();
      stderr.resume();
    },
    write: (bytes, done) => void stdin.write(bytes, () => done()),
    endInput: () => void stdin.end(),
    resize: () => undefined,
    signal: (sig) => signalGroup(pid, sig),
  };
  return {
    pid,
    io,
    onExit: (cb) => void child.once('exit', (code, signal) => cb(code, signal)),
  };
}

function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    // The group is gone already: nothing to signal.
  }
}

function startPty(
  spec: LaunchSpec,
  cwd: string,
  env: Record<string, string>,
  size: { cols: number; rows: number },
): Started | { problem: string } {
  const pty = require('node-pty') as typeof NodePty;
  let term: IPty;
  try {
    term = pty.spawn('/bin/sh', wrapperArgs(spec.command), {
      name: env.TERM ?? 'xterm-256color',
      cols: size.cols,
      rows: size.rows,
      cwd,
      env,
      // Bytes, not strings: a multi-byte character split across two reads stays intact.
      encoding: null,
    });
  } catch (err) {
    return { problem: (err as Error).message };
  }
  // Held until the session's pump listens: node-pty emits its output at once, and a prompt
  // printed before anyone listens would be lost.
  term.pause();
  const ends: (() => void)[] = [];
  let exited: ((code: number | null, signal: string | null) => void) | undefined;
  // node-pty reports the exit only once the terminal's output is closed (read to the end):
  // that is both "no more output" and "the leader is gone".
  let closed = false;
  term.onExit(({ exitCode, signal }) => {
    closed = true;
    for (const cb of ends.splice(0)) cb();
    exited?.(signal ? null : exitCode, signal ? signalName(signal) : null);
  });
  const io: AttachedIo = {
    onOutput(cb) {
      term.onData((d) => cb('stdout', d as unknown as Buffer));
      term.resume();
    },
    onOutputEnd: (cb) => (closed ? cb() : void ends.push(cb)),
    pause: () => term.pause(),
    resume: () => term.resume(),
    write(bytes, done) {
      term.write(Buffer.from(bytes) as unknown as string);
      done();
    },
    // A terminal has no end of input; ^D is what a person would type.
    endInput: () => term.write('\x04'),
    resize: (cols, rows) => term.resize(cols, rows),
    signal: (sig) => signalGroup(term.pid, sig),
  };
  return { pid: term.pid, io, onExit: (cb) => void (exited = cb) };
}
