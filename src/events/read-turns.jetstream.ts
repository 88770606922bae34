import { setImmediate as nextTurn } from 'node:timers/promises';
// Part of the event log adapter (event-log.jetstream.ts): its reads hand items over through this.

/** How long a read may keep the event loop before timers and I/O get a turn (ms). */
export const TURN_BUDGET_MS = 20;

/**
 * Gives the event loop a turn once a read has held it for `budgetMs`. An async iterator whose
 * items are already buffered hands them over in microtasks only: a fold faster to receive than to
 * process never returns to the event loop until the buffer is dry, so timers starve. A scheduler
 * catching up on 50,000 events at load 15 missed its lease renewals for seconds that way, lost the
 * lease to its standby, which then starved in its own catch-up: leadership went back and forth
 * ninety times in ten minutes and the farm stood still (10,000-job chaos run, 2026-12-05).
 */
export class EventLoopTurns {
  private since = performance.now();

  constructor(private readonly budgetMs = TURN_BUDGET_MS) {}

  /** True when the loop has been held for the budget: `await take()` then. */
  due(): boolean {
    return performance.now() - this.since >= this.budgetMs;
  }

  async take(): Promise<void> {
    await nextTurn();
    this.since = performance.now();
  }
}

/**
 * The next value of `it`, or undefined when it is done. Through this a read loop holds no
 * iterator result of its own (see `itemsWithTurns`).
 */
export async function nextValue<T>(it: AsyncIterator<T>): Promise<T | undefined> {
  const r = await it.next();
  return r.done ? undefined : r.value;
}

/**
 * The items of `batches` one by one, giving the event loop a turn every `budgetMs`.
 *
 * Written without `for await` on purpose: a generator suspended while it waits for its source
 * keeps its registers, and a `for await` loop's binding (and iterator result) of the last batch
 * stays in them until the next batch comes. A tail waits most of its life, so each layer of the
 * read kept its last batch: an idle scheduler held 10,241 raw messages (their buffers and the
 * socket chunks they slice) and 1,397 decoded events after the first round's notes came back
 * (heap snapshot, 20,000 queued jobs: ~5 MB, a fifth of what the jobs themselves held). Each
 * layer lets go of its batch before it waits again.
 */
export async function* itemsWithTurns<T>(
  batches: AsyncIterable<readonly T[]>,
  budgetMs = TURN_BUDGET_MS,
): AsyncGenerator<T> {
  const turns = new EventLoopTurns(budgetMs);
  const it = batches[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      let batch = await nextValue(it);
      if (batch === undefined) {
        finished = true;
        return;
      }
      for (let i = 0; i < batch.length; i++) {
        if (turns.due()) await turns.take();
        yield batch[i] as T;
      }
      batch = undefined;
    }
  } finally {
    // As `for await` does: an iteration left early closes its source.
    if (!finished) await it.return?.();
  }
}
