import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, SchedulerError } from '../events/index.js';

/** True when something accepts TCP connections at the host:port of a nats:// URL. */
export async function reachable(url: string, timeoutMs = 500): Promise<boolean> {
  const u = new URL(url);
  return new Promise<boolean>((resolve) => {
    const socket = netConnect(Number(u.port || 4222), u.hostname);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Start `nats-server -c nats.conf` for a local farm. Fails with an install hint when the binary
 * is missing (CONTRACT.md: "else a one-line instruction").
 */
export async function startLocalNats(
  configFile: string,
  dataDir: string,
  url: string,
): Promise<ChildProcess> {
  const probe = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new SchedulerError(
      ErrorCodes.Unavailable,
      'nats-server is not installed: run `sudo apt-get install nats-server` (or set DROVER_NATS_URL)',
    );
  }
  await mkdir(dataDir, { recursive: true });
  // The URL decides where it listens (command-line flags override the file).
  const u = new URL(url);
  const args = [
    '-c',
    configFile,
    '-a',
    u.hostname,
    '-p',
    u.port || '4222',
    '-l',
    'nats-server.log',
  ];
  // Started in the data dir: nats.conf keeps the store in ./jetstream relative to it.
  const child = spawn('nats-server', args, { cwd: dataDir, stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null)
      throw new SchedulerError(
        ErrorCodes.Unavailable,
        `nats-server exited with code ${child.exitCode}`,
      );
    if (await reachable(url)) return child;
    await sleep(50);
  }
  child.kill('SIGTERM');
  throw new SchedulerError(ErrorCodes.Timeout, `nats-server did not answer at ${url} within 5 s`);
}
