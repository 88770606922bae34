import { describe, expect, it } from 'vitest';
import { decideJob, jobFold, type JobCommand } from '../../../src/actors/index.js';
import type { DroverEvent } from '../../../src/events/index.js';
import { closeAfter, closeId } from '../../../src/scheduler/job-close.js';
import { ev, meta, scheduler, spec } from '../../support/decider-spec.js';

const settled = (index: number, state: 'cancelled' | 'succeeded', quiescent = true) =>
  ev('job.chunks_settled', { chunks: [{ index, state, quiescent }] });
const started = (chunks: number) => [
  ev('job.submitted', spec({ chunks })),
  ev('job.queued', {}),
  ev('job.started', {}),
];
const cancel = ev('job.cancel_requested', { reason: 'operator' });
/** The command that recorded the last fact, and what `closeAfter` asks after it. */
function after(events: DroverEvent[]): JobCommand | undefined {
  const told: JobCommand = { type: 'RecordChunksSettled', ...meta(), data: { chunks: [] } };
  return closeAfter('J', told, jobFold.foldEvents(events));
}

describe('closeAfter: the close a stored job fact asks at once', () => {
  it('closes a cancelling job when its last chunk settled quiescent, as the told command', () => {
    const close = after([...started(2), cancel, settled(0, 'cancelled'), settled(1, 'cancelled')]);
    expect(close).toMatchObject({ type: 'ConfirmCancelled', id: closeId('J'), by: scheduler });
    const job = jobFold.foldEvents([...started(1), cancel, settled(0, 'cancelled')]);
    expect(decideJob(job, after([...started(1), cancel, settled(0, 'cancelled')])!).ok).toBe(true);
  });

  it('completes a job whose every chunk succeeded', () => {
    expect(after([...started(1), settled(0, 'succeeded')])?.type).toBe('CompleteJob');
  });

  it('asks nothing while a chunk is unsettled or a process unconfirmed, nor of a closed job', () => {
    expect(after([...started(2), cancel, settled(0, 'cancelled')])).toBeUndefined();
    // Settled cancelled with its process not confirmed stopped (its node lost): not yet.
    expect(after([...started(1), cancel, settled(0, 'cancelled', false)])).toBeUndefined();
    const closed = [...started(1), cancel, settled(0, 'cancelled'), ev('job.cancelled', {})];
    expect(after(closed)).toBeUndefined();
    // Failing is the rules' policy (which cause), never a follow-up.
    const failed = ev('job.chunks_settled', {
      chunks: [{ index: 0, state: 'failed', quiescent: true }],
    });
    expect(after([...started(1), failed])).toBeUndefined();
  });

  it('takes its moment and actor from the command it follows', () => {
    const told: JobCommand = { type: 'RecordChildSettled', ...meta(), data: {} as never };
    const close = closeAfter(
      'J',
      told,
      jobFold.foldEvents([...started(1), settled(0, 'succeeded')]),
    );
    expect(close).toMatchObject({ at: told.at, by: told.by, id: 'close:J' });
  });
});
