import type { Ranked } from '../policy/index.js';

/** Users named in a pending note's `ahead`, at most. */
export const AHEAD_USERS = 20;

/** One of the first users to appear in the queue: where each of their waiting-side tasks stands. */
interface FirstUser {
  readonly user: string;
  /** Queue positions of the user's tasks that are not running, ascending (small integers). */
  readonly positions: number[];
  /** The dru of the task at the same place in `positions` (a packed double array). */
  readonly drus: number[];
}

/**
 * Who is ahead of a waiting task in a round's queue, for its pending note's `ahead`: the other
 * users with work ranked before it, in the order they first appear (at most `AHEAD_USERS`), each
 * with the dru of their last task before it. Running tasks name nobody (they are not waiting).
 *
 * Compact on purpose: the round used to build that list for every waiting task (up to 20
 * `{ user, dru }` objects and three arrays per task, ~1.5 KB: at 100,000 pending jobs ~150 MB a
 * round, most of a refresh round's garbage), when a note is written only for the few jobs whose
 * reasons changed. Here the round records, in one pass, the positions and drus of the first
 * `AHEAD_USERS + 1` users' tasks (only they can be named: a task names the first 20 users other
 * than its own among them) as plain number arrays, and `at` builds a task's list on demand, by a
 * binary search per named user. Pure: built from the ranked queue alone.
 */
export class AheadIndex {
  private readonly first: FirstUser[] = [];

  constructor(ranked: readonly Ranked[]) {
    const byUser = new Map<string, FirstUser>();
    for (let pos = 0; pos < ranked.length; pos++) {
      const { task, dru } = ranked[pos]!;
      if (task.running) continue;
      let u = byUser.get(task.user);
      if (!u) {
        if (this.first.length > AHEAD_USERS) continue; // only the first 21 can be named
        u = { user: task.user, positions: [], drus: [] };
        byUser.set(task.user, u);
        this.first.push(u);
      }
      u.positions.push(pos);
      u.drus.push(dru);
    }
  }

  /**
   * The users ahead of the task at queue position `pos` (an index into the ranked queue this was
   * built from) whose user is `user`: a fresh list.
   */
  at(pos: number, user: string): { user: string; dru: number }[] {
    const out: { user: string; dru: number }[] = [];
    for (const u of this.first) {
      if (u.positions[0]! >= pos) break; // first appearances ascend: the rest came later
      if (u.user === user) continue;
      if (out.length === AHEAD_USERS) break;
      out.push({ user: u.user, dru: u.drus[lastBefore(u.positions, pos)]! });
    }
    return out;
  }
}

/** The index of the last element of ascending `xs` below `pos` (xs[0] < pos). */
function lastBefore(xs: readonly number[], pos: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (xs[mid]! < pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
