import { jobFold, stateName } from '../actors/index.js';
import type { EventLog } from '../events/index.js';

const ENDED = new Set(['succeeded', 'failed', 'cancelled']);
/** Most ended states kept (the oldest asked go first): a few per workflow are ever asked. */
const KEPT = 10_000;

/**
 * The end states of jobs the scheduler's live view does not hold: a pipeline run's jobs that
 * `drover compact` moved to the archive are unknown to a scheduler started after the compaction
 * (it folds the live log only). The timekeeper asks them for `dependsOnPast`, which reads the
 * previous run's tasks; without them a task of a compacted run read `queued` and the next run
 * waited for ever. Read from the log with its archive (`readArchive`), once per job: a job moved
 * to the archive has ended and is closed history, its state never changes again. Only ended
 * states are kept; a job found open or not at all is read again when asked again.
 */
export class ClosedJobs {
  private readonly ended = new Map<string, string>();

  /** `history`: an event log whose `read` looks in the archive (`readArchive: true`). */
  constructor(private readonly history: Pick<EventLog, 'read'>) {}

  /** The ended state of job `id` if `learn` found it (undefined otherwise). */
  state(id: string): string | undefined {
    return this.ended.get(id);
  }

  /** Read each job of `ids` whose end is not known yet, from the log and its archive. */
  async learn(ids: Iterable<string>): Promise<void> {
    for (const id of ids) {
      if (this.ended.has(id)) continue;
      const state = stateName(jobFold.foldEvents((await this.history.read('job', id)).events));
      if (!ENDED.has(state)) continue;
      this.ended.set(id, state);
      if (this.ended.size > KEPT) this.ended.delete(this.ended.keys().next().value as string);
    }
  }
}
