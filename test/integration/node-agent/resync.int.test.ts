import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  chunkBehaviour,
  chunkFold,
  createEntityRuntime,
  nodeBehaviour,
  stateName,
  workerBehaviour,
  type EntityRuntime,
} from '../../../src/actors/index.js';
import type { Actor, RecordedEvent } from '../../../src/events/index.js';
import { spawnDrover, type DroverProcess } from '../../support/drover-process.js';
import { startFarm, type Farm } from '../../support/farm.js';
import { liveInGroup } from './support.js';

/** Poll `probe` until it gives a value; the bound only stops a hang. */
async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Pids of processes whose parent is `ppid` and whose command line starts with `name`. */
async function childrenNamed(ppid: number, name: string): Promise<number[]> {
  const found: number[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const ppidOf = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppidOf !== ppid) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.startsWith(name)) found.push(Number(pid));
  }
  return found;
}

/** The pid of the running wrapper of `runDir` (found by the status file in its environment). */
async function runLeader(runDir: string): Promise<number | undefined> {
  const wanted = `DROVER_STATUS_FILE=${join(runDir, 'status')}\0`;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const env = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    if (env.includes(wanted)) return Number(pid);
  }
  return undefined;
}

const scheduler: Actor = { kind: 'scheduler', id: 'test-watchdog' };

/**
 * An agent that lives through its node being declared lost, and one killed mid-launch. The test
 * plays the scheduler's watchdog by hand (the farm's own waits 10 minutes), so the interleavings
 * the chaos run met by chance happen every time, with a real agent process, real processes and
 * a real nats-server: the watchdog appends `node.lost` first and the attempts' failures after
 * (nodeLostActions), and the agent may act in between; a launch may be under way while the
 * agent resyncs; the agent may die between starting a process and recording its pid. In each,
 * the attempt's process must not outlive what the log decided.
 */
