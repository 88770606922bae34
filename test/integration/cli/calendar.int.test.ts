import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

/**
 * `drover calendar` as an operator runs it: the compiled CLI (a session,
 * test/support/cli-session.ts) against a real nats-server and API.
 */
describe('drover calendar (real nats-server, API service, CLI session)', () => {
  let farm: ApiFarm;
  let session: CliSession;
  let dir: string;
  const cli = (...args: string[]) => session.run(args, { DROVER_USER: 'ada' });
  const json = async <T>(...args: string[]) => {
    const r = await cli(...args, '--json');
    return { ...r, doc: JSON.parse(r.stdout || 'null') as T };
  };
  const imports = async () => (await farm.log.read('calendar', 'XNYS-2016')).events;

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 0, scheduler: false });
    session = cliSession(farm.server.url);
    dir = await mkdtemp(join(tmpdir(), 'drover-cal-'));
  }, 60_000);
  afterAll(async () => {
    await session?.stop();
    await farm?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('imports versions, keeps every one readable, and refuses a bad file naming the path', async () => {
    const first = await json<{ name: string; version: number }>(
      'calendar',
      'import',
      'calendars/XNYS-2016.yaml',
    );
    expect(first.code, first.stderr).toBe(0);
    expect(first.doc).toEqual({ name: 'XNYS-2016', version: 1 });

    const again = await json<{ name: string; version: number }>(
      'calendar',
      'import',
      'calendars/XNYS-2016.yaml',
    );
    expect(again.doc).toEqual({ name: 'XNYS-2016', version: 1 });
    expect(await imports()).toHaveLength(1);

    const yaml = await readFile('calendars/XNYS-2016.yaml', 'utf8');
    const changed = join(dir, 'xnys-v2.yaml');
    await writeFile(
      changed,
      yaml.replace('holidays:\n', 'holidays:\n  - { date: 2016-06-01, name: Closed for a test }\n'),
    );
    const second = await cli('calendar', 'import', changed);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/XNYS-2016: version 2 \(imported\)/);
    expect(await imports()).toHaveLength(2);

    const v1 = await json<{ date: string; open: string; close: string }[]>(
      'calendar',
      'sessions',
      'XNYS-2016',
      '--from',
      '2016-06-01',
      '--to',
      '2016-06-02',
      '--version',
      '1',
    );
    expect(v1.doc).toEqual([
      { date: '2016-06-01', open: '2016-06-01T09:30:00-04:00', close: '2016-06-01T16:00:00-04:00' },
      { date: '2016-06-02', open: '2016-06-02T09:30:00-04:00', close: '2016-06-02T16:00:00-04:00' },
    ]);
    const latest = await json<{ date: string }[]>(
      'calendar',
      'sessions',
      'XNYS-2016',
      '--from',
      '2016-06-01',
      '--to',
      '2016-06-02',
    );
    expect(latest.doc.map((s) => s.date)).toEqual(['2016-06-02']);
    const table = await cli(
      'calendar',
      'sessions',
      'XNYS-2016',
      '--from',
      '2016-11-25',
      '--to',
      '2016-11-25',
    );
    expect(table.stdout).toMatch(
      /2016-11-25\s+2016-11-25T09:30:00-05:00\s+2016-11-25T13:00:00-05:00/,
    );

    const list = await json<unknown[]>('calendar', 'list');
    expect(list.doc).toEqual([
      {
        name: 'XNYS-2016',
        version: 2,
        timezone: 'America/New_York',
        from: '2016-01-01',
        to: '2016-12-31',
      },
    ]);

    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, yaml.replace('2016-02-15', '2016-02-30'));
    const refused = await cli('calendar', 'import', bad);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      'error: BAD_INPUT: invalid calendar: holidays[2].date: expected YYYY-MM-DD',
    );
    expect(await imports()).toHaveLength(2);
  }, 120_000);

  it('says who imported in the audit, and answers unknown names and versions with exit 3', async () => {
    const audit = await json<
      { type: string; by: { kind: string; id: string }; data: { version: number } }[]
    >('audit', 'XNYS-2016');
    expect(audit.code, audit.stderr).toBe(0);
    expect(audit.doc.map((e) => [e.type, e.by, e.data.version])).toEqual([
      ['calendar.imported', { kind: 'admin', id: 'ada' }, 1],
      ['calendar.imported', { kind: 'admin', id: 'ada' }, 2],
    ]);
    const none = await cli(
      'calendar',
      'sessions',
      'NOPE',
      '--from',
      '2016-01-01',
      '--to',
      '2016-01-31',
    );
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/^error: NOT_FOUND: no calendar NOPE/);
    const v9 = await cli(
      'calendar',
      'sessions',
      'XNYS-2016',
      '--from',
      '2016-01-01',
      '--to',
      '2016-01-31',
      '--version',
      '9',
    );
    expect(v9.code).toBe(3);
    const badDate = await cli(
      'calendar',
      'sessions',
      'XNYS-2016',
      '--from',
      '2016-1-1',
      '--to',
      '2016-01-31',
    );
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toMatch(/^error: BAD_INPUT: --from 2016-1-1: expected YYYY-MM-DD/);
  }, 120_000);
});
