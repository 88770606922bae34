import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../../src/actors/index.js';
import { startFarm, type Farm } from '../../support/farm.js';

describe('retries that learn', () => {
  let farm: Farm;
  beforeAll(async () => {
    farm = await startFarm({ agents: 2 });
  }, 30_000);
  afterAll(async () => farm?.stop(), 30_000);

  it('an out-of-memory job is retried with memory raised from its peak, and succeeds', async () => {
    const id = await farm.submit({
      name: 'hungry',
      user: 'alice',
      command: [process.execPath, '-e', 'const b=[];for(let i=0;i<20;i++)b.push(Buffer.alloc(8<<20,1));setTimeout(()=>{},3000)'],
      memMb: 100,
      retries: 1,
    });
    const job = await farm.waitFor(id, undefined, 60_000);
    expect(stateName(job)).toBe('succeeded');
    const chunk = await farm.events('chunk', `${id}:0`);
    const failed = chunk.find((e) => e.type === 'chunk.attempt_failed');
    expect(failed?.data).toMatchObject({ attempt: 1, cause: 'OutOfMemory' });
    const worker1 = await farm.events('worker', `${id}:0:1`);
    const killed = worker1.find((e) => e.type === 'worker.killed');
    expect(killed?.type === 'worker.killed' && killed.data.peakRssMb).toBeGreaterThanOrEqual(100);
    const retry = chunk.find((e) => e.type === 'chunk.retry_scheduled');
    const assigned = chunk.filter((e) => e.type === 'chunk.assigned');
    const raised = assigned[assigned.length - 1];
    expect(retry?.type === 'chunk.retry_scheduled' && retry.data.request.memMb).toBeGreaterThan(100);
    expect(raised?.type === 'chunk.assigned' && raised.data.request.memMb).toBeGreaterThanOrEqual(150);
  }, 90_000);

  it('a job that fails on one node for a node-related cause succeeds on the other', async () => {
    const id = await farm.submit({
      name: 'flaky-node',
      user: 'bob',
      command: ['sh', '-c', 'if [ "$DROVER_ATTEMPT" = 1 ]; then kill -SEGV $$; fi; echo "ok on $DROVER_NODE"'],
      memMb: 64,
      retries: 1,
    });
    const job = await farm.waitFor(id, undefined, 60_000);
    expect(stateName(job)).toBe('succeeded');
    const chunk = await farm.events('chunk', `${id}:0`);
    const nodes = chunk.flatMap((e) => (e.type === 'chunk.assigned' ? [e.data.node] : []));
    const failed = chunk.find((e) => e.type === 'chunk.attempt_failed');
    expect(failed?.data).toMatchObject({ cause: 'Signaled', signal: 'SIGSEGV' });
    expect(nodes).toHaveLength(2);
    expect(nodes[1]).not.toBe(nodes[0]);
  }, 90_000);

  it('a job exiting non-zero on one node only is retried on the other, and succeeds there', async () => {
    // Both nodes are idle: the first attempt goes to node-1 (ties go to the lowest id), and so
    // would every retry if only node-fault causes were avoided (POLICY: any failure is).
    const id = await farm.submit({
      name: 'bad-node',
      user: 'erin',
      command: ['sh', '-c', 'test "$DROVER_NODE" != node-1'],
      memMb: 32,
      retries: 2,
    });
    const job = await farm.waitFor(id, undefined, 60_000);
    const chunk = await farm.events('chunk', `${id}:0`);
    const nodes = chunk.flatMap((e) => (e.type === 'chunk.assigned' ? [e.data.node] : []));
    expect(nodes).toEqual(['node-1', 'node-2']);
    const failed = chunk.filter((e) => e.type === 'chunk.attempt_failed');
    expect(failed.map((e) => e.data)).toMatchObject([{ attempt: 1, cause: 'ExitNonZero' }]);
    const retry = chunk.find((e) => e.type === 'chunk.retry_scheduled');
    expect(retry?.type === 'chunk.retry_scheduled' && retry.data.avoidNodes).toEqual(['node-1']);
    expect(stateName(job)).toBe('succeeded');
  }, 90_000);

  it('a parent with chunked children succeeds once every child has, and runs after its dependency', async () => {
    const parent = await farm.submit({ name: 'sim', user: 'carol', command: ['sleep', '0.5'], memMb: 32 });
    const kids = [];
    for (let i = 0; i < 3; i++)
      kids.push(await farm.submit({ name: `scenario-${i}`, user: 'carol', parent, command: ['true'], chunks: 4, cpus: 0.25, memMb: 32 }));
    const after = await farm.submit({ name: 'report', user: 'carol', command: ['true'], after: [parent], memMb: 32 });
    const job = await farm.waitFor(parent, undefined, 60_000);
    expect(stateName(job)).toBe('succeeded');
    expect(Object.keys(job.context.children).sort()).toEqual([...kids].sort());
    const report = await farm.waitFor(after, undefined, 60_000);
    expect(stateName(report)).toBe('succeeded');
    const started = (await farm.events('job', after)).find((e) => e.type === 'job.started');
    const finished = (await farm.events('job', parent)).find((e) => e.type === 'job.succeeded');
    expect(started!.recorded.seq).toBeGreaterThan(finished!.recorded.seq);
  }, 90_000);

  it('a job whose dependency fails fails with DependencyFailed and never runs', async () => {
    const bad = await farm.submit({ name: 'bad', user: 'dave', command: ['false'], memMb: 32 });
    const after = await farm.submit({ name: 'never', user: 'dave', command: ['true'], after: [bad], memMb: 32 });
    const job = await farm.waitFor(after, undefined, 60_000);
    expect(stateName(job)).toBe('failed');
    expect(job.context.outcome?.cause).toBe('DependencyFailed');
    expect((await farm.events('job', after)).some((e) => e.type === 'job.started')).toBe(false);
  }, 90_000);
});
