import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../../src/actors/index.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

interface Explained {
  state: string;
  pending?: { code: string; message: string; details?: Record<string, unknown> }[];
}

/**
 * Reservations on a real farm (nats-server, scheduler, two agents of 4 cpus, the API, CLI
 * processes): a window an hour from now on node-1 for ada keeps bob's jobs that could run into
 * it off node-1 (pending `Reservation` naming it), lets a bob job whose time limit ends before
 * it and ada's jobs in, and once deleted, bob's waiting job starts there.
 */
describe('drover reservation (real farm, CLI session)', () => {
  let farm: ApiFarm;
  let session: CliSession;
  const as =
    (user: string) =>
    (...args: string[]) =>
      session.run(args, { DROVER_USER: user });
  const ada = as('ada');
  const bob = as('bob');
  const json = <T>(r: { stdout: string }) => JSON.parse(r.stdout) as T;
  const submit = async (who: typeof ada, ...args: string[]) => {
    const r = await who('submit', '--json', '--cpus', '4', ...args);
    expect(r.code, r.stderr).toBe(0);
    return json<{ jobId: string }>(r).jobId;
  };
  const explain = async (jobId: string) => json<Explained>(await bob('explain', jobId, '--json'));
  /** Wait (bounded against hangs only) until `explain` of the job satisfies `ok`. */
  const explainUntil = async (jobId: string, ok: (x: Explained) => boolean) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const x = await explain(jobId);
      if (ok(x)) return x;
      if (Date.now() > deadline) throw new Error(`explain ${jobId}: ${JSON.stringify(x)}`);
      await sleep(100); // a command in the session answers in milliseconds: do not spin
    }
  };
  const iso = (ms: number) => new Date(ms).toISOString();
  const hour = 3_600_000;

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 2, cpus: 4, memMb: 4096 });
    session = cliSession(farm.server.url);
  }, 90_000);
  afterAll(async () => {
    await session?.stop();
    await farm?.stop();
  }, 60_000);

  it('refuses bad input naming the field', async () => {
    const now = Date.now();
    const backwards = await ada(
      'reservation',
      'create',
      'bad',
      '--start',
      iso(now + hour),
      '--end',
      iso(now),
      '--nodes',
      'node-1',
      '--users',
      'ada',
      '--json',
    );
    expect(backwards.code).toBe(2);
    expect(json<{ error: { message: string } }>(backwards).error.message).toMatch(/^end:/);
    const both = await ada(
      'reservation',
      'create',
      'bad',
      '--start',
      iso(now),
      '--end',
      iso(now + hour),
      '--nodes',
      'node-1',
      '--cpus',
      '2',
      '--users',
      'ada',
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/nodes: give either nodes or an amount/);
    const noUsers = await ada(
      'reservation',
      'create',
      'bad',
      '--start',
      iso(now),
      '--end',
      iso(now + hour),
      '--nodes',
      'node-1',
    );
    expect(noUsers.code).toBe(2);
    expect(noUsers.stderr).toMatch(/--users is required/);
    const unknown = await ada(
      'reservation',
      'create',
      'bad',
      '--start',
      iso(now),
      '--end',
      iso(now + hour),
      '--nodes',
      'nowhere',
      '--users',
      'ada',
    );
    expect(unknown.code).toBe(3);
    const daily = await ada(
      'reservation',
      'create',
      'bad',
      '--start',
      iso(now),
      '--end',
      iso(now + 25 * hour),
      '--nodes',
      'node-1',
      '--users',
      'ada',
      '--flags',
      'daily',
    );
    expect(daily.code).toBe(2);
    expect(daily.stderr).toMatch(/a daily window lasts at most 24 h/);
    expect(json<unknown[]>(await ada('reservation', 'list', '--json'))).toEqual([]);
  });

  it('keeps others out of a coming window, lets its users in, and opens when deleted', async () => {
    const start = Date.now() + hour;
    const created = await ada(
      'reservation',
      'create',
      'win',
      '--start',
      iso(start),
      '--end',
      iso(start + hour),
      '--nodes',
      'node-1',
      '--users',
      'ada',
      '--json',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(json(created)).toEqual({ name: 'win' });
    expect(json(await ada('reservation', 'list', '--json'))).toEqual([
      {
        name: 'win',
        start: iso(start),
        end: iso(start + hour),
        nodes: ['node-1'],
        users: ['ada'],
        flags: [],
        state: 'waiting',
      },
    ]);
    const again = await ada(
      'reservation',
      'create',
      'win',
      '--start',
      iso(start),
      '--end',
      iso(start + hour),
      '--nodes',
      'node-1',
      '--users',
      'ada',
    );
    expect(again.code).toBe(4);

    // bob, no time limit (assumed to run forever): node-2 only; the second waits.
    const long1 = await submit(bob, '--', 'sleep', '120');
    await farm.waitFor(long1, ['running'], 60_000);
    const long2 = await submit(bob, '--', 'sleep', '120');
    const waiting = await explainUntil(long2, (x) =>
      (x.pending ?? []).some((p) => p.code === 'Reservation'),
    );
    expect(waiting.state).toBe('queued');
    const why = waiting.pending!.find((p) => p.code === 'Reservation')!;
    expect(why.message).toMatch(/reserved by win/);
    expect(why.message).toMatch(/no time limit/);
    expect(why.details).toMatchObject({
      reservation: 'win',
      nodes: ['node-1'],
      users: ['ada'],
      start,
    });
    expect(waiting.pending!.some((p) => p.code === 'Excluded')).toBe(false);

    // bob, with a time limit that ends before the window: node-1 is his meanwhile.
    const short = await submit(bob, '--timeout', '5m', '--', 'sleep', '0.2');
    expect(stateName(await farm.waitFor(short, ['succeeded'], 60_000))).toBe('succeeded');
    // ada, a user of the window: in, without a time limit.
    const hers = await submit(ada, '--', 'sleep', '0.2');
    expect(stateName(await farm.waitFor(hers, ['succeeded'], 60_000))).toBe('succeeded');
    const nodes = await Promise.all(
      [long1, short, hers].map(
        async (id) =>
          (await farm.events('chunk', `${id}:0`)).find((e) => e.type === 'chunk.assigned')!
            .data as { node: string },
      ),
    );
    expect(nodes.map((d) => d.node)).toEqual(['node-2', 'node-1', 'node-1']);
    expect(stateName(await farm.job(long2))).toBe('queued');

    // Inside the reservation: ada waits for the window to open; bob may not submit into it.
    const inside = await submit(ada, '--reservation', 'win', '--', 'true');
    const before = await explainUntil(inside, (x) =>
      (x.pending ?? []).some((p) => p.code === 'Reservation'),
    );
    expect(before.pending![0]!.message).toMatch(/waits for its window win/);
    const refused = await bob('submit', '--reservation', 'win', '--json', '--', 'true');
    expect(refused.code).toBe(4);
    expect(json<{ error: { message: string } }>(refused).error.message).toMatch(
      /^reservation: bob is not a user of win/,
    );

    // node-2 runs bob's job without a time limit: a window there is refused unless ignore-jobs.
    const later = ['--start', iso(start + 5 * hour), '--end', iso(start + 6 * hour)];
    const busy = await ada(
      'reservation',
      'create',
      'over',
      ...later,
      '--nodes',
      'node-2',
      '--users',
      'ada',
      '--json',
    );
    expect(busy.code).toBe(4);
    expect(json<{ error: { message: string } }>(busy).error.message).toContain(long1);
    const anyway = await ada(
      'reservation',
      'create',
      'over',
      ...later,
      '--nodes',
      'node-2',
      '--users',
      'ada',
      '--flags',
      'ignore-jobs,weekly',
    );
    expect(anyway.code, anyway.stderr).toBe(0);
    expect(stateName(await farm.job(long1))).toBe('running');
    expect((await ada('reservation', 'delete', 'over')).code).toBe(0);

    const deleted = await ada('reservation', 'delete', 'win', '--reason', 'test over', '--json');
    expect(deleted.code, deleted.stderr).toBe(0);
    await farm.waitFor(long2, ['running'], 60_000);
    expect(json(await ada('reservation', 'list', '--json'))).toEqual([]);
    const audit = json<{ type: string; by: { id: string } }[]>(await ada('audit', 'win', '--json'));
    expect(audit.map((e) => [e.type, e.by.id])).toEqual([
      ['reservation.created', 'ada'],
      ['reservation.deleted', 'ada'],
    ]);
    for (const id of [long1, long2, inside]) await bob('cancel', id, '--yes');
  }, 300_000);
});
