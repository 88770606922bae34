import { runChaos } from './chaos-run.js';

/**
 * `npm run chaos`: issue 23 point 3 at scale. CHAOS_JOBS (default 10,000), CHAOS_ACTION_MS (pause
 * between two chaos actions, default 4,000), CHAOS_SOAK_RSS_MS (sample each service's RSS this
 * often, e.g. 10000; off by default), CHAOS_MS (the chaos lasts at least this long even when the
 * submissions are through sooner; default 0). Prints one JSON document; exits 1 when an invariant broke.
 */
const jobs = Number(process.env.CHAOS_JOBS ?? 10_000);
const report = await runChaos({
  jobs,
  actionEveryMs: Number(process.env.CHAOS_ACTION_MS ?? 4_000),
  chaosMs: Number(process.env.CHAOS_MS ?? 0),
  settleMs: Number(process.env.CHAOS_SETTLE_MS ?? 1_800_000),
  rssEveryMs: Number(process.env.CHAOS_SOAK_RSS_MS ?? 0),
  log: (line) => process.stderr.write(`${line}\n`),
});
console.log(JSON.stringify({ bench: 'chaos', ...report }, null, 1));
const broken =
  report.notTerminal +
    report.doubleSuccess +
    report.resultsAfterClear +
    report.processesLeft +
    (report.clearsMissing ?? 0) +
    (report.clearsBeforeEnd ?? 0) +
    report.clears.early.odd.length >
    0 || !report.replayEqual;
process.exit(broken ? 1 : 0);
