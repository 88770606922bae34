import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hasSyncInterval, parseNatsVersion, pinnedNatsPath } from '../../src/cli/nats-binary.js';
import { reapOnExit } from './child-reaper.js';

/** A nats-server started for one test file: random port, temporary JetStream store. */
export interface NatsServer extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** Kill -9 and start again on the same port and store (a crash and restart). */
  restart(): Promise<void>;
  /** SIGSTOP the server (a stalled machine: it answers nothing, its sockets stay open). */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  stop(): Promise<void>;
}

export interface NatsServerOptions {
  /** Extra config text appended to the generated config (accounts, limits, ...). */
  extraConfig?: string;
  /** `sync_interval: always`, as nats.conf deploys it (ignored by a server older than 2.10). */
  syncAlways?: boolean;
  /** Passed through as `max_payload`. */
  maxPayload?: string;
  /** Listen on this port (one a test reserved for a service started before the server). */
  port?: number;
  /** JetStream's `max_file_store` (default 8GB; the 10M-event growth bench copies more). */
  maxFileStore?: string;
}

/**
 * The server the tests run on: `NATS_SERVER_BIN` (the compatibility lane sets it to 2.9), else the
 * pinned release that scripts/install-nats-server.sh built (npm's pretest), else PATH's.
 */
export const BINARY = resolveTestBinary();
const START_TIMEOUT_MS = 5_000;

function resolveTestBinary(): string {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  const pinned = pinnedNatsPath();
  return existsSync(pinned) ? pinned : 'nats-server';
}

let probed: { version: string | undefined } | undefined;

/** The version of the server the tests run on (probed once per worker). */
export function testNatsVersion(): string | undefined {
  if (!probed) {
    const probe = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw new Error(
        `nats-server not found (${BINARY}): run 'sh scripts/install-nats-server.sh' (needs Go), or 'apt-get install nats-server', or set NATS_SERVER_BIN`,
      );
    }
    probed = { version: parseNatsVersion(probe.stdout) };
  }
  return probed.version;
}

/**
 * Start a real nats-server with JetStream, like nats.js `nst/src/launcher.ts`: a temporary
 * config with `port: -1` and a ports file, then poll the ports file and probe TCP.
 */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const version = testNatsVersion();
  const dir = await mkdtemp(join(tmpdir(), 'drover-nats-'));
  const storeDir = join(dir, 'store');
  const portsDir = join(dir, 'ports');
  let port = -1;
  let proc: ChildProcess | undefined;

  const writeConfig = async (p: number): Promise<string> => {
    const conf = [
      `listen: "127.0.0.1:${p}"`,
      `ports_file_dir: "${portsDir}"`,
      `max_payload: ${opts.maxPayload ?? '8MB'}`,
      // Deployed farms sync every write (nats.conf); tests do where they check that setting: on
      // this VM's disk it made the 100,000-event runtime test 10x slower (18 s -> over 180 s).
      `jetstream { store_dir: "${storeDir}", max_memory_store: 256MB, max_file_store: ${opts.maxFileStore ?? '8GB'}${opts.syncAlways && hasSyncInterval(version) ? ', sync_interval: always' : ''} }`,
      opts.extraConfig ?? '',
    ].join('\n');
    const file = join(dir, 'nats.conf');
    await writeFile(file, conf);
    return file;
  };

  const launch = async (p: number): Promise<void> => {
    await rm(portsDir, { recursive: true, force: true });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(portsDir, { recursive: true });
    const file = await writeConfig(p);
    const child = reapOnExit(spawn(BINARY, ['-c', file], { stdio: ['ignore', 'ignore', 'pipe'] }));
    proc = child;
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-4000);
    });
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) =>
        reject(new Error(`nats-server exited early (code ${code}): ${stderr.trim()}`)),
      ),
    );
    exited.catch(() => undefined);
    port = await Promise.race([waitForPort(portsDir, child.pid ?? 0), exited]);
    await Promise.race([probeTcp(port), exited]);
  };

  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    const child = proc;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await gone;
  };

  await launch(opts.port ?? -1);
  const server: NatsServer = {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    storeDir,
    pause() {
      proc?.kill('SIGSTOP');
    },
    resume() {
      proc?.kill('SIGCONT');
    },
    async restart() {
      await kill('SIGKILL');
      await launch(port);
    },
    async stop() {
      await kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
    async [Symbol.asyncDispose]() {
      await server.stop();
    },
  };
  return server;
}

/**
 * A ports file's content, or undefined while the server is still writing it: the file appears
 * before its JSON does (an empty or cut file was read on a loaded machine).
 */
function parsePorts(text: string): { nats?: string[] } | undefined {
  try {
    return JSON.parse(text) as { nats?: string[] };
  } catch {
    return undefined;
  }
}

/** The client port a nats-server with `ports_file_dir` reports, once it has written it. */
export async function waitForPort(portsDir: string, pid: number): Promise<number> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const files = await readdir(portsDir).catch(() => [] as string[]);
    const mine = files.find((f) => f.includes(`_${pid}.ports`));
    if (mine) {
      const first = parsePorts(await readFile(join(portsDir, mine), 'utf8'))?.nats?.[0];
      if (first) return Number(new URL(first).port);
    }
    await sleep(20);
  }
  throw new Error(`nats-server did not write its ports file within ${START_TIMEOUT_MS} ms`);
}

/** Until a TCP connection to `port` on loopback succeeds. */
export async function probeTcp(port: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(20);
  }
  throw new Error(`nats-server port ${port} did not accept connections`);
}
