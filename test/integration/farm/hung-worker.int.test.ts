import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Unpackr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chunkBehaviour,
  createEntityRuntime,
  nodeBehaviour,
  stateName,
  workerBehaviour,
} from '../../../src/actors/index.js';
import { WORK_STREAM, heartbeatSubject, workSubject, type Actor, type Work } from '../../../src/events/index.js';
import { startFarm, type Farm } from '../../support/farm.js';

const unpackr = new Unpackr({ useRecords: false });

/**
 * A hung worker: the log says it runs, its node's agent heartbeats but no longer reports it. The
 * scheduler asks the agent to kill it, marks it lost and retries its chunk elsewhere without
 * spending the user's retries.
 */
describe('hung workers', () => {
  let farm: Farm;
  beforeAll(async () => {
    farm = await startFarm({ agents: 0, nodeLostMs: 2000 });
  }, 30_000);
  afterAll(async () => farm?.stop(), 30_000);

  it('are killed, marked lost and retried on another node', async () => {
    const by: Actor = { kind: 'agent', id: 'zombie' };
    const runtime = createEntityRuntime({ eventLog: farm.log, cache: true });
    const at = () => Date.now();
    const data = { cpus: 64, memMb: 65536, gpus: 0, hostname: 'zombie', labels: {}, incarnation: 'one' };
    await runtime.execute(nodeBehaviour, 'zombie', { type: 'RegisterNode', id: 'z-reg', at: at(), by, data });
    await runtime.execute(nodeBehaviour, 'zombie', { type: 'MarkReady', id: 'z-ready', at: at(), by });
    const beat = setInterval(() => {
      farm.nc.publish(heartbeatSubject('zombie'), JSON.stringify({ node: 'zombie', incarnation: 'one', at: at(), workers: [], draining: false }));
    }, 200);
    const jsm = await jetstreamManager(farm.nc);
    await jsm.consumers.add(WORK_STREAM, { durable_name: 'agent-zombie', filter_subject: workSubject('zombie'), ack_policy: AckPolicy.Explicit });
    const work = await (await jetstream(farm.nc).consumers.get(WORK_STREAM, 'agent-zombie')).consume();
    const kills: string[] = [];
    const consuming = (async () => {
      for await (const m of work) {
        const w = unpackr.unpack(m.data) as Work;
        m.ack();
        if (w.kind === 'kill') kills.push(w.worker);
        else {
          // Starts the worker in the log, then "forgets" it: never reports it in a heartbeat.
          const d = { jobId: w.jobId, chunk: w.chunk, attempt: w.attempt, node: 'zombie', memLimitMb: 16 };
          await runtime.execute(workerBehaviour, w.worker, { type: 'LaunchWorker', id: `${w.worker}-l`, at: at(), by, data: d });
          await runtime.execute(workerBehaviour, w.worker, { type: 'ReportStarted', id: `${w.worker}-s`, at: at(), by, data: { pid: 999_999, pgid: 999_999 } });
          await runtime.execute(chunkBehaviour, `${w.jobId}:${w.chunk}`, { type: 'StartChunk', id: `${w.worker}-c`, at: at(), by, data: { attempt: w.attempt, pid: 999_999 } });
        }
      }
    })();
    try {
      const id = await farm.submit({ name: 'stuck', user: 'alice', command: ['true'], memMb: 16 });
      await farm.waitFor(id, ['running']);
      await farm.startAgent('node-1');
      const job = await farm.waitFor(id, undefined, 30_000);
      expect(stateName(job)).toBe('succeeded');
      expect(kills).toContain(`${id}:0:1`);
      const lost = (await farm.events('worker', `${id}:0:1`)).find((e) => e.type === 'worker.lost');
      expect(lost?.type === 'worker.lost' && lost.data.reason).toContain('hung');
      const chunk = await farm.events('chunk', `${id}:0`);
      const nodes = chunk.flatMap((e) => (e.type === 'chunk.assigned' ? [e.data.node] : []));
      expect(nodes).toEqual(['zombie', 'node-1']);
      const retry = chunk.find((e) => e.type === 'chunk.retry_scheduled');
      expect(retry?.type === 'chunk.retry_scheduled' && retry.data.countsAgainstRetries).toBe(false);
    } finally {
      clearInterval(beat);
      await work.close();
      await consuming;
    }
  }, 60_000);
});
