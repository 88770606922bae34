import { jetstreamManager } from '@nats-io/jetstream';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  EVENTS_STREAM,
  compactLog,
  eventSubject,
  verifyEventLog,
  type EventLog,
} from '../../../src/events/index.js';
import { allProjections, createProjectionRunner } from '../../../src/projections/index.js';
import { openEventLog } from '../../support/nats-client.js';
import { startNatsServer } from '../../support/nats-server.js';
import { snapshots } from '../../support/projection-fixture.js';
import { farmHistory, type Entry } from '../../support/projection-history.js';

const run = promisify(execFile);
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

/** Every projection from zero (the archive merged in) and the log's integrity. */
async function answers(log: EventLog, nc: Parameters<typeof verifyEventLog>[0]) {
  const all = createProjectionRunner({ log, projections: ps });
  await all.start({ fromZero: true });
  const out = { projections: snapshots(all, ps), verify: await verifyEventLog(nc) };
  await all.stop();
  return { projections: out.projections, whole: out.verify.whole, lastSeq: out.verify.lastSeq };
}

/**
 * A compaction killed (SIGKILL) after its `killAt`-th purge call. The log: done work, then work
 * still running, then more done work, so each kind's moved prefix ends at the running work and
 * the later done work is purged entity by entity: the kill can land between kinds or inside one.
 */
async function killedMidPurge(killAt: (movedSubjects: number) => number) {
  const server = await startNatsServer();
  const { nc, log } = await openEventLog(server);
  try {
    const jsm = await jetstreamManager(nc);
    const done1 = farmHistory(5, { jobs: 8, users: 2, tag: 'k1' });
    const running = farmHistory(6, { jobs: 3, users: 2, tag: 'kr' }).filter(
      (x) => !(x.entity === 'job' && TERMINAL.has(x.event.type)),
    );
    const done2 = farmHistory(7, { jobs: 8, users: 2, tag: 'k2' });
    for (const part of [done1, running, done2]) await appendChained(log, part);
    const total = done1.length + running.length + done2.length;
    const before = await answers(log, nc);
    const now = Date.now() + 60_000;
    const dry = await compactLog(nc, { olderThanMs: 0, now, dryRun: true });
    expect(dry.subjects).toBeGreaterThan(50);

    const at = killAt(dry.subjects);
    const child = await run(
      process.execPath,
      ['--import', 'tsx', 'test/support/compact-child.ts'],
      {
        env: {
          ...process.env,
          // COMPACT_SRC: another tree's src/events/index.ts (the old compactor, killed the same way).
          COMPACT_CHILD: JSON.stringify({
            url: server.url,
            now,
            killAt: at,
            src: process.env.COMPACT_SRC,
          }),
        },
      },
    ).then(
      () => ({ signal: undefined }),
      (err: { signal?: string }) => ({ signal: err.signal }),
    );
    // Killed mid-purge: something left the live log, not everything planned.
    expect(child.signal, `the compaction ended before purge call ${at}`).toBe('SIGKILL');
    const left = (await jsm.streams.info(EVENTS_STREAM)).state.messages;
    expect(left).toBeLessThan(total);
    expect(left).toBeGreaterThan(total - dry.messages);

    // One re-run finishes the move: exactly what the first one planned left the live log.
    await compactLog(nc, { olderThanMs: 0, now });
    expect((await jsm.streams.info(EVENTS_STREAM)).state.messages).toBe(total - dry.messages);
    expect((await compactLog(nc, { olderThanMs: 0, now, dryRun: true })).subjects).toBe(0);
    expect(await answers(log, nc)).toEqual(before);
  } finally {
    await log.close();
    await nc.close();
    await server.stop();
  }
}

describe('drover compact killed mid-purge on a real nats-server', () => {
  it('after the first purge call (the workers moved in one call), a re-run finishes', async () => {
    await killedMidPurge(() => 1);
  });

  it('a quarter of the way through, a re-run finishes', async () => {
    await killedMidPurge((s) => Math.floor(s / 4));
  });

  it('near the end (jobs purged, some of their workers not, in the old order), a re-run finishes', async () => {
    await killedMidPurge((s) => Math.floor((s * 9) / 20));
  });
});