describe('agent resync against its node loss', () => {
  let farm: Farm;
  let agent: DroverProcess;
  /** Where the test appends as the scheduler's watchdog would. */
  let log: EntityRuntime;
  const stateDir = () => join(farm.dataDir, 'agents', 'node-1');
  const recordFile = (worker: string) =>
    join(stateDir(), 'state', 'workers', `${encodeURIComponent(worker)}.json`);
  const runDir = (worker: string) => join(stateDir(), 'runs', worker.replaceAll(':', '_'));
  const startAgent = () =>
    spawnDrover(['agent', '--node', 'node-1', '--cpus', '4', '--mem', '2G'], {
      DROVER_NATS_URL: farm.server.url,
      DROVER_DATA_DIR: farm.dataDir,
      DROVER_HEARTBEAT_MS: '250',
    });
  const events = (entity: 'chunk' | 'worker' | 'node', id: string) => farm.events(entity, id);
  const types = (es: RecordedEvent[]) => es.map((e) => e.type);
  /** Its seq once node-1 has an event of `type` after `afterSeq`. */
  const nodeEvent = (type: string, afterSeq = 0) =>
    until(`node-1 ${type} after ${afterSeq}`, async () => {
      const e = (await events('node', 'node-1')).find(
        (x) => x.type === type && x.recorded.seq > afterSeq,
      );
      return e?.recorded.seq;
    });
  const started = (worker: string) =>
    until(`${worker} started`, async () => {
      const e = (await events('worker', worker)).find((x) => x.type === 'worker.started');
      return e?.type === 'worker.started' ? e.data : undefined;
    });
  const forkServer = () =>
    until(
      'the agent fork server',
      async () => (await childrenNamed(agent.child.pid!, 'drover-fork-server'))[0],
    );
  /** The watchdog's first append: the node is lost (its attempts' failures come after). */
  const declareLost = async () => {
    const r = await log.execute(nodeBehaviour, 'node-1', {
      type: 'MarkLost',
      id: `lost:node-1@${Date.now()}`,
      at: Date.now(),
      by: scheduler,
      data: { reason: 'no heartbeat for 9 s (the test)' },
    });
    expect(r.ok).toBe(true);
    return r.lastSeq;
  };
  /** The watchdog's later appends for an attempt live on the lost node. */
  const failAttempt = async (jobId: string, attempt: number) => {
    const worker = `${jobId}:0:${attempt}`;
    const reason = 'no heartbeat for 9 s (the test)';
    const at = Date.now();
    await log.execute(workerBehaviour, worker, {
      type: 'MarkLost',
      id: `node-lost:${worker}`,
      at,
      by: scheduler,
      data: { cause: 'NodeLost', reason },
    });
    await log.execute(chunkBehaviour, `${jobId}:0`, {
      type: 'ReportAttemptFailed',
      id: `node-lost:${worker}:chunk`,
      at,
      by: scheduler,
      data: { attempt, cause: 'NodeLost', message: reason, confirmed: false },
    });
  };
  /** Attempt 1 sleeps long (it must be stopped), a retry ends at once. */
  const submitLong = () =>
    farm.submit({
      name: 'long-first',
      user: 'alice',
      memMb: 16,
      command: ['sh', '-c', '[ "$DROVER_ATTEMPT" -ge 2 ] || sleep 300'],
    });
  /** The end state: one success, by a retry, and no attempt left unconfirmed. */
  const expectRetriedCleanly = async (jobId: string) => {
    expect(stateName(await farm.waitFor(jobId, undefined, 60_000))).toBe('succeeded');
    const chunk = await events('chunk', `${jobId}:0`);
    expect(types(chunk).filter((t) => t === 'chunk.succeeded')).toHaveLength(1);
    expect(chunkFold.foldEvents(chunk).context.attempt).toBeGreaterThanOrEqual(2);
    // The stop of attempt 1 is confirmed once its end is reported, which may follow the retry's.
    await until('attempt 1 confirmed stopped', async () => {
      const folded = chunkFold.foldEvents(await events('chunk', `${jobId}:0`));
      return folded.context.unconfirmed.length === 0 ? true : undefined;
    });
  };

  beforeAll(async () => {
    farm = await startFarm({ agents: 0, nodeLostMs: 600_000 });
    log = createEntityRuntime({ eventLog: farm.log });
    agent = startAgent();
    await nodeEvent('node.ready');
    // A first launch starts the agent's fork server (the later tests hold it).
    const warm = await farm.submit({ name: 'warm', user: 'alice', memMb: 16, command: ['true'] });
    expect(stateName(await farm.waitFor(warm, undefined, 60_000))).toBe('succeeded');
  }, 120_000);
  afterEach(async () => {
    // A held fork server must not stay stopped for the next test (or the farm's stop).
    const fs = (await childrenNamed(agent.child.pid!, 'drover-fork-server'))[0];
    if (fs) process.kill(fs, 'SIGCONT');
  });
  afterAll(async () => {
    // An orphan left by a failed run ends by itself instead of staying on the machine.
    if (farm) await writeFile(join(farm.dataDir, 'release-orphan'), '');
    await agent?.stop();
    await farm?.stop();
  }, 60_000);

  it('stops a process whose node was declared lost before its failure reached the log', async () => {
    const job = await submitLong();
    const { pgid } = await started(`${job}:0:1`);
    const lostSeq = await declareLost();
    // The agent meets its loss and rejoins (its resync is over) while attempt 1's failure is
    // not in the log yet: its chunk still names attempt 1 as running.
    await nodeEvent('node.ready', lostSeq);
    await failAttempt(job, 1);
    await until('attempt 1 stopped', async () =>
      (await liveInGroup(pgid)).length === 0 ? true : undefined,
    );
    await until('attempt 1 ended in the log', async () => {
      const ends = types(await events('worker', `${job}:0:1`));
      return ends.some((t) => t === 'worker.killed' || t === 'worker.exited') ? true : undefined;
    });
    await expectRetriedCleanly(job);
  }, 120_000);

  it('stops a process whose launch was under way while the agent resynced', async () => {
    const server = await forkServer();
    process.kill(server, 'SIGSTOP');
    const job = await submitLong();
    const worker = `${job}:0:1`;
    // Past its checks (the record is saved just before the process is forked): held there.
    await until('the launch held', async () => (existsSync(recordFile(worker)) ? true : undefined));
    const lostSeq = await declareLost();
    await nodeEvent('node.ready', lostSeq);
    process.kill(server, 'SIGCONT');
    const { pgid } = await started(worker);
    await failAttempt(job, 1);
    await until('attempt 1 stopped', async () =>
      (await liveInGroup(pgid)).length === 0 ? true : undefined,
    );
    await expectRetriedCleanly(job);
  }, 120_000);

  it('finds and re-adopts a process started just before its agent was killed', async () => {
    const release = join(farm.dataDir, 'release-orphan');
    const server = await forkServer();
    process.kill(server, 'SIGSTOP');
    const job = await farm.submit({
      name: 'orphan',
      user: 'alice',
      memMb: 16,
      command: ['sh', '-c', `while [ ! -e ${release} ]; do sleep 0.05; done`],
    });
    const worker = `${job}:0:1`;
    await until('the pid-less record', async () =>
      existsSync(recordFile(worker)) ? true : undefined,
    );
    // The record's second save (with the pid) now blocks on a FIFO in its temporary file's place:
    // the agent has started the process and not recorded its pid when it is killed.
    const tmp = `${recordFile(worker)}.tmp`;
    expect(spawnSync('mkfifo', [tmp]).status).toBe(0);
    process.kill(server, 'SIGCONT');
    // Forked: whether the agent is at its save yet or not, its pid is not recorded.
    const pid = await until('the process', () => runLeader(runDir(worker)));
    await agent.kill9();
    await rm(tmp, { force: true });
    expect(JSON.parse(await readFile(recordFile(worker), 'utf8'))).not.toHaveProperty('pid');

    const readySeq = (await events('node', 'node-1')).at(-1)!.recorded.seq;
    agent = startAgent();
    await nodeEvent('node.ready', readySeq);
    const w = types(await events('worker', worker));
    expect(w).not.toContain('worker.lost');
    expect(w).toContain('worker.started');
    expect((await started(worker)).pid).toBe(pid);
    await writeFile(release, '');
    expect(stateName(await farm.waitFor(job, undefined, 60_000))).toBe('succeeded');
    const chunk = chunkFold.foldEvents(await events('chunk', `${job}:0`));
    expect(chunk.context.attempt).toBe(1);
    expect(await runLeader(runDir(worker))).toBeUndefined();
  }, 120_000);

  it('settles a process that ended while its agent was down and its pid was never saved', async () => {
    // The chaos run's stuck job: the agent was killed after launching a short process and before
    // recording its start; the process ended meanwhile; the restarted agent reported its end, and
    // the chunk (still assigned: never started) refused it and stayed assigned for ever. Since the
    // launch reports the start while the pid's record is saved (a freed slot waits for neither),
    // a blocked save no longer holds the start back: the start and the end are in the log, the
    // record without a pid is settled at the restart, and attempt 1 stands (nothing refused).
    // The agent may have been restarted by the test before: its first launch starts its fork server.
    const warm = await farm.submit({ name: 'warm', user: 'alice', memMb: 16, command: ['true'] });
    expect(stateName(await farm.waitFor(warm, undefined, 60_000))).toBe('succeeded');
    const server = await forkServer();
    process.kill(server, 'SIGSTOP');
    const job = await farm.submit({
      name: 'quick-orphan',
      user: 'alice',
      memMb: 16,
      command: ['sh', '-c', 'exit 0'],
    });
    const worker = `${job}:0:1`;
    await until('the pid-less record', async () =>
      existsSync(recordFile(worker)) ? true : undefined,
    );
    // The pid's save blocks on a FIFO (as above) while the process runs and ends.
    const tmp = `${recordFile(worker)}.tmp`;
    expect(spawnSync('mkfifo', [tmp]).status).toBe(0);
    process.kill(server, 'SIGCONT');
    await until('its exit status', async () =>
      existsSync(join(runDir(worker), 'status')) ? true : undefined,
    );
    // Its start in the log too, reported while the save is still blocked: the exit status is the
    // wrapper's, written whatever the agent's pace, and a kill before the start is reported is
    // the other case (lost, run again: reconcile.ts), not this one.
    await started(worker);
    await agent.kill9();
    await rm(tmp, { force: true });
    expect(JSON.parse(await readFile(recordFile(worker), 'utf8'))).not.toHaveProperty('pid');

    agent = startAgent();
    expect(stateName(await farm.waitFor(job, undefined, 60_000))).toBe('succeeded');
    expect(types(await events('worker', worker))).toEqual([
      'worker.launching',
      'worker.started',
      'worker.exited',
    ]);
    const chunk = await events('chunk', `${job}:0`);
    expect(types(chunk)).not.toContain('chunk.command_rejected');
    expect(chunkFold.foldEvents(chunk).context.attempt).toBe(1);
  }, 120_000);
});
