import { connect } from '@nats-io/transport-node';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName, workerFold } from '../../../src/actors/index.js';
import { createApiClient } from '../../../src/api/index.js';
import { createJetStreamEventLog, decodeEvent } from '../../../src/events/index.js';
import { reachable } from '../../../src/cli/nats-process.js';
import { drover } from '../../support/api-farm.js';
import { startUp, type UpProcess } from '../../support/up-process.js';

/** Issue 21 point 1: a terminal's Ctrl-C (SIGINT to the whole process group) drains the farm. */
describe('drover up and the terminal: Ctrl-C drains', () => {
  let up: UpProcess;
  beforeAll(async () => {
    up = await startUp();
    await up.firstLine;
  }, 60_000);
  afterAll(async () => up?.cleanup());

  it('a second drover up beside the running one refuses (exit 4) instead of joining it', async () => {
    const r = await drover(up.url, ['up'], { DROVER_DATA_DIR: up.dir, DROVER_HTTP_PORT: '0' });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`error: REFUSED: a farm is already running at ${up.url}`);
  }, 60_000);

  it('SIGINT to the process group: the running job ends recorded, then nats-server stops', async () => {
    const nc = await connect({ servers: up.url });
    const log = await createJetStreamEventLog(nc);
    const { jobId } = await createApiClient(nc).submit({
      name: 'drain',
      user: 'ada',
      command: ['sh', '-c', 'sleep 2; echo drained'],
      memMb: 64,
    });
    const worker = async () =>
      stateName(workerFold.foldEvents((await log.read('worker', `${jobId}:0:1`)).events));
    while ((await worker()) !== 'running') await sleep(100);
    // The job's events as they are appended (the log is gone once the farm has stopped).
    const seen: string[] = [];
    nc.subscribe(`drover.ev.job.${jobId}`, {
      callback: (_err, m) => void seen.push(decodeEvent(m.data).type),
    });
    up.interrupt();
    const [code] = await once(up.child, 'exit');
    expect(code).toBe(0);
    expect(await reachable(up.url)).toBe(false);
    expect(up.stderr()).not.toMatch(/timed? ?out|TIMEOUT/i);
    await nc.close().catch(() => undefined);
    // Drained: the process finished and its end is in the log before the server went away.
    expect(seen, up.stderr()).toContain('job.succeeded');
  }, 60_000);
});
