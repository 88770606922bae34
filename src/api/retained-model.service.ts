import { parseEventSubject, type RecordedEvent } from '../events/index.js';
import { applyEvent, type ReadModel } from './read-model.js';
import { ReadRetention, ofRetiredJob, type RetiredJob } from './read-retention.js';

/** How a read model is kept bounded while it folds the log (`startRetainedModel`). */
export interface RetainedModelOptions {
  /** How long a finished job stays after it ended (ms); Infinity: every job stays. */
  readonly retainMs: number;
  /** The clock end times are compared with. */
  readonly clock: () => number;
  /** Told each job let go of (a holder of other per-job indexes drops them too). */
  readonly onRetire?: (gone: RetiredJob) => void;
}

/** A read model folded under a retention: the API's live model and the dashboard's feed. */
export interface RetainedModel {
  readonly retention: ReadRetention;
  /**
   * Fold one event into the model; false when it belongs to a job the model let go of (not
   * folded: its machine would refuse it on an empty entity; the log keeps it for on-demand reads).
   */
  apply(e: RecordedEvent): boolean;
  stop(): void;
}

/**
 * Fold events into `model` through the one retention (`ReadRetention`): each event of a job is
 * noted, what is due is let go of after every event, and a timer lets go of what falls due on a
 * quiet log. One implementation for every holder of a read model, so the API and the dashboard
 * let go of the same jobs by the same rules. Jobs of a model restored from a snapshot are noted
 * at once.
 */
export function startRetainedModel(model: ReadModel, opts: RetainedModelOptions): RetainedModel {
  const retention = new ReadRetention(opts.retainMs, opts.onRetire);
  retention.noteAll(model);
  const sweeper = Number.isFinite(opts.retainMs)
    ? setInterval(
        () => retention.sweep(model, opts.clock()),
        Math.min(60_000, Math.max(50, opts.retainMs / 4)),
      )
    : undefined;
  sweeper?.unref();
  return {
    retention,
    apply(e) {
      if (ofRetiredJob(model, e)) {
        model.seq = Math.max(model.seq, e.recorded.seq);
        return false;
      }
      applyEvent(model, e);
      if (e.type.startsWith('job.')) {
        retention.note(model, parseEventSubject(e.recorded.subject)?.id ?? '', e.at);
      }
      retention.sweep(model, opts.clock());
      return true;
    },
    stop() {
      clearInterval(sweeper);
    },
  };
}
