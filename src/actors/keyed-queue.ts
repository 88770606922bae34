/**
 * Runs tasks one at a time per key, concurrently across keys. Commands for one entity must reach
 * the log in the order their causes were seen (a quiescence fact before its settlement is
 * refused), while different entities append in parallel, which is where throughput comes from.
 */
export interface KeyedQueue {
  /** Run `task` after every earlier task of `key`; resolves or rejects with it. */
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
  /** Resolves when every task queued so far has settled. */
  idle(): Promise<void>;
  /** Keys with queued or running tasks. */
  readonly size: number;
}

export function createKeyedQueue(): KeyedQueue {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run<T>(key: string, task: () => Promise<T>): Promise<T> {
      const prior = tails.get(key) ?? Promise.resolve();
      const next = prior.then(task, task);
      const tail = next.then(
        () => undefined,
        () => undefined,
      );
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return next;
    },
    async idle() {
      while (tails.size > 0) await Promise.all([...tails.values()]);
    },
    get size() {
      return tails.size;
    },
  };
}
