import { isCorrupt, type JetStreamEventLog } from '../src/events/index.js';
import type { Submitted } from './chaos-workload.js';

/** What the log says after a chaos run (each should be 0). */
export interface LogFindings {
  events: number;
  /** Chunks with more than one `chunk.succeeded`. */
  doubleSuccess: number;
  /** `chunk.succeeded` carrying a result after its job's or chunk's results were cleared. */
  resultsAfterClear: number;
  /** Cleared jobs whose clear never reached the log. */
  clearsMissing?: number;
}

/** Walk the whole log once and count the invariant breaks of issue 23 point 3. */
export async function checkLog(log: JetStreamEventLog, s: Submitted): Promise<LogFindings> {
  const successes = new Map<string, number>();
  const clearedJobs = new Set<string>();
  const clearedChunks = new Set<string>();
  let events = 0;
  let resultsAfterClear = 0;
  for await (const item of log.replay()) {
    events++;
    if (isCorrupt(item)) continue;
    const [, , kind, id = ''] = item.recorded.subject.split('.');
    if (item.type === 'job.results_cleared') clearedJobs.add(id);
    if (item.type === 'chunk.results_cleared') clearedChunks.add(id);
    if (item.type === 'chunk.succeeded' && kind === 'chunk') {
      successes.set(id, (successes.get(id) ?? 0) + 1);
      const job = id.slice(0, id.lastIndexOf(':'));
      if (clearedChunks.has(id) || clearedJobs.has(job)) resultsAfterClear++;
    }
  }
  return {
    events,
    doubleSuccess: [...successes.values()].filter((n) => n > 1).length,
    resultsAfterClear,
    clearsMissing: [...s.cleared].filter((id) => !clearedJobs.has(id)).length,
  };
}
