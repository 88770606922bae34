import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * A benchmark helper in a process of its own (hollow nodes, floor stand-ins): `file` run with
 * tsx, its options as JSON in the environment variable `envName`. It reports on stdout, one JSON
 * object per line, and stops on `stop` written to its stdin.
 */
export interface BenchChild {
  /** The next line it reported, in order; rejects once it has exited with nothing left unread. */
  next(): Promise<Record<string, number>>;
  /** Ask it to stop and wait until it exited. */
  stop(): Promise<void>;
}

export function spawnBenchChild(file: string, envName: string, opts: unknown): BenchChild {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, [envName]: JSON.stringify(opts) },
  });
  // Lines are queued until read: two lines in one chunk (a progress report and the final one)
  // come out of readline at once, and a reader that asks after the first would lose the second.
  const waiting: { resolve: (m: Record<string, number>) => void; reject: (e: Error) => void }[] =
    [];
  const unread: Record<string, number>[] = [];
  let exited: Error | undefined;
  createInterface({ input: child.stdout }).on('line', (l) => {
    const m = JSON.parse(l) as Record<string, number>;
    const w = waiting.shift();
    if (w) w.resolve(m);
    else unread.push(m);
  });
  child.once('exit', (code) => {
    exited = new Error(`${file} exited (${code})`);
    for (const w of waiting.splice(0)) w.reject(exited);
  });
  return {
    next: () =>
      new Promise((resolve, reject) => {
        const m = unread.shift();
        if (m) resolve(m);
        else if (exited) reject(exited);
        else waiting.push({ resolve, reject });
      }),
    async stop() {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.stdin.end('stop\n');
      await gone;
    },
  };
}
