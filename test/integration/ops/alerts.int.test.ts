import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAlerting, type Alerting } from '../../../src/alerts/index.js';
import { createApiClient } from '../../../src/api/index.js';
import { parseAlertRules } from '../../../src/policy/alerts/index.js';
import { runScheduler } from '../../../src/scheduler/main.js';
import { drover, startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';
import { spawnDrover, type DroverProcess } from '../../support/drover-process.js';
import { quietLogger } from '../../support/farm.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A real HTTP receiver of the alert webhooks: every POST with its Idempotency-Key. */
async function startReceiver() {
  const received: { key: string | undefined; body: Record<string, unknown> }[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      received.push({ key: req.headers['idempotency-key'] as string, body: JSON.parse(text) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

interface AlertJson {
  id: string;
  rule: string;
  key: string;
  state: string;
  since: string;
  resolvedAt?: string;
  summary: string;
  details: Record<string, unknown>;
  acks: { by: string }[];
}

/**
 * Alerts on a real farm: the evaluator (beside the API, as `drover api` runs it) fires "no
 * scheduler leads" while no scheduler runs — evaluation does not need one — and resolves it by
 * itself when one leads again; a node whose agent is killed fires "node lost", and it resolves
 * when the agent is back. Each firing and resolution is POSTed to a real HTTP receiver and
 * every delivery is an event. `drover alerts` and `drover alerts ack` are the real CLI (a session,
 * test/support/cli-session.ts); `drover api` is a process of its own.
 */
describe('alerts on a real farm', () => {
  let farm: ApiFarm;
  let session: CliSession;
  let alerting: Alerting;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let agent: DroverProcess | undefined;
  const cli = (...args: string[]) => session.run(args, { DROVER_USER: 'olga' });
  const alerts = async (all = false): Promise<AlertJson[]> => {
    const r = await cli('alerts', ...(all ? ['--all'] : []), '--json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as AlertJson[];
  };
  /** Poll `drover alerts` until `pick` finds an alert. */
  const waitAlert = async (all: boolean, pick: (a: AlertJson) => boolean, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await alerts(all)).find(pick);
      if (found) return found;
      if (Date.now() > deadline) throw new Error('alert not seen in time');
      await sleep(200);
    }
  };

  beforeAll(async () => {
    receiver = await startReceiver();
    farm = await startApiFarm({ agents: 0, nodeLostMs: 1500, leaseTtlMs: 1500 });
    session = cliSession(farm.server.url);
    const parsed = parseAlertRules({
      rules: {
        'no-leader': { for: '1s', clearFor: '1s' },
        'node-lost': { for: 0, clearFor: 0 },
        'queue-wait': { enabled: false },
        'broken-promise': { for: 0, clearFor: 0 },
      },
      notify: [{ url: receiver.url }],
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    alerting = startAlerting({
      nc: farm.nc,
      eventLog: farm.log,
      live: farm.api.live,
      loaded: { ...parsed, source: 'test' },
      logger: quietLogger,
      intervalMs: 200,
      leaseStaleMs: 3000,
    });
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
    await session?.stop();
    await alerting?.stop();
    await farm?.stop();
    await receiver?.close();
  }, 60_000);

  it('no scheduler leads: fires while none runs, resolves by itself once one leads, notified both times', async () => {
    // The farm's scheduler leads: nothing fires. Stop it (a clean stop releases the lease).
    await alerting.evaluator.round();
    expect(await alerts(true)).toEqual([]);
    await farm.scheduler!.stop();
    farm.scheduler = undefined;
    const firing = await waitAlert(false, (a) => a.rule === 'no-leader');
    expect(firing).toMatchObject({ id: 'no-leader-farm-1', state: 'firing', key: 'farm' });
    expect(firing.summary).toMatch(/^no scheduler leads: test-scheduler released the lease/);

    farm.scheduler = await runScheduler({
      nc: farm.nc,
      logger: quietLogger,
      holder: 'second-scheduler',
      leaseTtlMs: 1500,
      nodeLostMs: 1500,
      fairShare: { weights: {} },
      backoff: { baseMs: 100, maxMs: 1000 },
    });
    const resolved = await waitAlert(
      true,
      (a) => a.id === 'no-leader-farm-1' && a.state === 'resolved',
    );
    expect(resolved.summary).toMatch(/^scheduler second-scheduler leads/);
    expect(Date.parse(resolved.resolvedAt!)).toBeGreaterThan(Date.parse(resolved.since));
    expect((await alerts()).some((a) => a.id === 'no-leader-farm-1')).toBe(false);

    // Notified: one POST per event with a stable key; every delivery an event of the alert.
    for (let i = 0; i < 100 && receiver.received.length < 2; i++) await sleep(100);
    expect(receiver.received.map((r) => [r.key, r.body.event, r.body.state])).toEqual([
      ['no-leader-farm-1:firing', 'firing', 'firing'],
      ['no-leader-farm-1:resolved', 'resolved', 'resolved'],
    ]);
    const events = (await farm.log.read('alert', 'no-leader-farm-1')).events;
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['alert.opened', 'alert.fired', 'alert.resolved', 'alert.notified']),
    );
    expect(events.filter((e) => e.type === 'alert.notified').map((e) => e.data)).toEqual([
      expect.objectContaining({
        event: 'firing',
        url: receiver.url,
        attempt: 1,
        ok: true,
        status: 204,
      }),
      expect.objectContaining({
        event: 'resolved',
        url: receiver.url,
        attempt: 1,
        ok: true,
        status: 204,
      }),
    ]);
    expect(events.every((e) => e.type !== 'alert.acknowledged')).toBe(true);
  }, 120_000);

  it("node lost fires and resolves when the agent is back; ack is a person's, audited", async () => {
    const env = { DROVER_DATA_DIR: farm.dataDir, DROVER_HEARTBEAT_MS: '250' };
    const start = () =>
      spawnDrover(['agent', '--node', 'flaky', '--cpus', '1', '--mem', '256M'], {
        DROVER_NATS_URL: farm.server.url,
        ...env,
      });
    const ready = async () => {
      for (let i = 0; i < 300; i++) {
        const ev = await farm.log.read('node', 'flaky');
        if (ev.events.at(-1)?.type === 'node.ready') return;
        await sleep(100);
      }
      throw new Error('node flaky never ready');
    };
    agent = start();
    await ready();
    await agent.kill9();
    const lost = await waitAlert(false, (a) => a.rule === 'node-lost' && a.key === 'flaky');
    expect(lost).toMatchObject({
      id: 'node-lost-flaky-1',
      state: 'firing',
      summary: 'node flaky is lost (its agent stopped answering)',
    });

    const ack = await cli('alerts', 'ack', lost.id, '--note', 'looking', '--json');
    expect(ack.code, ack.stderr).toBe(0);
    expect(JSON.parse(ack.stdout)).toMatchObject({ id: lost.id, acks: [{ by: 'admin:olga' }] });
    const audit = await cli('audit', lost.id, '--json');
    expect(audit.code, audit.stderr).toBe(0);
    const trail = JSON.parse(audit.stdout) as { type: string; by: { kind: string; id: string } }[];
    expect(trail.map((e) => e.type)).toEqual(
      expect.arrayContaining(['alert.opened', 'alert.fired', 'alert.acknowledged']),
    );
    expect(trail.find((e) => e.type === 'alert.acknowledged')?.by).toMatchObject({
      kind: 'admin',
      id: 'olga',
    });
    expect(trail.find((e) => e.type === 'alert.fired')?.by).toMatchObject({
      kind: 'system',
      id: 'alert-evaluator',
    });
    const missing = await cli('alerts', 'ack', 'node-lost-nowhere-1', '--json');
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout)).toMatchObject({ error: { code: 'NOT_FOUND' } });

    agent = start();
    await ready();
    const back = await waitAlert(
      true,
      (a) => a.id === 'node-lost-flaky-1' && a.state === 'resolved',
    );
    expect(back.acks).toHaveLength(1);
  }, 120_000);

  it('a broken start-by promise fires broken-promise, notified; it resolves when the job is cancelled', async () => {
    // ada's own jobs fill the node (no preemption for her own promise): booked at their end.
    await farm.startAgent('pnode', { cpus: 1, labels: { pool: 'promises' } });
    const ada = (...args: string[]) => session.run(args, { DROVER_USER: 'ada' });
    const on = ['--label-constraint', 'pool=promises', '--cpus', '1'];
    const filler = await ada('submit', '--json', ...on, '--timeout', '25s', '--', 'sleep', '600');
    expect(filler.code, filler.stderr).toBe(0);
    const fillerId = (JSON.parse(filler.stdout) as { jobId: string }).jobId;
    await farm.waitFor(fillerId, ['running'], 60_000);
    const sub = await ada(
      'submit',
      '--json',
      ...on,
      '--timeout',
      '30',
      '--start-by',
      '+35s',
      '--',
      'true',
    );
    expect(sub.code, sub.stderr).toBe(0);
    const jobId = (JSON.parse(sub.stdout) as { jobId: string }).jobId;
    // Through the client: a CLI process can take seconds to start on a busy machine.
    await createApiClient(farm.nc).node('cordon', 'pnode');
    const fired = await waitAlert(
      false,
      (a) => a.rule === 'broken-promise' && a.key === jobId,
      60_000,
    ).catch(async (err: unknown) => {
      const promises = (await ada('promises', '--json')).stdout;
      const all = JSON.stringify(await alerts(true));
      throw new Error(`${String(err)}: promises ${promises} alerts ${all}`);
    });
    expect(fired).toMatchObject({ state: 'firing', details: { jobId, user: 'ada' } });
    expect(fired.summary).toContain(`job ${jobId} did not start by`);
    const posted = () => receiver.received.filter((r) => JSON.stringify(r.body).includes(fired.id));
    for (let i = 0; i < 100 && posted().length === 0; i++) await sleep(100);
    expect(posted().length).toBeGreaterThan(0);

    expect((await ada('cancel', jobId, '--yes')).code).toBe(0);
    await waitAlert(true, (a) => a.id === fired.id && a.state === 'resolved');
    await farm.waitFor(fillerId, undefined, 60_000); // ends by its time limit
  }, 150_000);

  it('a bad alerts.yaml stops drover api with the file and field named (exit 2)', async () => {
    const file = join(farm.dataDir, 'alerts.yaml');
    await writeFile(file, 'rules:\n  swapping:\n    share: 3\n');
    const r = await drover(farm.server.url, ['api', '--json'], { DROVER_ALERTS: file });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({
      error: {
        code: 'BAD_INPUT',
        message: expect.stringContaining(`${file}: rules.swapping.share:`),
      },
    });
  }, 60_000);
});
