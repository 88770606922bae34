/**
 * K-way merge of sources that are each in ascending sequence order, into one ascending stream
 * of batches; a sequence seen twice (an event both archived and still live after a crash, or
 * archived by two runs) is yielded once. Pure: it only awaits the sources it is given.
 * With one source, its batches pass through untouched (the live log without an archive).
 */
export async function* mergeBySeq<T extends { readonly seq: number }>(
  sources: readonly AsyncIterable<T[]>[],
  batchSize = 4_096,
): AsyncGenerator<T[]> {
  if (sources.length === 1) {
    yield* sources[0] as AsyncIterable<T[]>;
    return;
  }
  const heads = sources.map((s) => ({ it: s[Symbol.asyncIterator](), batch: [] as T[], i: 0 }));
  const fill = async (h: (typeof heads)[number]): Promise<boolean> => {
    while (h.i >= h.batch.length) {
      const next = await h.it.next();
      if (next.done) return false;
      h.batch = next.value;
      h.i = 0;
    }
    return true;
  };
  let live = (await Promise.all(heads.map(fill))).map((ok, k) => (ok ? heads[k] : undefined));
  let active = live.filter((h) => h !== undefined);
  let out: T[] = [];
  let last = -Infinity;
  try {
    while (active.length > 0) {
      let min = active[0] as (typeof active)[number];
      let second = Infinity;
      for (const h of active) {
        const s = (h.batch[h.i] as T).seq;
        if (s < (min.batch[min.i] as T).seq) {
          second = (min.batch[min.i] as T).seq;
          min = h;
        } else if (h !== min) second = Math.min(second, s);
      }
      // Take the run of the smallest source up to the next source's head in one go.
      while (min.i < min.batch.length && (min.batch[min.i] as T).seq <= second) {
        const item = min.batch[min.i++] as T;
        if (item.seq > last) {
          out.push(item);
          last = item.seq;
        }
      }
      if (out.length >= batchSize) {
        yield out;
        out = [];
      }
      if (min.i >= min.batch.length && !(await fill(min))) {
        live = live.map((h) => (h === min ? undefined : h));
        active = live.filter((h) => h !== undefined);
      }
    }
    if (out.length) yield out;
  } finally {
    await Promise.all(heads.map((h) => h.it.return?.()));
  }
}
