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

/** The items of `batches` one by one, giving the event loop a turn every `budgetMs`. */
export async function* itemsWithTurns<T>(
  batches: AsyncIterable<readonly T[]>,
  budgetMs = TURN_BUDGET_MS,
): AsyncGenerator<T> {
  const turns = new EventLoopTurns(budgetMs);
  for await (const batch of batches) {
    for (const item of batch) {
      if (turns.due()) await turns.take();
      yield item;
    }
  }
}
