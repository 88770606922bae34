import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARCHIVE_STREAM,
  EVENTS_STREAM,
  compactLog,
  createJetStreamEventLog,
  eventSubject,
  loadArchiveRuns,
  verifyEventLog,
  type EventLog,
} from '../../../src/events/index.js';
import {
  allProjections,
  auditPlan,
  createEventFetcher,
  createKvProjectionStore,
  createProjectionRunner,
  type AuditState,
} from '../../../src/projections/index.js';
import { useEventLog } from '../../support/nats-client.js';
import { snapshots } from '../../support/projection-fixture.js';
import { farmHistory, type Entry } from '../../support/projection-history.js';

const farm = useEventLog({ beforeAll, afterAll });
const ps = allProjections();
const TERMINAL = new Set(['job.succeeded', 'job.failed', 'job.cancelled']);

/** Append in order, each conditional on its entity's last sequence (as Drover does): chained. */
async function appendChained(log: EventLog, entries: readonly Entry[]): Promise<void> {
  const last = new Map<string, number>();
  for (const x of entries) {
    const key = eventSubject(x.entity, x.id);
    const r = await log.append(x.entity, x.id, [x.event], { expectedSeq: last.get(key) ?? 0 });
    if (!r.ok) throw new Error(`conflict on ${key}`);
    last.set(key, r.seqs[0] as number);
  }
}

/** What the CLI answers from the log: every projection from zero, to the end and until a seq. */
async function answers(untilSeq: number, auditIds: readonly string[]) {
  const all = createProjectionRunner({ log: farm.log, projections: ps });
  await all.start({ fromZero: true });
  const until = createProjectionRunner({ log: farm.log, projections: ps });
  await until.start({ until: { seq: untilSeq } });
  const fetcher = await createEventFetcher(farm.nc);
  const audits: unknown[] = [];
  for (const id of auditIds) {
    const plan = auditPlan(all.state<AuditState>('audit'), id);
    const { events, corrupt } = await fetcher.fetch(plan.seqs, plan.subjects);
    audits.push({ seqs: events.map((e) => e.recorded.seq), ids: events.map((e) => e.id), corrupt });
  }
  const verify = await verifyEventLog(farm.nc);
  const out = {
    projections: snapshots(all, ps),
    until: snapshots(until, ps),
    audits,
    verify: { whole: verify.whole, messages: verify.messages, lastSeq: verify.lastSeq },
  };
  await all.stop();
  await until.stop();
  return out;
}

async function liveCount(jsm: JetStreamManager): Promise<number> {
  return (await jsm.streams.info(EVENTS_STREAM)).state.messages;
}

async function hasLive(jsm: JetStreamManager, subject: string): Promise<boolean> {
  return (await jsm.direct.getMessage(EVENTS_STREAM, { last_by_subj: subject })) !== null;
}

describe('drover compact on a real nats-server', () => {
  it('moves only done job trees; crashes at each step, then the full move, change no answer; a start after it uses the checkpoint', async () => {
    const jsm = await jetstreamManager(farm.nc);
    const tag = `c${randomUUID().slice(0, 4)}`;
    const done = farmHistory(3, { jobs: 30, users: 3, tag: `${tag}d` });
    // A second farm's jobs stopped before their end: never terminal, so never moved.
    const running = farmHistory(4, { jobs: 6, users: 2, tag: `${tag}r` }).filter(
      (x) => !(x.entity === 'job' && TERMINAL.has(x.event.type)),
    );
    await appendChained(farm.log, done);
    await appendChained(farm.log, running);
    const total = done.length + running.length;
    const doneJobs = [...new Set(done.filter((x) => x.entity === 'job').map((x) => x.id))];
    const runningSubjects = [...new Set(running.map((x) => eventSubject(x.entity, x.id)))];
    const auditIds = [doneJobs[0]!, doneJobs[7]!, `${doneJobs[2]}:0`, running[0]!.id];

    // The checkpoint a long-running service saved before the compaction.
    const store = await createKvProjectionStore(farm.nc, { bucket: `cp_${tag}` });
    const writer = createProjectionRunner({ log: farm.log, projections: ps, store });
    await writer.start();
    await writer.checkpoint();
    await writer.stop();

    const before = await answers(Math.floor(total / 2), auditIds);
    expect(before.verify).toEqual({ whole: true, messages: total, lastSeq: total });
    const opts = { olderThanMs: 0, now: Date.now() + 60_000 };

    const dry = await compactLog(farm.nc, { ...opts, dryRun: true });
    expect(dry.roots).toBeGreaterThan(0);
    expect(dry.run).toBeUndefined();
    expect(await liveCount(jsm)).toBe(total);

    // Crash after the copy, before the run is recorded: the copy is ignored, the log untouched.
    await compactLog(farm.nc, { ...opts, crashAfter: 'copy' });
    expect(await liveCount(jsm)).toBe(total);
    expect(await loadArchiveRuns(farm.nc, jsm)).toEqual([]);
    expect(await answers(Math.floor(total / 2), auditIds)).toEqual(before);

    // Crash after the record, before the purge: every moved event is in both places, read once.
    const recorded = await compactLog(farm.nc, { ...opts, crashAfter: 'record' });
    expect(recorded.run?.messages).toBe(dry.messages);
    expect(await liveCount(jsm)).toBe(total);
    expect(await answers(Math.floor(total / 2), auditIds)).toEqual(before);

    // The move itself (it copies again: the recorded copies are deduplicated by readers).
    const moved = await compactLog(farm.nc, opts);
    expect(moved.messages).toBe(dry.messages);
    expect(await liveCount(jsm)).toBe(total - moved.messages);
    expect(await hasLive(jsm, eventSubject('job', doneJobs[0]!))).toBe(false);
    for (const s of runningSubjects) expect(await hasLive(jsm, s)).toBe(true);
    expect(await answers(Math.floor(total / 2), auditIds)).toEqual(before);
    expect((await jsm.streams.info(ARCHIVE_STREAM)).state.messages).toBeGreaterThanOrEqual(
      3 * moved.messages,
    );

    // A compacted entity's history is read from the archive when asked.
    const reader = await createJetStreamEventLog(farm.nc, { readArchive: true });
    const history = await reader.read('job', doneJobs[0]!);
    expect(history.events.map((e) => e.type)).toEqual(
      done.filter((x) => x.entity === 'job' && x.id === doneJobs[0]).map((x) => x.event.type),
    );
    expect((await farm.log.read('job', doneJobs[0]!)).events).toEqual([]);
    await reader.close();

    // Nothing left to move: a second compaction moves nothing.
    expect((await compactLog(farm.nc, opts)).run).toBeUndefined();

    // A service started after the compaction restores its checkpoint and equals the rebuild.
    const restarted = createProjectionRunner({ log: farm.log, projections: ps, store });
    await restarted.start();
    expect([...restarted.restored].sort()).toEqual(ps.map((p) => `${p.name}-v${p.version}`).sort());
    expect(restarted.seq).toBe(total);
    expect(snapshots(restarted, ps)).toEqual(before.projections);
    await restarted.stop();
  });
});
