import type * as Inspector from 'node:inspector';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';

/**
 * A memory-reducing garbage collection, asked for at a moment the caller knows most of the heap
 * is garbage: once after catch-up, at the end of a burst of notes, or after a quiet refresh
 * round. Releases of one kind closer together than `MIN_INTERVAL_MS` get one (a release blocks
 * the process while it runs); each kind has its own interval, so a refresh round that follows a
 * burst by less than that still gets its own.
 */
export type HeapRelease = (why: string, kind: 'catch-up' | 'burst' | 'round') => void;

const MIN_INTERVAL_MS = 30_000;

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
export function heapRelease(logger: Logger, clock: () => number = Date.now): HeapRelease {
  const last = { 'catch-up': -Infinity, burst: -Infinity, round: -Infinity };
  let running = false;
  return (why, kind) => {
    const now = clock();
    if (running || (kind !== 'catch-up' && now - last[kind] < MIN_INTERVAL_MS)) return;
    last[kind] = now;
    running = true;
    const before = process.memoryUsage();
    void collect()
      .then((done) => {
        const after = process.memoryUsage();
        const ms = clock() - now;
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
      .catch((err: unknown) => logger.warn({ err }, 'heap release failed'))
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
