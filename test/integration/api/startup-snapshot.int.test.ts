import { jetstreamManager } from '@nats-io/jetstream';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLiveModel, type LiveModel } from '../../../src/api/live-model.jetstream.js';
import { plainReadModel } from '../../../src/api/read-model-snapshot.js';
import {
  openStartupSnapshots,
  type StartupSnapshots,
} from '../../../src/api/startup-snapshot.jetstream.js';
import { compactLog } from '../../../src/events/index.js';
import { fairshareProjection, usageProjection } from '../../../src/projections/index.js';
import { drover } from '../../support/drover-cli.js';
import { spawnDrover } from '../../support/drover-process.js';
import { useEventLog } from '../../support/nats-client.js';
import { appendChained, farmHistory, type Entry } from '../../support/projection-history.js';

const farm = useEventLog({ beforeAll, afterAll });

/** A logger whose lines the test reads (the start-up says where it started from). */
function capturingLogger() {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  return { logger, lines };
}

function stateOf(live: LiveModel) {
  return {
    model: plainReadModel(live.model),
    fairshare: fairshareProjection.snapshot(live.fairshare),
    usage: usageProjection.snapshot(live.usage),
  };
}

/** The read model folded from the whole log, no snapshot: the reference. */
async function fullFold() {
  const live = await startLiveModel(farm.nc, farm.log, pino({ level: 'silent' }), {
    snapshots: null,
  });
  const state = stateOf(live);
  await live.stop();
  return state;
}

describe('start-up snapshots of the read model on a real nats-server', () => {
  it('a start from the snapshot saved on stop, plus the tail since, equals a full fold; a foreign snapshot is ignored', async () => {
    const tag = `s${randomUUID().slice(0, 4)}`;
    const history = farmHistory(11, { jobs: 40, users: 3, tag });
    const cut = Math.floor(history.length / 2);
    const chain = await appendChained(farm.log, history.slice(0, cut));
    const snapshots: StartupSnapshots = await openStartupSnapshots(
      farm.nc,
      'read-model',
      pino({ level: 'silent' }),
      { bucket: `snap_${tag}` },
    );
    const first = await startLiveModel(farm.nc, farm.log, pino({ level: 'silent' }), {
      snapshots,
    });
    const savedAt = first.model.seq;
    await first.stop();
    expect((await snapshots.load())?.seq).toBe(savedAt);

    // The rest of the history, with entities the snapshot saw half-way.
    await appendChained(farm.log, history.slice(cut), chain);

    const { logger, lines } = capturingLogger();
    const resumed = await startLiveModel(farm.nc, farm.log, logger, { snapshots });
    expect(lines.join('')).toMatch(/restored from its start-up snapshot/);
    expect(lines.join('')).toMatch(/"folded":\d+/);
    const folded = JSON.parse(lines.find((l) => l.includes('caught up')) as string) as {
      folded: number;
    };
    // Only the tail was folded, not the log from its start.
    expect(folded.folded).toBe(resumed.model.seq - savedAt);
    const reference = await fullFold();
    expect(stateOf(resumed)).toEqual(reference);
    expect(resumed.model.jobs.size).toBe(40);
    await resumed.stop();

    // A snapshot that is not one (other code, a damaged value) is ignored, never mis-read.
    await snapshots.save(3, { model: { seq: 3, entities: 'nonsense' } });
    const rebuilt = capturingLogger();
    const again = await startLiveModel(farm.nc, farm.log, rebuilt.logger, { snapshots });
    expect(rebuilt.lines.join('')).toMatch(/snapshot unusable/);
    expect(stateOf(again)).toEqual(reference);
    await again.stop();
  });
});

describe('compacted jobs after a restart of `drover api`', () => {
  it('`show` and `jobs --all` still answer a job compacted after the snapshot was taken', async () => {
    const tag = `k${randomUUID().slice(0, 4)}`;
    const url = farm.server.url;
    const history = farmHistory(5, { jobs: 12, users: 2, tag });
    const jobEvents = (id: string) => history.filter((x) => x.entity === 'job' && x.id === id);
    // Cut the history where some job has begun but not ended: its end comes after the snapshot.
    const ids = [...new Set(history.filter((x) => x.entity === 'job').map((x) => x.id))];
    const straddling = ids.find((id) => {
      const at = jobEvents(id).map((x) => history.indexOf(x));
      return at.length > 1 && (at[0] as number) < history.length / 2;
    }) as string;
    const lastOf = history.indexOf(jobEvents(straddling).at(-1) as Entry);
    const cut = lastOf; // everything before the job's final event
    const chain = await appendChained(farm.log, history.slice(0, cut));

    const before = spawnDrover(['api', '--json'], {
      DROVER_NATS_URL: url,
      LOG_LEVEL: 'info',
      DROVER_READ_RETENTION: 'forever',
    });
    try {
      await waitFor(() => /"serving"/.test(before.output()), 120_000, before.output);
    } finally {
      // A clean stop saves the start-up snapshot. Right after "serving" the process is still
      // giving back its catch-up heap (a blocking GC) and its stop saves checkpoints first (2.5 s
      // at load 10): under heavy load that can outlast the helper's 15 s before SIGKILL, and then
      // no snapshot is saved and the start below folds the log instead. Its own exit, however
      // long it takes, is what is waited for (the test's timeout still ends a hang).
      await before.stop(Infinity);
    }
    // Said by the child: this process computes another snapshot key (tsx's source text of the
    // machines is not the build's, and the key fingerprints it).
    expect(before.child.exitCode, before.output()).toBe(0);
    expect(before.output()).toMatch(/start-up snapshot saved/);
    await appendChained(farm.log, history.slice(cut), chain);
    const report = await compactLog(farm.nc, { olderThanMs: 0, now: Date.now() + 60_000 });
    expect(report.roots).toBeGreaterThan(0);
    // The job is gone from the live log: only the archive has it now.
    expect((await farm.log.read('job', straddling)).events).toEqual([]);

    for (const start of ['from the snapshot', 'after the snapshot is gone']) {
      if (start !== 'from the snapshot') {
        await (await jetstreamManager(farm.nc)).streams.purge('KV_drover_projections');
      }
      const api = spawnDrover(['api', '--json'], {
        DROVER_NATS_URL: url,
        LOG_LEVEL: 'info',
        DROVER_READ_RETENTION: 'forever', // 2023's jobs: past the default retention
      });
      try {
        await waitFor(() => /"serving"/.test(api.output()), 120_000, api.output);
        expect(api.output()).toMatch(
          start === 'from the snapshot' ? /restored from its start-up snapshot/ : /caught up/,
        );
        const shown = await drover(url, ['show', straddling, '--json']);
        expect(shown.code, `${start}: ${shown.stderr}`).toBe(0);
        const view = JSON.parse(shown.stdout) as { id: string; state: string };
        expect(view.id).toBe(straddling);
        expect(['succeeded', 'failed', 'cancelled']).toContain(view.state);
        const listed = await drover(url, ['jobs', '--all', '--json']);
        expect(listed.code).toBe(0);
        expect(listed.stdout).toContain(straddling);
      } finally {
        await api.stop();
      }
    }
  }, 300_000);
});

async function waitFor(ok: () => boolean, ms: number, output: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`not ready within ${ms} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
