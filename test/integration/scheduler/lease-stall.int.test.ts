import { describe, expect, it } from 'vitest';
import { roundsWindow, startLeaseFarm, takeoverWindow } from '../../support/lease-farm.js';

/**
 * The leader keeps its lease through long work (issue 23). A lease of 1.5 s (the chaos run's) is
 * renewed every 0.5 s from a timer: a leader that holds its event loop for about 1.5 s is taken
 * over by its standby. Real `drover scheduler` processes race for it beside hollow nodes:
 * - rounds over a queue of QUEUED jobs against 4 small nodes whose workers end after a second
 *   (rounds over the whole queue keep coming), 20 s of them;
 * - a takeover with LIVE jobs running: kill -9 of the leader, one of two standbys takes over
 *   and sweeps every open job; 15 s after it leads.
 * No epoch may change but the takeover's own. Opt-in (DROVER_LEASE_STALL=1): it seeds 100,000
 * jobs, and at load 35-40 (2026-12-05 evening) the standby alone stalled 1.6-3.5 s, so the lease
 * changed hands on both the old code and this branch (bench/RESULTS.md, issue 23, "Long passes
 * in turns"): not yet shown to pass here, so not in `npm test` until it is.
 */
const QUEUED = Number(process.env.LEASE_STALL_QUEUED ?? 100_000);
const LIVE = Number(process.env.LEASE_STALL_LIVE ?? 10_000);
const TTL_MS = 1_500;

describe.runIf(process.env.DROVER_LEASE_STALL)(
  'the leader keeps its lease through long work',
  () => {
    it(`through rounds over ${QUEUED} queued jobs`, async () => {
      const f = await startLeaseFarm({
        jobs: QUEUED,
        nodes: 4,
        nodeCpus: 4,
        durationMs: 1_000,
        contenders: 2,
        leaseTtlMs: TTL_MS,
      });
      try {
        const w = await roundsWindow(f, 20_000);
        const detail = JSON.stringify(w);
        expect(w.rounds, detail).toBeGreaterThan(3); // rounds over the queue did run
        expect(w.epochsAfter, detail).toEqual(w.epochsBefore);
      } finally {
        await f.stop();
      }
    }, 900_000);

    it(`through a takeover with ${LIVE} jobs live`, async () => {
      const nodes = 10;
      const f = await startLeaseFarm({
        jobs: LIVE,
        nodes,
        nodeCpus: Math.ceil(LIVE / nodes) + 10,
        durationMs: 3_600_000,
        contenders: 3,
        leaseTtlMs: TTL_MS,
      });
      try {
        const w = await takeoverWindow(f, 15_000);
        const detail = JSON.stringify(w);
        const newer = w.epochsAfter.filter((e) => e > Math.max(...w.epochsBefore));
        expect(newer, detail).toHaveLength(1); // the takeover, and no leadership lost after it
      } finally {
        await f.stop();
      }
    }, 900_000);
  },
);
