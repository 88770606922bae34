import {
  allSettled,
  closingCommand,
  type CommandMeta,
  type JobCommand,
  type JobSnapshot,
} from '../actors/index.js';

/** The id of a job's closing command: the rule and the follow-up ask the same one. */
export const closeId = (jobId: string) => `close:${jobId}`;

/**
 * The command that closes job `jobId` now that `job` is its state, if its facts allow it
 * (`closingCommand`: cancelled once every process is confirmed stopped, succeeded once every
 * chunk and child did). Checks the cheap part first: an open job with everything settled;
 * otherwise the two decisions `closingCommand` tries would run on every event of a running job.
 * Pure.
 */
export function closeOf(
  jobId: string,
  job: JobSnapshot,
  m: Omit<CommandMeta, 'id'>,
): JobCommand | undefined {
  if (job.hasTag('terminal') || !allSettled(job.context)) return undefined;
  return closingCommand(job, { ...m, id: closeId(jobId) });
}

/**
 * What a job command just stored asks at once, in the same turn of the job's queue: its close,
 * when the fact it recorded was the last one the close waited for (the last chunk settled, the
 * last process confirmed stopped). Decided at the moment of the command it follows, by the same
 * actor. Without it the close waited for the rules' next look and a turn of the job's queue of
 * its own; the rule still asks the same command (same id) then, so a close missed here (writes
 * paused) is made there, and one made here is not made twice. Pure.
 */
export function closeAfter(
  jobId: string,
  command: JobCommand,
  job: JobSnapshot,
): JobCommand | undefined {
  return closeOf(jobId, job, { at: command.at, by: command.by });
}
