/** The ids of an entity's most recent events, as the runtime's dedupe reads them. */
export interface RecentIds {
  has(id: string): boolean;
  readonly size: number;
}

/** NUL cannot be in an id the window keeps as text (ids with it fall back to a Set). */
const SEP = '\u0000';

/**
 * A window of recent event ids in one string (`\0a\0b\0`), oldest first, at most `max`. The
 * scheduler keeps one per job and per chunk of the farm: a Set of a queued job's three ids was
 * ~150 bytes of hash table beside the three id strings; one flat string is the ids' characters
 * and a header. Lookups scan the text (a window of 256 ids is a few kilobytes at most: fast
 * enough for one lookup per command). Immutable: `with` returns a new window.
 */
export class RecentIdText implements RecentIds {
  private constructor(
    private readonly text: string,
    readonly size: number,
  ) {}

  static readonly EMPTY = new RecentIdText(SEP, 0);

  has(id: string): boolean {
    return this.size > 0 && !id.includes(SEP) && this.text.includes(SEP + id + SEP);
  }

  /** The window with `ids` added (oldest dropped beyond `max`); a Set if an id holds a NUL. */
  with(ids: readonly string[], max: number): RecentIds {
    if (ids.some((id) => id.includes(SEP))) return setWith(this.ids(), ids, max);
    const kept = ids.length >= max ? ids.slice(ids.length - max) : ids;
    const keptOld = kept === ids ? Math.min(this.size, max - kept.length) : 0;
    // The newest `keptOld` ids of this window, without their outer separators.
    let old = '';
    if (keptOld > 0) {
      let cut = 0;
      for (let n = this.size - keptOld; n > 0; n--) cut = this.text.indexOf(SEP, cut + 1);
      old = this.text.slice(cut + 1, -1);
    }
    // One join of several parts makes a flat string: `a + b` makes a cons string, and V8
    // flattening one later still keeps the 32-byte cons cell in front of the flat text.
    const parts = keptOld > 0 ? ['', old, ...kept, ''] : ['', ...kept, ''];
    return new RecentIdText(parts.join(SEP), keptOld + kept.length);
  }

  ids(): string[] {
    return this.size === 0 ? [] : this.text.slice(1, -1).split(SEP);
  }
}

/** A window with `added`, as the runtime keeps it: text when it can, a Set otherwise. */
export function withIds(window: RecentIds, added: readonly string[], max: number): RecentIds {
  if (added.length === 0) return window;
  if (window instanceof RecentIdText) return window.with(added, max);
  if (window.size === 0) return RecentIdText.EMPTY.with(added, max);
  return setWith(window as ReadonlySet<string>, added, max);
}

function setWith(base: Iterable<string>, added: readonly string[], max: number): Set<string> {
  const ids = new Set(base);
  for (const id of added) {
    ids.add(id);
    if (ids.size > max) ids.delete(ids.values().next().value as string);
  }
  return ids;
}
