import { describe, expect, it } from 'vitest';
import { workerBehaviour } from '../../../src/actors/index.js';
import type { WorkerCommand } from '../../../src/actors/index.js';
import { deciderSpec, ev, meta } from '../../support/decider-spec.js';

const worker = deciderSpec(workerBehaviour);
const cmd = (c: Omit<WorkerCommand, 'id' | 'at' | 'by'>): WorkerCommand =>
  ({ ...meta(), ...c }) as WorkerCommand;
const launch = { jobId: 'J', chunk: 0, attempt: 1, node: 'n1', memLimitMb: 512 };
const launching = () => [ev('worker.launching', launch)];
const running = () => [...launching(), ev('worker.started', { pid: 10, pgid: 10 })];
const lost = () => [...running(), ev('worker.lost', { cause: 'NodeLost', reason: 'no heartbeat' })];
const usage = { peakRssMb: 100, cpuSeconds: 5, wallSeconds: 9 };

describe('worker decider', () => {
  it('launches and starts a process group', () => {
    const s = worker
      .given([])
      .when(cmd({ type: 'LaunchWorker', data: launch }))
      .then([{ type: 'worker.launching', data: launch }]);
    expect(s.value).toBe('launching');
    expect(s.context).toMatchObject({ ...launch, peakRssMb: 0, cpuSeconds: 0 });
    const r = worker
      .given(launching())
      .when(cmd({ type: 'ReportStarted', data: { pid: 10, pgid: 10 } }))
      .then([{ type: 'worker.started', data: { pid: 10, pgid: 10 } }]);
    expect(r.context.pid).toBe(10);
  });

  it('keeps the true peak across samples and the final report', () => {
    let s = worker
      .given(running())
      .when(cmd({ type: 'ReportSample', data: { rssMb: 300, peakRssMb: 300, cpuSeconds: 2 } }))
      .then([{ type: 'worker.sampled', data: { rssMb: 300, peakRssMb: 300, cpuSeconds: 2 } }]);
    s = workerBehaviour.evolve(
      s,
      ev('worker.sampled', { rssMb: 50, peakRssMb: 120, cpuSeconds: 4 }),
    );
    expect(s.context).toMatchObject({ peakRssMb: 300, cpuSeconds: 4 });
    s = workerBehaviour.evolve(
      s,
      ev('worker.killed', { ...usage, signal: 'SIGKILL', cause: 'OutOfMemory' }),
    );
    expect(s.value).toBe('killed');
    expect(s.context).toMatchObject({
      peakRssMb: 300,
      cpuSeconds: 5,
      wallSeconds: 9,
      signal: 'SIGKILL',
      cause: 'OutOfMemory',
    });
  });

  it('records a kill request and stays', () => {
    const data = { reason: 'cancel' as const, signal: 'SIGTERM' };
    const s = worker
      .given(running())
      .when(cmd({ type: 'RequestKill', data }))
      .then([{ type: 'worker.kill_requested', data }]);
    expect(s.value).toBe('running');
    expect(s.context.killRequested).toBe('cancel');
    worker
      .given(lost())
      .when(cmd({ type: 'RequestKill', data }))
      .thenRejected('InvalidTransition');
  });

  it('takes a late confirmation or a readoption of a lost worker', () => {
    const exit = { ...usage, exitCode: 0, signal: null, cause: 'Succeeded' as const };
    expect(
      worker
        .given(lost())
        .when(cmd({ type: 'ReportExited', data: exit }))
        .then([{ type: 'worker.exited', data: exit }]).value,
    ).toBe('exited');
    const s = worker
      .given(lost())
      .when(cmd({ type: 'ReadoptWorker', data: { pid: 10 } }))
      .then([{ type: 'worker.readopted', data: { pid: 10 } }]);
    expect(s.value).toBe('running');
    expect(s.context.cause).toBeUndefined();
  });

  it('rejects anything after the end, without audit (no worker audit event)', () => {
    const ended = [
      ...running(),
      ev('worker.exited', { ...usage, exitCode: 1, signal: null, cause: 'ExitNonZero' }),
    ];
    worker
      .given(ended)
      .when(cmd({ type: 'MarkLost', data: { cause: 'NodeLost', reason: 'x' } }))
      .thenRejected('InvalidTransition');
    worker
      .given(ended)
      .when(cmd({ type: 'ReadoptWorker', data: { pid: 1 } }))
      .thenRejected('InvalidTransition');
    worker
      .given(launching())
      .when(cmd({ type: 'ReadoptWorker', data: { pid: 1 } }))
      .thenRejected('InvalidTransition');
  });
});
