import { describe, expect, it } from 'vitest';
import { workerFold } from '../../../src/actors/index.js';
import { WORKER_MESSAGE_MAX, WorkerExitedSchema } from '../../../src/events/index.js';
import { bounded, workerEnd } from '../../../src/node-agent/reports.js';
import type { ProcessOutcome } from '../../../src/node-agent/supervisor/index.js';

const meta = { id: 'W>end', at: 1, by: { kind: 'agent' as const, id: 'n1' } };
const outcome = (o: Partial<ProcessOutcome>): ProcessOutcome => ({
  exitCode: null,
  signal: null,
  cause: 'EnvironmentChanged',
  peakRssMb: 0,
  cpuSeconds: 0,
  wallSeconds: 0,
  message: 'not started: gitCommit was aaaaaaaaaaaa, now bbbbbbbbbbbb',
  ...o,
});

describe('worker.exited carries the agent message (issue 20)', () => {
  it('a refused pinned launch says what changed; a success says nothing', () => {
    const refused = workerEnd(outcome({}), meta);
    expect(refused).toMatchObject({
      type: 'ReportExited',
      data: { cause: 'EnvironmentChanged', message: outcome({}).message },
    });
    const ok = workerEnd(outcome({ cause: 'Succeeded', exitCode: 0, message: 'exit 0' }), meta);
    expect(ok.data).not.toHaveProperty('message');
  });

  it('a long message is cut to the schema bound, the cut marked, and the event validates', () => {
    const cmd = workerEnd(outcome({ cause: 'LaunchFailed', message: 'x'.repeat(5000) }), meta);
    const message = (cmd.data as { message: string }).message;
    expect(message).toHaveLength(WORKER_MESSAGE_MAX);
    expect(message.endsWith('…')).toBe(true);
    const event = { type: 'worker.exited', v: 1, id: 'e', at: 1, by: meta.by, data: cmd.data };
    expect(WorkerExitedSchema.safeParse(event).success).toBe(true);
    expect(bounded('short', 10)).toBe('short');
  });

  it('the worker fold keeps the message for show and explain', () => {
    const at = {
      v: 1,
      at: 1,
      by: meta.by,
      recorded: { subject: 'drover.ev.worker.J:0:1', seq: 1 },
    };
    const events = [
      {
        ...at,
        id: 'a',
        type: 'worker.launching',
        data: { jobId: 'J', chunk: 0, attempt: 1, node: 'n1', memLimitMb: 64 },
      },
      {
        ...at,
        id: 'b',
        type: 'worker.exited',
        data: { ...workerEnd(outcome({}), meta).data },
      },
    ];
    const w = workerFold.foldEvents(events as never);
    expect(w.context.message).toBe(outcome({}).message);
    expect(w.context.cause).toBe('EnvironmentChanged');
  });
});
