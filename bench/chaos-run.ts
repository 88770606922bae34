import { Kvm } from '@nats-io/kv';
import { createWriteStream } from 'node:fs';
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stateName } from '../src/actors/index.js';
import { createApiClient, type ApiClient } from '../src/api/index.js';
import { connectFarm } from '../src/cli/connection.js';
import { EVENTS_STREAM } from '../src/events/index.js';
import { spawnDrover, type DroverProcess } from '../test/support/drover-process.js';
import { drover } from '../test/support/drover-cli.js';
import { startFarm, type Farm } from '../test/support/farm.js';
import {
  startNatsCluster,
  streamLeader,
  type ClusterMember,
  type NatsCluster,
} from '../test/support/nats-cluster.js';
import { checkLog, readVerify, type LogFindings, type ReplayDiff } from './chaos-checks.js';
import { submitMix, type EarlyClears, type Submitted } from './chaos-workload.js';

export interface ChaosOptions {
  /** Jobs to submit (a parent with its children counts each). */
  readonly jobs: number;
  /** Pause between two chaos actions, and how long a killed part stays down. */
  readonly actionEveryMs?: number;
  readonly downMs?: number;
  /** Give up waiting for every job to end after this long (a lost job shows as not terminal). */
  readonly settleMs?: number;
  /** Keep the chaos going at least this long from the start (it also lasts the submissions). */
  readonly chaosMs?: number;
  /**
   * Heartbeat silence after which a node is lost (default 4 s). An agent that is alive while its
   * node is declared lost does not stop its processes yet (the partition test's known bug), so a
   * run that must not meet that bug gives restarts more room than a loaded machine may take.
   */
  readonly nodeLostMs?: number;
  /**
   * Give the run up this long after its start (default: never): what it started is stopped and
   * `runChaos` rejects, naming the phase it was in. A test sets it below its own timeout, so a
   * run that hangs still cleans up after itself.
   */
  readonly deadlineMs?: number;
  /** Sample the RSS of each service this often (the soak mode), 0 = never. */
  readonly rssEveryMs?: number;
  readonly log?: (line: string) => void;
}

interface Stats {
  p50: number | null;
  max: number | null;
  n: number;
}

export interface ChaosReport extends LogFindings {
  jobs: number;
  elapsedS: number;
  kills: { scheduler: number; agent: number; natsServer: number };
  pauses: number;
  /** Services that ended by themselves and were started again (a scheduler deposed while paused). */
  restarts: number;
  takeoverMs: { scheduler: Stats; agentReadoption: Stats; streamLeader: Stats };
  notTerminal: number;
  /** Jobs that ended otherwise than planned (failed, or cancelled without a cancel), up to 20. */
  unexpected: string[];
  /** Jobs not ended, with their state, up to 20. */
  stuck: string[];
  processesLeft: number;
  replayEqual: boolean;
  /**
   * The clears of the workload: planned, accepted by the API (each must be in the log:
   * `clearsMissing`), given up (never accepted: no promise, said with why, up to 20), and how
   * the API answered the one asked while its job was still cancelling.
   */
  clears: { planned: number; accepted: number; givenUp: string[]; early: EarlyClears };
  /**
   * Why replay was not equal to live (absent when it was): `replay --verify`'s differences, each
   * the projection, the path in its state (entity key included) and both values, bounded.
   */
  replayDiffs?: ReplayDiff[];
  rss?: { service: string; mb: number[] }[];
}

const stats = (xs: number[]): Stats => {
  const s = [...xs].sort((a, b) => a - b);
  return {
    p50: s.length ? s[Math.floor((s.length - 1) / 2)]! : null,
    max: s.at(-1) ?? null,
    n: s.length,
  };
};

/** A drover service the driver may kill, pause and start again under the same name. */
interface Service {
  readonly name: string;
  readonly kind: 'scheduler' | 'agent';
  proc: DroverProcess;
  start(): DroverProcess;
  /** Killed on purpose and waiting out its pause: the supervisor leaves it down. */
  down?: boolean;
}

