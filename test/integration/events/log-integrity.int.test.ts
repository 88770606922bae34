import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EVENTS_STREAM,
  createJetStreamEventLog,
  eventStreamConfig,
  type JetStreamEventLog,
  type LogVerification,
} from '../../../src/events/index.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';
import { tempFile } from '../../support/drover-cli.js';
import { ev, jobSpec, uid } from '../../support/events.js';
import { connectTo } from '../../support/nats-client.js';
import { startNatsServer, type NatsServer } from '../../support/nats-server.js';

describe('drover verify', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let log: JetStreamEventLog;
  /** The real CLI's one-shot commands, answered by a long-lived CLI process (cli-session.ts). */
  let session: CliSession;
  const cli = (args: string[]) => session.run(args);

  beforeAll(async () => {
    server = await startNatsServer();
    session = cliSession(server.url, [{}]);
    nc = await connectTo(server);
    // The farm's stream denies deletes (and cannot be told otherwise): this one allows them, so
    // the test can do what a broker bug or a lost disk would.
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      ...eventStreamConfig(),
      name: EVENTS_STREAM,
      deny_delete: false,
      deny_purge: false,
    });
    log = await createJetStreamEventLog(nc);
  });
  afterAll(async () => {
    await session?.stop();
    await log?.close();
    await nc?.close();
    await server?.stop();
  });

  it('says a whole log is whole, then names the entity and sequence of a deleted event', async () => {
    const a = uid('j');
    const b = uid('j');
    const first = await log.append('job', a, [ev('job.submitted', jobSpec())], { expectedSeq: 0 });
    const other = await log.append('job', b, [ev('job.submitted', jobSpec())], { expectedSeq: 0 });
    expect(first.ok && other.ok).toBe(true);
    const held = await log.append(
      'job',
      a,
      [ev('job.held', { reason: 'r1' }), ev('job.released', {})],
      { expectedSeq: first.ok ? (first.seqs[0] as number) : -1 },
    );
    await log.append('job', b, [ev('job.held', { reason: 'r2' })], {
      expectedSeq: other.ok ? (other.seqs[0] as number) : -1,
    });
    if (!held.ok) throw new Error('append conflicted');

    const clean = await cli(['verify', '--json']);
    expect(clean.code, clean.stderr).toBe(0);
    const whole = JSON.parse(clean.stdout) as LogVerification;
    expect(whole).toMatchObject({ whole: true, messages: 5, lastSeq: 5, holes: [], unchained: 0 });

    const lost = held.seqs[0] as number; // a's job.held, followed by its job.released
    await (await jetstreamManager(nc)).streams.deleteMessage(EVENTS_STREAM, lost, false);

    const damaged = await cli(['verify', '--json']);
    expect(damaged.code).toBe(1);
    const report = JSON.parse(damaged.stdout) as LogVerification;
    expect(report.whole).toBe(false);
    expect(report.holes).toEqual([
      { fromSeq: lost, toSeq: lost, subjects: [`drover.ev.job.${a}`] },
    ]);
    expect(report.breaks).toEqual([]);

    const human = await cli(['verify']);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`hole: seq ${lost} missing (drover.ev.job.${a})`);

    // A projection is not built across the hole, unless asked to.
    const refused = await cli(['replay', '--json']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: 'LOG_HOLE' } });
    const skipped = await cli(['replay', '--json', '--skip-holes']);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(JSON.parse(skipped.stdout)).toMatchObject({
      events: 4,
      holes: [{ fromSeq: lost, toSeq: lost }],
    });
  });

  it('reports garbage published on an entity subject as undecodable', async () => {
    const before = await log.lastSeq();
    const ack = await nc.request(`drover.ev.job.${uid('j')}`, new TextEncoder().encode('{nope'));
    const seq = (JSON.parse(new TextDecoder().decode(ack.data)) as { seq: number }).seq;
    expect(seq).toBe(before + 1);
    const out = await cli(['verify', '--json']);
    expect(out.code).toBe(1);
    const report = JSON.parse(out.stdout) as LogVerification;
    expect(report.undecodable).toHaveLength(1);
    expect(report.undecodable[0]).toMatchObject({ seq });
    expect(report.undecodable[0]?.message).toMatch(/msgpack|not a map|unknown event type/);
  });

  it('backs up a damaged log and restores it with the same holes at the same sequences', async () => {
    const file = await tempFile('damaged.backup');
    const copy = await startNatsServer();
    const onCopy = cliSession(copy.url);
    try {
      const source = await cli(['verify', '--json']);
      const backup = await cli(['backup', file.path, '--json']);
      expect(backup.code, backup.stderr).toBe(0);
      const restore = await onCopy.run(['restore', file.path, '--json']);
      expect(restore.code, restore.stderr).toBe(0);
      const restored = await onCopy.run(['verify', '--json']);
      expect(restored.code).toBe(1);
      const { elapsedMs: _a, ...want } = JSON.parse(source.stdout) as LogVerification;
      const { elapsedMs: _b, ...got } = JSON.parse(restored.stdout) as LogVerification;
      expect(got).toEqual(want);
    } finally {
      await onCopy.stop();
      await copy.stop();
      await file.done();
    }
  });
});
