import { spawn as spawnPty, type IPty } from 'node-pty';
import { join } from 'node:path';
import { droverArgv } from './cli-main.js';


/** The `drover` CLI on a real pseudo-terminal, driven as a person would drive it. */
export interface PtyDrover {
  readonly pty: IPty;
  /** Everything the terminal showed so far (escape sequences removed). */
  screen(): string;
  /** Wait until the screen (after `from` characters) matches `re`; fails naming what it saw. */
  waitFor(re: RegExp, timeoutMs?: number, from?: number): Promise<void>;
  /** Type as a person does (`y\r`). */
  type(text: string): void;
  readonly exited: Promise<number>;
  kill9(): Promise<void>;
}

const ANSI = new RegExp(String.raw`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-B]|\x1b[=>78]`, 'g');

export function ptyDrover(
  url: string,
  args: string[],
  env: Record<string, string> = {},
): PtyDrover {
  const pty = spawnPty(process.execPath, droverArgv(args), {
    name: 'xterm-color',
    cols: 160,
    rows: 50,
    cwd: join(import.meta.dirname, '../..'),
    env: { ...process.env, DROVER_NATS_URL: url, LOG_LEVEL: 'silent', ...env } as Record<
      string,
      string
    >,
  });
  let raw = '';
  const waiters = new Set<() => void>();
  pty.onData((d) => {
    raw += d;
    for (const w of waiters) w();
  });
  let exitCode: number | undefined;
  const exited = new Promise<number>((resolve) =>
    pty.onExit(({ exitCode: code }) => {
      exitCode = code;
      resolve(code);
      for (const w of waiters) w();
    }),
  );
  const screen = () => raw.replace(ANSI, '').replace(/\r/g, '');
  return {
    pty,
    screen,
    waitFor: (re, timeoutMs = 60_000, from = 0) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (re.test(screen().slice(from))) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          } else if (exitCode !== undefined) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`exited ${exitCode} before ${re}; screen:\n${screen()}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${re} within ${timeoutMs} ms; screen:\n${screen()}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    type: (text) => pty.write(text),
    exited,
    async kill9() {
      if (exitCode === undefined) pty.kill('SIGKILL');
      await exited;
    },
  };
}
