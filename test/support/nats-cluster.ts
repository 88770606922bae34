import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hasSyncInterval } from '../../src/cli/nats-binary.js';
import { reapOnExit } from './child-reaper.js';
import { BINARY, probeTcp, testNatsVersion, type NatsServer } from './nats-server.js';

/** One server of a test cluster: a `NatsServer` that can also be killed and started again. */
export interface ClusterMember extends NatsServer {
  /** `server_name`, as stream and consumer info name leaders and replicas. */
  readonly name: string;
  /** SIGKILL, leaving it down (a lost machine); `start()` brings it back on its store. */
  kill(): Promise<void>;
  start(): Promise<void>;
  readonly running: boolean;
}

/** A cluster of nats-servers with JetStream, routed on loopback, each with its own store. */
export interface NatsCluster extends AsyncDisposable {
  readonly members: readonly ClusterMember[];
  /** Every member's client URL, comma-separated (DROVER_NATS_URL's form for a cluster). */
  readonly url: string;
  readonly servers: readonly string[];
  member(name: string): ClusterMember;
  /** Until the JetStream meta group has a leader and every running member is current. */
  ready(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** A free TCP port on loopback (the kernel's pick; released before the server binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/**
 * Start `n` nats-servers as one cluster (`cluster { name, routes }` on loopback ports, a
 * `server_name` each, JetStream on a temporary store each) and wait until JetStream has a meta
 * leader. Ports are fixed per member, so a member killed and started again rejoins as itself.
 */
export async function startNatsCluster(
  n = 3,
  opts: { syncAlways?: boolean } = {},
): Promise<NatsCluster> {
  const version = testNatsVersion();
  const dir = await mkdtemp(join(tmpdir(), 'drover-cluster-'));
  const clusterName = `drover-${Math.random().toString(36).slice(2, 8)}`;
  // One at a time and all distinct: a port is released as soon as it is picked, and two picks at
  // once got the same one (a member's route on another's client port: 'address already in use').
  const picked = new Set<number>();
  while (picked.size < 2 * n) picked.add(await freePort());
  const all = [...picked];
  const ports = Array.from({ length: n }, (_, i) => ({
    client: all[2 * i]!,
    route: all[2 * i + 1]!,
  }));
  const routes = ports.map((p) => `"nats-route://127.0.0.1:${p.route}"`).join(', ');
  const members = await Promise.all(
    ports.map(async (p, i) => {
      const name = `s${i + 1}`;
      const home = join(dir, name);
      await mkdir(home, { recursive: true });
      const sync = opts.syncAlways && hasSyncInterval(version) ? ', sync_interval: always' : '';
      const conf = [
        `server_name: ${name}`,
        `listen: "127.0.0.1:${p.client}"`,
        'max_payload: 8MB',
        `jetstream { store_dir: "${join(home, 'store')}", max_memory_store: 256MB, max_file_store: 8GB${sync} }`,
        `cluster { name: ${clusterName}, listen: "127.0.0.1:${p.route}", routes: [${routes}] }`,
      ].join('\n');
      const file = join(home, 'nats.conf');
      await writeFile(file, conf);
      return member(name, p.client, file, join(home, 'store'));
    }),
  );
  const dispose = async () => {
    await Promise.all(members.map((m) => m.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // Started together: one that fails must not leave the others running.
    const started = await Promise.allSettled(members.map((m) => m.start()));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await dispose();
    throw err;
  }
  const url = members.map((m) => m.url).join(',');
  const cluster: NatsCluster = {
    members,
    url,
    servers: members.map((m) => m.url),
    member(name) {
      const m = members.find((x) => x.name === name);
      if (!m) throw new Error(`no cluster member ${name}`);
      return m;
    },
    async ready(timeoutMs = 20_000) {
      await waitForMetaLeader(
        members.filter((m) => m.running),
        timeoutMs,
      );
    },
    stop: dispose,
    async [Symbol.asyncDispose]() {
      await cluster.stop();
    },
  };
  await cluster.ready().catch(async (err: unknown) => {
    await dispose();
    throw err;
  });
  return cluster;
}

function member(name: string, port: number, file: string, storeDir: string): ClusterMember {
  let proc: ChildProcess | undefined;
  let stderr = '';
  const running = () => !!proc && proc.exitCode === null && proc.signalCode === null;
  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    const child = proc;
    if (!child || !running()) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill(signal);
    await gone;
  };
  const m: ClusterMember = {
    name,
    port,
    storeDir,
    url: `nats://127.0.0.1:${port}`,
    get running() {
      return running();
    },
    async start() {
      if (running()) return;
      const child = reapOnExit(
        spawn(BINARY, ['-c', file], { stdio: ['ignore', 'ignore', 'pipe'] }),
      );
      proc = child;
      child.stderr?.on('data', (b: Buffer) => {
        stderr = (stderr + b.toString()).slice(-4000);
      });
      const exited = new Promise<never>((_, reject) =>
        child.once('exit', (code) =>
          reject(new Error(`nats-server ${name} exited early (code ${code}): ${stderr.trim()}`)),
        ),
      );
      exited.catch(() => undefined);
      await Promise.race([probeTcp(port), exited]);
    },
    kill: () => kill('SIGKILL'),
    async restart() {
      await kill('SIGKILL');
      await m.start();
    },
    pause() {
      proc?.kill('SIGSTOP');
    },
    resume() {
      proc?.kill('SIGCONT');
    },
    async stop() {
      // A server that does not end on SIGTERM within 10 s is killed: a stop always stops.
      const hung = setTimeout(() => proc?.kill('SIGKILL'), 10_000);
      await kill('SIGTERM');
      clearTimeout(hung);
    },
    async [Symbol.asyncDispose]() {
      await m.stop();
    },
  };
  return m;
}

/**
 * JetStream answers account info only once the meta group has a leader: ask each running member
 * in turn until one does.
 */
async function waitForMetaLeader(members: readonly ClusterMember[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (const m of members) {
    let nc: NatsConnection | undefined;
    try {
      nc = await connect({ servers: m.url, noAsyncTraces: true, reconnect: false });
      const jsm = await jetstreamManager(nc, { timeout: 1_000, checkAPI: false });
      for (;;) {
        try {
          await jsm.getAccountInfo();
          break;
        } catch (err) {
          last = err;
          if (Date.now() > deadline) throw err;
          await sleep(100);
        }
      }
    } finally {
      await nc?.close();
    }
  }
  if (Date.now() > deadline) throw new Error(`no JetStream meta leader: ${String(last)}`);
}

/** The server leading `stream`'s Raft group (undefined while there is none). */
export async function streamLeader(
  nc: NatsConnection,
  stream: string,
): Promise<string | undefined> {
  const info = await (await jetstreamManager(nc)).streams.info(stream);
  return info.cluster?.leader;
}

/**
 * Ask `stream`'s leader to step down (`$JS.API.STREAM.LEADER.STEPDOWN.<stream>`), then wait
 * until another server leads it; resolves with the new leader's name and how long that took.
 */
export async function stepDownStream(
  nc: NatsConnection,
  stream: string,
  timeoutMs = 15_000,
): Promise<{ from: string | undefined; to: string; ms: number }> {
  const from = await streamLeader(nc, stream);
  const t0 = performance.now();
  const reply = await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, '', {
    timeout: 5_000,
  });
  const answer = reply.json<{ success?: boolean; error?: { description: string } }>();
  if (!answer.success) throw new Error(`stepdown of ${stream}: ${answer.error?.description}`);
  const to = await waitForStreamLeader(nc, stream, (l) => l !== from, timeoutMs);
  return { from, to, ms: performance.now() - t0 };
}

/** Until `stream` has a leader that `ok` accepts; resolves with its name. */
export async function waitForStreamLeader(
  nc: NatsConnection,
  stream: string,
  ok: (leader: string) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leader = await streamLeader(nc, stream).catch(() => undefined);
    if (leader && ok(leader)) return leader;
    if (Date.now() > deadline) throw new Error(`${stream}: no new leader within ${timeoutMs} ms`);
    await sleep(20);
  }
}
