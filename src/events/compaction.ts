import { parseEventSubject } from './subjects.js';

/**
 * Which entities `drover compact` may move to the archive. Pure: fed the log in order, asked
 * with a cutoff time.
 *
 * The unit is a job tree: a root job with its descendants, their chunks and the workers of those
 * chunks. A tree moves only whole, only when every job in it is terminal (succeeded, failed or
 * cancelled, not reopened since) and when nothing in it happened after the cutoff. Other kinds
 * (nodes, calendars, workflows, runs, policies, ...) are never moved: they are few, or long-lived,
 * or referred to by live work. An entity moves with its whole history, so the per-entity chain
 * that `drover verify` checks stays whole in the merged view.
 */
export interface CompactionSelector {
  readonly jobs: Map<string, JobGroup>;
}

interface JobGroup {
  parent: string | undefined;
  terminal: boolean;
  lastAt: number;
  messages: number;
  readonly subjects: Set<string>;
}

/** What a compaction would move. */
export interface CompactionPlan {
  /** Root jobs of the trees moved. */
  readonly roots: string[];
  /** Live subjects to move, sorted. */
  readonly subjects: string[];
  readonly jobs: number;
  readonly messages: number;
}

const TERMINAL = new Set(['job.succeeded', 'job.failed', 'job.cancelled']);
const REOPENING = new Set([
  'job.submitted',
  'job.queued',
  'job.held',
  'job.released',
  'job.started',
  'job.cancel_requested',
]);

export function createCompactionSelector(): CompactionSelector {
  return { jobs: new Map() };
}

/** The job a job, chunk (`<job>:<i>`) or worker (`<job>:<i>:<attempt>`) belongs to. */
function jobOf(entity: string, id: string): string | undefined {
  if (entity === 'job') return id;
  if (entity === 'chunk') return id.slice(0, id.lastIndexOf(':'));
  if (entity === 'worker') {
    const attempt = id.lastIndexOf(':');
    return id.slice(0, id.lastIndexOf(':', attempt - 1));
  }
  return undefined;
}

function groupOf(s: CompactionSelector, job: string): JobGroup {
  let g = s.jobs.get(job);
  if (!g) {
    g = { parent: undefined, terminal: false, lastAt: 0, messages: 0, subjects: new Set() };
    s.jobs.set(job, g);
  }
  return g;
}

/**
 * Feed one stored message in log order: its subject, store time (epoch ms), and the event's type
 * and data (undefined when undecodable: its entity is then never moved). Mutates `s`.
 */
export function observeForCompaction(
  s: CompactionSelector,
  subject: string,
  time: number,
  event: { readonly type: string; readonly data?: unknown } | undefined,
): void {
  const parsed = parseEventSubject(subject);
  if (!parsed) return;
  const job = jobOf(parsed.entity, parsed.id);
  if (job === undefined) return;
  const g = groupOf(s, job);
  g.subjects.add(subject);
  g.messages++;
  g.lastAt = Math.max(g.lastAt, time);
  if (!event) {
    g.lastAt = Infinity;
    return;
  }
  if (parsed.entity !== 'job') return;
  if (event.type === 'job.submitted') {
    const parent = (event.data as { parent?: unknown } | undefined)?.parent;
    if (typeof parent === 'string') g.parent = parent;
  }
  if (TERMINAL.has(event.type)) g.terminal = true;
  else if (REOPENING.has(event.type)) g.terminal = false;
}

/** The trees whose every job is terminal and whose last event is at or before `cutoff`. */
export function planCompaction(s: CompactionSelector, cutoff: number): CompactionPlan {
  const children = new Map<string, string[]>();
  const roots: string[] = [];
  for (const [id, g] of s.jobs) {
    // A parent not in the log (never submitted, or already archived) leaves its child a root.
    if (g.parent !== undefined && s.jobs.has(g.parent)) {
      const list = children.get(g.parent) ?? [];
      list.push(id);
      children.set(g.parent, list);
    } else roots.push(id);
  }
  const plan = { roots: [] as string[], subjects: [] as string[], jobs: 0, messages: 0 };
  for (const root of roots.sort()) {
    const tree = treeOf(root, children);
    if (tree === undefined) continue;
    const groups = tree.map((id) => s.jobs.get(id) as JobGroup);
    // A chunk or worker without its job's events is not a job tree we know: never moved.
    const done = groups.every((g) => g.terminal && g.lastAt <= cutoff);
    if (!done) continue;
    plan.roots.push(root);
    plan.jobs += tree.length;
    for (const g of groups) {
      plan.messages += g.messages;
      for (const subject of g.subjects) plan.subjects.push(subject);
    }
  }
  plan.subjects.sort();
  return plan;
}

/** A root and its descendants; undefined on a cycle (a corrupt log: not moved). */
function treeOf(root: string, children: ReadonlyMap<string, string[]>): string[] | undefined {
  const seen = new Set<string>([root]);
  const stack = [root];
  while (stack.length) {
    for (const c of children.get(stack.pop() as string) ?? []) {
      if (seen.has(c)) return undefined;
      seen.add(c);
      stack.push(c);
    }
  }
  return [...seen];
}
