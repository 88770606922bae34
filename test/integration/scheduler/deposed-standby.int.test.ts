import { connect, type NatsConnection } from '@nats-io/transport-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createApiClient } from '../../../src/api/index.js';
import { spawnDrover, type DroverProcess } from '../../support/drover-process.js';
import { startNatsServer, type NatsServer } from '../../support/nats-server.js';
import { jsonLines, logged, running, until, upDoc } from '../../support/service-output.js';

/**
 * A `drover scheduler` whose lease another scheduler took (it was paused past its lease) stays up
 * and stands by: it exited 0 before, so a supervisor restarting failures only left the farm one
 * standby short (the chaos run saw schedulers "exit by themselves"). When the new leader dies,
 * the deposed process leads again and the farm runs jobs.
 */
describe('a deposed scheduler process', () => {
  const procs: DroverProcess[] = [];
  let server: NatsServer | undefined;
  let nc: NatsConnection | undefined;
  let dataDir: string | undefined;
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await nc?.close();
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('stands by to lead again, and leads when the new leader dies', async () => {
    server = await startNatsServer();
    dataDir = await mkdtemp(join(tmpdir(), 'drover-deposed-'));
    const spawn = (args: string[], id?: string) => {
      const p = spawnDrover([...args, '--json'], {
        DROVER_NATS_URL: server!.url,
        DROVER_DATA_DIR: dataDir!,
        DROVER_LEASE_TTL_MS: '1500',
        DROVER_HEARTBEAT_MS: '250',
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
        ...(id && { DROVER_SCHEDULER_ID: id }),
      });
      procs.push(p);
      return p;
    };
    const a = spawn(['scheduler', '--no-api'], 'sched-a');
    await until('a to lead', () => upDoc(a, 'epoch'));
    const b = spawn(['scheduler', '--no-api'], 'sched-b');
    await sleep(500); // b is standing by
    a.child.kill('SIGSTOP'); // past its lease: b takes over
    await until(
      'b to lead',
      () => upDoc(b, 'epoch'),
      60_000,
      () => b.output(),
    );
    a.child.kill('SIGCONT');
    await until(
      'a to see it was deposed',
      () => (logged(a, 'deposed: standing by to lead again').length > 0 ? true : undefined),
      60_000,
      () => a.output(),
    );
    await sleep(1_000);
    expect(running(a), a.output()).toBe(true);
    expect(logged(a, 'scheduler leads')).toHaveLength(1);

    await b.kill9();
    await until(
      'a to lead again',
      () => (logged(a, 'scheduler leads').length === 2 ? true : undefined),
      60_000,
      () => a.output(),
    );
    // Its --json document again, for the new leadership (scripts and the chaos run watch it).
    const docs = await until('its second --json document', () => {
      const found = jsonLines(a).filter((l) => 'epoch' in l && !('msg' in l));
      return found.length >= 2 ? found : undefined;
    });
    expect(docs).toHaveLength(2);
    expect(docs[1]!.epoch).toBeGreaterThan(docs[0]!.epoch as number);
    spawn(['agent', '--node', 'n1', '--cpus', '2', '--mem', '1G']);
    spawn(['api']);
    nc = await connect({ servers: server.url, noAsyncTraces: true });
    const api = createApiClient(nc);
    const { jobId } = await until('the API to take a job', () =>
      api
        .submit({ name: 'after-deposed', user: 'ops', command: ['true'], memMb: 16 })
        .catch(() => undefined),
    );
    const state = await until('the job to end', async () => {
      const s = (await api.job(jobId).catch(() => undefined))?.state;
      return s === 'succeeded' || s === 'failed' ? s : undefined;
    });
    expect(state).toBe('succeeded');
    expect(running(a), a.output()).toBe(true);
  }, 180_000);
});
