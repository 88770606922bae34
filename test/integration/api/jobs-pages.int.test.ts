import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedHistories } from '../../../bench/growth-seed.js';
import { createApiClient, startApiService, type ApiService } from '../../../src/api/index.js';
import { MAX_BODY_BYTES, SchedulerError } from '../../../src/events/index.js';
import { drover } from '../../support/drover-cli.js';
import { ev, jobSpec, uid } from '../../support/events.js';
import { quietLogger } from '../../support/farm.js';
import { useEventLog } from '../../support/nats-client.js';
import type { Entry } from '../../support/projection-history.js';

const farm = useEventLog({ beforeAll, afterAll });

/*
 * Issue 23: `drover jobs --all` on a farm whose list is over the 512 KiB body limit. Names of 200
 * characters make each row ~340 bytes, so 2,500 jobs (~850 KB of rows) need two pages; seeded
 * raw into the log (one submit event each), which is all the list reads.
 */
const JOBS = 2_500;
let api: ApiService;
let ids: string[];

beforeAll(async () => {
  const tag = uid('P');
  ids = Array.from({ length: JOBS }, (_, i) => `${tag}-${i}`);
  const entries: Entry[] = ids.map((id, i) => ({
    entity: 'job',
    id,
    event: ev('job.submitted', jobSpec({ name: `-${i}`.padStart(200, 'n') })),
  }));
  await seedHistories(farm.nc, { events: JOBS, history: (h) => (h === 0 ? entries : []) });
  api = await startApiService({ nc: farm.nc, logger: quietLogger });
  await api.live.until((m) => ids.every((id) => m.jobs.has(id)), 30_000);
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

describe('jobs.list over the body limit, on a real nats-server and API service', () => {
  it('`drover jobs --all --json` pages through and prints every job, in order, as one array', async () => {
    const r = await drover(farm.server.url, ['jobs', '--all', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { id: string; state: string; name: string }[];
    expect(rows.map((x) => x.id)).toEqual(ids);
    expect(rows.every((x) => x.state === 'queued' && x.name.length === 200)).toBe(true);
    expect(r.stdout.length).toBeGreaterThan(MAX_BODY_BYTES);
  }, 60_000);

  it('a page stops short of the body limit and says where to go on; msgpack pages the same', async () => {
    const client = createApiClient(farm.nc);
    const first = await client.jobsPage({ all: true, pageSize: 10_000 });
    expect(first.jobs.length).toBeGreaterThan(0);
    expect(first.jobs.length).toBeLessThan(JOBS);
    expect(first.next).toBe(first.jobs.at(-1)?.id);
    const second = await client.jobsPage({ all: true, after: first.next as string });
    expect([...first.jobs, ...second.jobs].map((x) => x.id)).toEqual(ids);
    expect(second.next).toBeUndefined();
    const small = await client.jobsPage({ all: true, pageSize: 3, after: ids[5] as string });
    expect(small).toEqual({ jobs: expect.any(Array), next: ids[8] });
    expect(small.jobs.map((x) => x.id)).toEqual(ids.slice(6, 9));
    const packed = await createApiClient(farm.nc, { msgpack: true }).jobs({ all: true });
    expect(packed.map((x) => x.id)).toEqual(ids);
    expect((await client.jobs({ all: true, limit: 7 })).map((x) => x.id)).toEqual(ids.slice(0, 7));
  }, 60_000);

  it('an old request without paging fields gets a clear refusal naming the request and the size', async () => {
    const client = createApiClient(farm.nc);
    const small = await client.call<{ jobs: unknown[]; next?: string }>('jobs.list', {
      all: true,
      limit: 10,
    });
    expect(small.jobs).toHaveLength(10);
    expect(small).not.toHaveProperty('next');
    const err = await client.call('jobs.list', { all: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchedulerError);
    expect((err as SchedulerError).code).toBe('REFUSED');
    expect((err as SchedulerError).message).toMatch(
      /^drover\.api\.jobs\.list: the reply is \d+ bytes, over the 524288-byte body limit/,
    );
    const bad = await client.jobsPage({ all: true, after: 'no-such-job' }).catch((e: unknown) => e);
    expect((bad as SchedulerError).code).toBe('NOT_FOUND');
    expect((bad as SchedulerError).message).toMatch(/^after: job no-such-job/);
  }, 60_000);
});
