import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { droverArgv } from './cli-main.js';

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  srv.close();
  return port;
}

/** `drover up` as a terminal runs it: the leader of its own process group (the foreground job). */
export interface UpProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly dir: string;
  readonly env: Record<string, string>;
  /** The first line on stdout (`--json`: the status document). */
  readonly firstLine: Promise<string>;
  stderr(): string;
  /** What a terminal's Ctrl-C does: SIGINT to every process of the foreground group. */
  interrupt(): void;
  cleanup(): Promise<void>;
}

/** Start `drover up --json [...args]` on a fresh port and data dir. */
export async function startUp(args: string[] = [], extra: Record<string, string> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'drover-up-'));
  const url = `nats://127.0.0.1:${await freePort()}`;
  const env = {
    DROVER_NATS_URL: url,
    DROVER_DATA_DIR: dir,
    DROVER_HTTP_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
    ...extra,
  };
  const child = spawn(
    process.execPath,
    droverArgv(['up', '--json', ...args]),
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const firstLine = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.once('exit', (code) => reject(new Error(`drover up exited ${code}: ${err}`)));
  });
  const up: UpProcess = {
    child,
    url,
    dir,
    env,
    firstLine,
    stderr: () => err,
    interrupt: () => process.kill(-child.pid!, 'SIGINT'),
    async cleanup() {
      for (const pid of [-child.pid!, await serverPid(dir)]) {
        try {
          if (pid) process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  return up;
}

/** The nats-server `drover up` started in `dir` (its own session: a group kill misses it). */
export async function serverPid(dir: string): Promise<number | undefined> {
  const text = await readFile(join(dir, 'nats-server.pid'), 'utf8').catch(() => '');
  return Number(text.trim()) || undefined;
}
