import type { Entity } from './envelope.js';
import { entityOfSubject, eventWildcard } from './subjects.js';

/**
 * How a compaction purges what it copied, with as few server calls as the log allows. Pure: fed
 * the live log in order during the copy pass, asked once at the end.
 *
 * Purging entity by entity costs one JetStream API call per subject (1.85M at 10M events). But
 * a farm's old work sits at the start of the log: for each kind that moves (job, chunk, worker),
 * every message of that kind before the first one that stays belongs to a moved entity. All of
 * them go in one call (purge the kind's wildcard below that sequence); only moved entities with
 * a message after that cut are purged one by one.
 *
 * Order matters for a crash between purges: workers first, then chunks, jobs last. A re-run
 * plans a tree only from its job's events, so a job is never purged before its chunks and
 * workers (else they would stay live, orphaned, for ever).
 */
export interface PurgeTally {
  readonly kinds: Map<Entity, KindTally>;
}

interface KindTally {
  /** Sequence of the kind's first message that stays (undefined: none seen yet). */
  cutSeq: number | undefined;
  /** Moved messages of the kind seen before the cut. */
  below: number;
  /** Moved subjects with a message at or after the cut: purged one by one. */
  readonly after: Set<string>;
}

/** One purge call of a kind's messages below a sequence. */
export interface PrefixPurge {
  readonly kind: Entity;
  /** The kind's wildcard (`drover.ev.worker.*`). */
  readonly filter: string;
  /** Purge below this sequence: every message of the kind there moved. */
  readonly beforeSeq: number;
  /** How many messages of the kind lie below it (all copied). */
  readonly messages: number;
}

/** One kind's purge: a prefix call (when it has moved messages), then subjects one by one. */
export interface KindPurge {
  readonly kind: Entity;
  readonly prefix: PrefixPurge | undefined;
  /** Moved subjects with messages after the prefix, sorted. */
  readonly subjects: string[];
}

/** The kinds a compaction moves, in the order they are purged (jobs last: see `PurgeTally`). */
export const PURGE_ORDER: readonly Entity[] = ['worker', 'chunk', 'job'];

export function createPurgeTally(): PurgeTally {
  return { kinds: new Map() };
}

/** Feed one live message in log order, and whether its entity moves. Mutates `t`. */
export function tallyForPurge(t: PurgeTally, subject: string, seq: number, moved: boolean): void {
  const kind = entityOfSubject(subject);
  if (kind === undefined || !PURGE_ORDER.includes(kind)) return;
  let k = t.kinds.get(kind);
  if (!k) {
    k = { cutSeq: undefined, below: 0, after: new Set() };
    t.kinds.set(kind, k);
  }
  if (!moved) {
    k.cutSeq ??= seq;
    return;
  }
  if (k.cutSeq === undefined) k.below++;
  else k.after.add(subject);
}

/**
 * The purges, kind by kind in `PURGE_ORDER`. `endSeq` is the last sequence read: a kind with
 * nothing that stays is purged below `endSeq + 1` (a later append stays live).
 */
export function planPurge(t: PurgeTally, endSeq: number): KindPurge[] {
  const out: KindPurge[] = [];
  for (const kind of PURGE_ORDER) {
    const k = t.kinds.get(kind);
    if (!k || (k.below === 0 && k.after.size === 0)) continue;
    const beforeSeq = k.cutSeq ?? endSeq + 1;
    const prefix =
      k.below > 0 ? { kind, filter: eventWildcard(kind), beforeSeq, messages: k.below } : undefined;
    out.push({ kind, prefix, subjects: [...k.after].sort() });
  }
  return out;
}
