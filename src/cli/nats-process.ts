import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as netConnect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, SchedulerError } from '../events/index.js';
import { configFor, findNatsServer, type NatsBinary } from './nats-binary.js';

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

/** A nats-server `drover up` started, and the version it reported. */
export interface LocalNats {
  readonly child: ChildProcess;
  readonly binary: NatsBinary;
}

/**
 * Start `nats-server -c nats.conf` for a local farm with the binary {@link findNatsServer} picks.
 * Fails with an install hint when there is none (CONTRACT.md: "else a one-line instruction"). An
 * older server gets a copy of the config without the settings it would refuse.
 */
export async function startLocalNats(
  configFile: string,
  dataDir: string,
  url: string,
): Promise<LocalNats> {
  const binary = findNatsServer();
  if (!binary) {
    throw new SchedulerError(
      ErrorCodes.Unavailable,
      'nats-server is not installed: run `scripts/install-nats-server.sh` (needs Go) or `sudo apt-get install nats-server` (or set DROVER_NATS_URL)',
    );
  }
  await mkdir(dataDir, { recursive: true });
  const text = await readFile(configFile, 'utf8');
  const config = configFor(text, binary.version);
  let file = configFile;
  if (config !== text) {
    file = join(dataDir, 'nats.compat.conf');
    await writeFile(file, config);
  }
  // The URL decides where it listens (command-line flags override the file).
  const u = new URL(url);
  // The pid file names it for whoever must stop a server whose `drover up` was killed -9.
  const args = ['-c', file, '-a', u.hostname, '-p', u.port || '4222', '-l', 'nats-server.log'];
  args.push('-P', 'nats-server.pid');
  // Started in the data dir: nats.conf keeps the store in ./jetstream relative to it. In its own
  // session: a terminal's Ctrl-C goes to its foreground process group, and the server must
  // outlive the drain it starts (the caller stops it last).
  const child = spawn(binary.path, args, { cwd: dataDir, stdio: 'ignore', detached: true });
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null)
      throw new SchedulerError(
        ErrorCodes.Unavailable,
        `nats-server exited with code ${child.exitCode}`,
      );
    if (await reachable(url)) return { child, binary };
    await sleep(50);
  }
  child.kill('SIGTERM');
  throw new SchedulerError(ErrorCodes.Timeout, `nats-server did not answer at ${url} within 5 s`);
}