const alive = (p: DroverProcess) => p.child.exitCode === null && p.child.signalCode === null;

/**
 * The chaos run of issue 23 point 3: a three-server cluster at R3, two schedulers and three
 * agents as real processes, a mixed workload, and a driver that kills (SIGKILL) the leading
 * scheduler, an agent and one nats-server at a time (each started again after a pause) and
 * pauses processes (SIGSTOP/SIGCONT), until every accepted job has ended. Then the findings are
 * read from the log (chaos-checks.ts) and the farm is stopped.
 */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const say = opts.log ?? (() => undefined);
  const actionEveryMs = opts.actionEveryMs ?? 4_000;
  const downMs = opts.downMs ?? 2_000;
  const started = Date.now();
  const marker = `chaos${process.pid}x${Date.now().toString(36)}`;
  let cluster: NatsCluster | undefined;
  let farm: Farm | undefined;
  let dataDir: string | undefined;
  const services: Service[] = [];
  /**
   * Set once the run is over (or given up): from then on nothing is started again, so the
   * clean-up below cannot be raced by a restart the driver or the supervisor still had pending.
   */
  let closing = false;
  const report: ChaosReport = {
    jobs: 0,
    elapsedS: 0,
    kills: { scheduler: 0, agent: 0, natsServer: 0 },
    pauses: 0,
    restarts: 0,
    takeoverMs: { scheduler: stats([]), agentReadoption: stats([]), streamLeader: stats([]) },
    notTerminal: 0,
    unexpected: [],
    stuck: [],
    processesLeft: 0,
    replayEqual: false,
    clears: {
      planned: 0,
      accepted: 0,
      givenUp: [],
      early: { refused: 0, accepted: 0, unanswered: 0, odd: [] },
    },
    doubleSuccess: 0,
    resultsAfterClear: 0,
    events: 0,
  };
  const takeovers = { scheduler: [] as number[], agent: [] as number[], leader: [] as number[] };
  const rss = new Map<string, number[]>();
  /** Re-adoptions being timed (the driver does not wait for a restarted agent to be up). */
  const readoptions: Promise<void>[] = [];
  let stop = false;
  let sampler: Promise<void> = Promise.resolve();
  let phase = 'starting the cluster';
  let giveUp: NodeJS.Timeout | undefined;
  const body = run();
  const ended = body.then(
    () => undefined,
    () => undefined,
  );
  try {
    // Past the deadline the run is given up where it stands (its pending awaits fail once the
    // clean-up stops what they wait on), so that the `finally` below always runs.
    const deadline = new Promise<never>((_, reject) => {
      if (opts.deadlineMs === undefined) return;
      giveUp = setTimeout(
        () => reject(new Error(`chaos run given up after ${opts.deadlineMs} ms, while ${phase}`)),
        Math.max(0, started + opts.deadlineMs - Date.now()),
      );
    });
    await Promise.race([body, deadline]);
  } finally {
    clearTimeout(giveUp);
    closing = true;
    stop = true;
    await cleanUp();
    // A run given up may still be starting something (a cluster takes seconds to come up):
    // each start sees `closing` and stops what it started; wait for that, then sweep again.
    await Promise.race([ended, sleep(30_000)]);
    await cleanUp();
  }
  report.takeoverMs = {
    scheduler: stats(takeovers.scheduler),
    agentReadoption: stats(takeovers.agent),
    streamLeader: stats(takeovers.leader),
  };
  report.elapsedS = Math.round((Date.now() - started) / 100) / 10;
  if (opts.rssEveryMs) report.rss = [...rss].map(([service, mb]) => ({ service, mb }));
  return report;

  async function run(): Promise<void> {
    // Each thing started is stopped at once when the run was given up while it started (the
    // clean-up has run by then and would not see it).
    const c = await kept(startNatsCluster(3), (x) => x.stop());
    cluster = c;
    const url = c.url;
    phase = 'starting the farm';
    await (await connectFarm(url, { DROVER_REPLICAS: '3' })).close();
    const f = await kept(startFarm({ cluster: c, agents: 0, scheduler: false }), (x) => x.stop());
    farm = f;
    dataDir = await kept(mkdtemp(join(tmpdir(), 'drover-chaos-')), (d) =>
      rm(d, { recursive: true, force: true }),
    );
    const env = (extra: Record<string, string>) => ({
      DROVER_NATS_URL: url,
      DROVER_DATA_DIR: dataDir!,
      DROVER_LEASE_TTL_MS: '1500',
      DROVER_NODE_LOST_MS: String(opts.nodeLostMs ?? 4_000),
      DROVER_HEARTBEAT_MS: '500',
      DROVER_RETRY_BACKOFF_MS: '100',
      LOG_LEVEL: 'error',
      ...extra,
    });
    const service = (name: string, kind: Service['kind'], args: string[], extra = {}) => {
      const svc: Service = {
        name,
        kind,
        start: () => {
          if (closing) throw new Error(`not starting ${name}: the run is over`);
          const proc = spawnDrover(args, env(extra));
          // CHAOS_LOG_DIR keeps every incarnation's output (a restart replaces `proc`, and with
          // it what the run could show of a process that lost its lease).
          const dir = process.env.CHAOS_LOG_DIR;
          if (dir) {
            const file = createWriteStream(join(dir, `${name}.log`), { flags: 'a' });
            file.write(`--- ${new Date().toISOString()} start\n`);
            proc.child.stdout?.pipe(file, { end: false });
            proc.child.stderr?.pipe(file, { end: false });
          }
          return proc;
        },
        proc: undefined as unknown as DroverProcess,
      };
      svc.proc = svc.start();
      services.push(svc);
    };
    // CHAOS_SCHEDULER_LOG_LEVEL (say `info`): the schedulers' takeovers, stalls and releases.
    const schedulerLog = process.env.CHAOS_SCHEDULER_LOG_LEVEL;
    for (const id of ['sched-a', 'sched-b'])
      service(id, 'scheduler', ['scheduler', '--json'], {
        DROVER_SCHEDULER_ID: id,
        ...(schedulerLog && { LOG_LEVEL: schedulerLog }),
      });
    for (const node of ['node-1', 'node-2', 'node-3'])
      service(node, 'agent', ['agent', '--node', node, '--cpus', '4', '--mem', '4G', '--json']);
    const api = createApiClient(f.nc);
    phase = 'waiting for the services';
    // A standby scheduler prints its line only once it leads: one leader and every agent.
    const up = (s: Service) => s.proc.output().includes('{');
    await waitFor(
      () => services.filter((s) => s.kind === 'agent').every(up) && services.some(up),
      90_000,
      'services up',
      () => closing,
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}: ${services.map((s) => `${s.name}: ${s.proc.output().slice(-500)}`).join(' | ')}`,
      );
    });
    if (opts.rssEveryMs)
      sampler = (async () => {
        while (!stop) {
          for (const s of services) {
            const mb = await rssMb(s.proc.child.pid);
            if (mb !== undefined) rss.set(s.name, [...(rss.get(s.name) ?? []), mb]);
          }
          await sleep(opts.rssEveryMs!);
        }
      })();
    phase = 'submitting under chaos';
    const chaosFrom = Date.now();
    const work = submitMix(f, api, opts.jobs, marker, () => stop, say);
    const driver = drive();
    const submitted = await work;
    report.jobs = submitted.all.length;
    say(`submitted ${report.jobs} jobs`);
    await submitted.followUps;
    // The chaos lasts at least `chaosMs`; then the farm gets a quiet spell to finish: a job
    // that does not end then was lost, not slowed down.
    await sleep(Math.max(0, chaosFrom + (opts.chaosMs ?? 0) - Date.now()));
    stop = true;
    phase = 'ending the chaos';
    await driver;
    await Promise.all(readoptions);
    say(`chaos over after ${Math.round((Date.now() - started) / 1000)} s`);
    phase = 'settling';
    const end = await settle(f, submitted, opts.settleMs ?? 300_000, () => closing);
    report.notTerminal = end.notTerminal;
    report.unexpected = end.unexpected;
    report.stuck = end.stuck;
    // Each odd ending with its history: events by seq, a failure's cause beside it.
    const history = async (entity: 'job' | 'chunk' | 'worker', id: string) =>
      (await f.events(entity, id))
        .map((e) => {
          const cause = (e.data as { cause?: string } | undefined)?.cause;
          return `${e.recorded.seq}:${e.type}${cause ? `(${cause})` : ''}`;
        })
        .join(' ');
    for (const entry of [...end.stuck.slice(0, 5), ...end.unexpected.slice(0, 5)]) {
      const id = entry.split(':')[0]!;
      say(
        `${end.stuck.includes(entry) ? 'stuck' : 'unexpected'} ${entry}: ${await history('job', id)}`,
      );
      say(`  chunk 0: ${await history('chunk', `${id}:0`)}`);
      for (const attempt of [1, 2])
        say(`  worker ${attempt}: ${await history('worker', `${id}:0:${attempt}`)}`);
    }
    if (end.stuck.length > 0 || end.unexpected.length > 0 || submitted.clearsGivenUp.length > 0)
      for (const s of services) say(`${s.name} said: ${s.proc.output().slice(-1500)}`);
    await sampler;
    say(`settled: ${report.notTerminal} not terminal`);
    phase = 'checking';
    closing = true;
    await Promise.all(services.map((s) => s.proc.stop()));
    const left = await processesWith(marker);
    report.processesLeft = left.length;
    for (const p of left) await explainLeftover(f, p, say);
    Object.assign(report, await checkLog(f.log, submitted));
    report.clears = {
      planned: submitted.toClear.size,
      accepted: submitted.clearsAccepted.size,
      givenUp: submitted.clearsGivenUp.slice(0, 20),
      early: submitted.earlyClears,
    };
    const verdict = readVerify(await drover(url, ['replay', '--verify', '--json']));
    report.replayEqual = verdict.equal;
    if (!verdict.equal) {
      report.replayDiffs = verdict.diffs;
      for (const d of verdict.diffs)
        say(`replay differs: ${d.projection} ${d.path}: live ${d.live} rebuilt ${d.rebuilt}`);
    }
  }

  async function kept<T>(starting: Promise<T>, dispose: (x: T) => Promise<unknown>): Promise<T> {
    const x = await starting;
    if (!closing) return x;
    await dispose(x).catch(() => undefined);
    throw new Error('the run was given up while it started');
  }

  /**
   * Stop everything the run started, whatever state it was left in: each step on its own, so a
   * failing one does not keep the cluster or a service running (issue 23: a failed run left a
   * nats-server behind).
   */
  async function cleanUp(): Promise<void> {
    const steps: [string, () => Promise<unknown>][] = [
      ['services', () => Promise.all(services.map((s) => s.proc.stop()))],
      ['workloads', async () => (await processesWith(marker)).forEach((p) => killTree(p.pid))],
      ['farm', async () => take(farm, () => (farm = undefined))?.stop()],
      ['cluster', async () => take(cluster, () => (cluster = undefined))?.stop()],
      ['data dir', async () => rmDir(take(dataDir, () => (dataDir = undefined)))],
    ];
    for (const [what, step] of steps) {
      await step().catch((err: unknown) => say(`clean-up of ${what} failed: ${String(err)}`));
    }
  }

  /** `x`, forgotten by its holder (`forget`): each thing is stopped once. */
  function take<T>(x: T, forget: () => void): T {
    forget();
    return x;
  }

  /**
   * Round robin over the four kinds of trouble, whole rounds, until told to stop and each kind
   * has acted at least once (an action finds no victim at times, e.g. no leader while the lease
   * changes hands: a short run that met it had no scheduler kill at all); at most 8 rounds more.
   */
  async function drive(): Promise<void> {
    const actions = [killLeader, killAgent, killServer, pauseOne];
    const eachActed = () =>
      Math.min(report.kills.scheduler, report.kills.agent, report.kills.natsServer, report.pauses) >
      0;
    let extra = 0;
    for (let i = 0; ; i++) {
      if (i % actions.length === 0 && stop && (eachActed() || extra++ >= 8 || closing)) return;
      await sleep(actionEveryMs);
      supervise();
      try {
        await actions[i % actions.length]!();
      } catch (err) {
        say(`chaos action failed: ${(err as Error).message}`);
      }
    }
  }

  /**
   * As systemd would: a service that ended by itself is started again (a scheduler that lost
   * its lease, e.g. while paused, exits so that a fresh process stands by).
   */
  function supervise(): void {
    for (const s of services)
      if (!s.down && !closing && !alive(s.proc)) {
        const { exitCode, signalCode } = s.proc.child;
        const last = s.proc.output().trim().split('\n').slice(-15).join(' | ').slice(-2500);
        say(`${s.name} exited by itself (${exitCode ?? signalCode}): ${last}; starting it again`);
        report.restarts++;
        s.proc = s.start();
      }
  }

  async function killLeader(): Promise<void> {
    const epoch = await leaseEpoch();
    const leader = services.find(
      (s) =>
        s.kind === 'scheduler' && alive(s.proc) && s.proc.output().includes(`"epoch":${epoch}`),
    );
    if (!leader) return say(`chaos: no scheduler says it leads at epoch ${epoch}; none killed`);
    const t0 = Date.now();
    leader.down = true;
    await leader.proc.kill9();
    report.kills.scheduler++;
    supervise();
    await waitFor(
      async () => (await leaseEpoch()) > epoch,
      60_000,
      'scheduler takeover',
      () => closing,
    );
    takeovers.scheduler.push(Date.now() - t0);
    await sleep(downMs);
    leader.proc = leader.start();
    leader.down = false;
  }

  async function killAgent(): Promise<void> {
    const agents = services.filter((s) => s.kind === 'agent' && alive(s.proc));
    const victim = agents[report.kills.agent % agents.length];
    if (!victim) return;
    victim.down = true;
    await victim.proc.kill9();
    report.kills.agent++;
    await sleep(downMs);
    const t0 = Date.now();
    victim.proc = victim.start();
    victim.down = false;
    const proc = victim.proc;
    // Timed on the side: a restart under load takes seconds the next action need not wait for.
    readoptions.push(
      waitFor(
        () => proc.output().includes('{'),
        60_000,
        'agent re-adoption',
        () => closing,
      ).then(
        () => void takeovers.agent.push(Date.now() - t0),
        (err: Error) => say(`chaos: ${err.message}`),
      ),
    );
  }

  async function killServer(): Promise<void> {
    const [f, c] = [farm!, cluster!];
    const leader = await streamLeader(f.nc, EVENTS_STREAM).catch(() => undefined);
    const victim: ClusterMember | undefined =
      c.members.find((m) => m.name === leader && m.running) ?? c.members.find((m) => m.running);
    if (!victim) return;
    const t0 = Date.now();
    await victim.kill();
    report.kills.natsServer++;
    if (victim.name === leader) {
      await waitFor(
        async () => {
          const now = await streamLeader(f.nc, EVENTS_STREAM).catch(() => undefined);
          return now !== undefined && now !== victim.name;
        },
        60_000,
        'stream leader',
        () => closing,
      );
      takeovers.leader.push(Date.now() - t0);
    }
    await sleep(downMs);
    // Checked right before the (synchronous) spawn: the clean-up may have stopped the cluster.
    if (closing) return;
    await victim.start();
    await c.ready(60_000);
  }

  async function pauseOne(): Promise<void> {
    const live = services.filter((s) => alive(s.proc));
    const victim = live[report.pauses % live.length];
    if (!victim?.proc.child.pid) return;
    victim.proc.child.kill('SIGSTOP');
    report.pauses++;
    await sleep(Math.min(downMs, 1_500));
    victim.proc.child.kill('SIGCONT');
  }

  async function leaseEpoch(): Promise<number> {
    const kv = await new Kvm(farm!.nc).open('drover_scheduler');
    const entry = await kv.get('leader');
    if (!entry?.value.length) return 0;
    return entry.json<{ epoch: number }>().epoch;
  }
}

async function waitFor(
  check: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
  quit: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (quit()) throw new Error(`gave up waiting for ${what}: the run is over`);
    if (await Promise.resolve(check()).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Until every submitted job has ended (or `ms` passed): how many have not, and odd endings. */
async function settle(
  farm: Farm,
  submitted: Submitted,
  ms: number,
  quit: () => boolean,
): Promise<{ notTerminal: number; unexpected: string[]; stuck: string[] }> {
  const deadline = Date.now() + ms;
  let pending = [...submitted.all];
  const unexpected: string[] = [];
  let stuck: string[] = [];
  while (pending.length && Date.now() < deadline && !quit()) {
    const next: string[] = [];
    stuck = [];
    for (const id of pending) {
      const state = await farm.job(id).then(stateName, () => 'unknown');
      if (!['succeeded', 'failed', 'cancelled'].includes(state)) {
        next.push(id);
        stuck.push(`${id}:${state}`);
      } else if (state !== (submitted.cancelled.has(id) ? 'cancelled' : 'succeeded'))
        unexpected.push(`${id}:${state}`);
    }
    pending = next;
    if (pending.length) await sleep(500);
  }
  return {
    notTerminal: pending.length,
    unexpected: unexpected.slice(0, 20),
    stuck: stuck.slice(0, 20),
  };
}

interface Leftover {
  pid: number;
  cmd: string;
  /** The attempt it runs (`DROVER_WORKER` in its environment). */
  worker: string;
}

/** Processes whose command line carries the run's marker (every workload command does). */
async function processesWith(marker: string): Promise<Leftover[]> {
  const found: Leftover[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmd.includes(marker)) continue;
    const env = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    const worker = /(?:^|\0)DROVER_WORKER=([^\0]*)/.exec(env)?.[1] ?? '?';
    found.push({ pid: Number(pid), cmd: cmd.replaceAll('\0', ' ').trim(), worker });
  }
  return found;
}

/**
 * A process left behind is a bug to chase: say which attempt it runs and what the log says of
 * its worker and chunk, then kill it (a run leaves nothing on the machine).
 */
async function explainLeftover(farm: Farm, p: Leftover, say: (line: string) => void) {
  const types = async (entity: 'worker' | 'chunk', id: string) =>
    (await farm.events(entity, id).catch(() => [])).map((e) => `${e.recorded.seq}:${e.type}`);
  const chunk = p.worker.slice(0, p.worker.lastIndexOf(':'));
  say(`left: pid ${p.pid} worker ${p.worker}: ${p.cmd.slice(0, 200)}`);
  say(`  worker: ${(await types('worker', p.worker)).join(' ')}`);
  say(`  chunk: ${(await types('chunk', chunk)).join(' ')}`);
  killTree(p.pid);
}

/** SIGKILL a workload process: its group (a wrapper leads one), else itself. */
function killTree(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
      return;
    } catch {
      // not a group leader, or ended meanwhile
    }
  }
}

async function rmDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

async function rssMb(pid: number | undefined): Promise<number | undefined> {
  if (!pid) return undefined;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
}

export type { ApiClient, NatsCluster };
