import type * as Inspector from 'node:inspector';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';

/**
 * A memory-reducing garbage collection, asked for at a moment the caller knows most of the heap
 * is garbage: once after catch-up, at the end of a burst of notes, or after a quiet refresh
 * round. Releases of one kind closer together than `MIN_INTERVAL_MS`, or after a long one than
 * `DUTY_CYCLE_FACTOR` times its length, get one (a release blocks the process while it runs); each kind has its own interval, so a refresh round that follows a
 * burst by less than that still gets its own.
 */
export type HeapRelease = (why: string, kind: 'catch-up' | 'burst' | 'round') => void;

const MIN_INTERVAL_MS = 30_000;

/**
 * A release that blocked the process for `ms` is followed by one of its kind no sooner than
 * `ms` times this: releases block a busy leader at most ~1% of its time. A memory-reducing
 * collection runs several full collections and compacts every page: on a loaded machine it took
 * 2-12 s in the chaos run (10,000 jobs, load ~10), and every 30 s that was a fifth of the time
 * with nothing placed.
 */
const DUTY_CYCLE_FACTOR = 100;

/**
 * Memory-reducing collections on demand, for the scheduler's process (`drover scheduler`), at
 * the moments it knows it just dropped most of what it allocated: start-up catch-up (every
 * decoded event, each entity's earlier states) and the end of a burst of pending notes (a round
 * that found 20,000 jobs newly waiting rewrote each job's state, and the notes came back through
 * the tail). V8 grows the old generation to a multiple of what its last full collection kept and
 * the young one to its maximum under such bursts, and an idle scheduler allocates too little to
 * start the next collection. Measured with `--trace-gc` on 20,000 queued jobs: after the burst,
 * 166 MB of heap held 51 MB of live objects and stayed so; an ordinary full collection
 * (`global.gc`) left 136 MB committed (old-space pages half empty, the young generation at its
 * 32 MB maximum). A memory-reducing one (what V8 does on a low-memory notification: compacts
 * every fragmented page, shrinks the young generation) leaves about what is live.
 *
 * Node has no API for it but the inspector's `HeapProfiler.collectGarbage` (a low-memory
 * notification), used here through an in-process session: no V8 flags, no `--expose-gc`. Where
 * the inspector is missing (a Node built without it), the release is a no-op: nothing depends on
 * it but memory. The CLI wires it; tests that start the scheduler in-process do not get it.
 */
export function heapRelease(
  logger: Logger,
  clock: () => number = Date.now,
  release: () => Promise<boolean> = collect,
): HeapRelease {
  // When each kind may run again: `MIN_INTERVAL_MS` after the last, or longer after a long one.
  const next = { 'catch-up': -Infinity, burst: -Infinity, round: -Infinity };
  let running = false;
  return (why, kind) => {
    const now = clock();
    if (running || (kind !== 'catch-up' && now < next[kind])) return;
    running = true;
    const before = process.memoryUsage();
    void release()
      .then((done) => {
        const after = process.memoryUsage();
        const ms = clock() - now;
        next[kind] = now + Math.max(MIN_INTERVAL_MS, ms * DUTY_CYCLE_FACTOR);
        // A release blocks the process: one long enough to delay the lease's renewal is worth
        // a line at info.
        (ms >= 500 ? logger.info.bind(logger) : logger.debug.bind(logger))(
          {
            why,
            done,
            heapMb: [mb(before.heapTotal), mb(after.heapTotal)],
            rssMb: [mb(before.rss), mb(after.rss)],
            ms,
          },
          'heap released',
        );
      })
      .catch((err: unknown) => {
        next[kind] = now + MIN_INTERVAL_MS;
        logger.warn({ err }, 'heap release failed');
      })
      .finally(() => (running = false));
  };
}

const mb = (bytes: number) => Math.round(bytes / 1048576);

/**
 * One low-memory collection through the inspector, now (loaded synchronously: an `import()` waited
 * behind a busy event loop, and at 100,000 queued jobs ran 75 s late, after the note burst it was
 * meant to precede); false when this Node has no inspector.
 */
async function collect(): Promise<boolean> {
  if (!process.features.inspector) return false;
  const inspector = createRequire(import.meta.url)('node:inspector') as typeof Inspector;
  const session = new inspector.Session();
  session.connect();
  try {
    await new Promise<void>((resolve, reject) =>
      session.post('HeapProfiler.collectGarbage', (err) => (err ? reject(err) : resolve())),
    );
    return true;
  } finally {
    session.disconnect();
  }
}
