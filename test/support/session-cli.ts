import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IPty } from 'node-pty';
import type * as NodePty from 'node-pty';
import { droverArgv } from './cli-main.js';

const require = createRequire(import.meta.url);

/** The environment of a CLI child against `url`: quiet logs, a short heartbeat grace agent-side. */
const cliEnv = (url: string, extra: Record<string, string> = {}) => ({
  ...(process.env as Record<string, string>),
  DROVER_NATS_URL: url,
  LOG_LEVEL: 'silent',
  ...extra,
});

/** `drover ARGS` with pipes: stdin fed from `input` (then closed), stdout kept as bytes. */
export function droverPiped(
  url: string,
  args: string[],
  input?: Buffer | string | null,
): { child: ChildProcess; done: Promise<{ code: number | null; stdout: Buffer; stderr: string }> } {
  const child = spawn(process.execPath, droverArgv(args), {
    env: cliEnv(url),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  // `input` undefined: stdin stays open for the caller (`child.stdin`); null: closed at once.
  if (typeof input === 'string' || Buffer.isBuffer(input)) child.stdin?.end(input);
  else if (input === null) child.stdin?.end();
  const done = new Promise<{ code: number | null; stdout: Buffer; stderr: string }>(
    (resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
    },
  );
  return { child, done };
}

/**
 * `drover ARGS` on a real pseudo-terminal, as a person at a terminal runs it: what it prints is
 * collected (`screen`), keys are typed with `type`, the window resized with `resize`.
 */
export interface PtyCli {
  readonly term: IPty;
  readonly exited: Promise<number>;
  screen(): string;
  type(keys: string): void;
  /** Wait until the screen (since `from`) matches; fails with what was seen after `ms`. */
  waitFor(pattern: RegExp, ms?: number, from?: number): Promise<RegExpMatchArray>;
}

export function droverPty(url: string, args: string[], size = { cols: 100, rows: 30 }): PtyCli {
  const pty = require('node-pty') as typeof NodePty;
  const term = pty.spawn(process.execPath, droverArgv(args), {
    name: 'xterm-256color',
    cols: size.cols,
    rows: size.rows,
    cwd: process.cwd(),
    env: cliEnv(url),
  });
  let text = '';
  term.onData((d) => (text += d));
  const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
  return {
    term,
    exited,
    screen: () => text,
    type: (keys) => term.write(keys),
    async waitFor(pattern, ms = 60_000, from = 0) {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = text.slice(from).match(pattern);
        if (m) return m;
        if (Date.now() > deadline)
          throw new Error(`no ${String(pattern)} after ${ms} ms; screen:\n${text.slice(-2000)}`);
        await sleep(25);
      }
    },
  };
}
