import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionFold, stateName } from '../../../src/actors/index.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { droverPiped } from '../../support/session-cli.js';

/**
 * `drover run` without a pty, through the real CLI against a real farm: the command's exit code
 * is the CLI's, stdin is piped through, and the session is in the log (opened, placed, exited)
 * without its bytes.
 */
describe('drover run (pipes)', () => {
  let farm: ApiFarm;
  let url: string;

  beforeAll(async () => {
    farm = await startApiFarm();
    url = farm.server.url;
  }, 60_000);
  afterAll(() => farm?.stop());

  it("exits with the command's exit code, its output on the right stream", async () => {
    const r = await droverPiped(
      url,
      ['run', '--', 'sh', '-c', 'echo out; echo err >&2; exit 7'],
      null,
    ).done;
    expect(r.stderr).toContain('err');
    expect(r.stdout.toString()).toBe('out\n');
    expect(r.code).toBe(7);
  }, 60_000);

  it('pipes stdin to the remote command and its output back', async () => {
    const input = Array.from({ length: 5000 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const r = await droverPiped(
      url,
      ['run', '--json', '--', 'sh', '-c', 'wc -l; tr a-z A-Z'],
      input,
    ).done;
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout.toString()) as { sessionId: string; exitCode: number };
    expect(doc.exitCode).toBe(0);
    // --json: the command's output went to stderr, the one document to stdout
    expect(r.stderr).toMatch(/^5000\n/);
    const { events } = await farm.log.read('session', doc.sessionId);
    expect(events.map((e) => e.type)).toEqual([
      'session.opened',
      'session.placed',
      'session.exited',
    ]);
    // Only sizes and codes in the log, never the bytes
    expect(JSON.stringify(events)).not.toContain('LINE 4999');
    expect(stateName(sessionFold.foldEvents(events))).toBe('exited');
    // `drover sessions` shows live ones only; --all also the ended, with how they ended.
    const live = await droverPiped(url, ['sessions', '--json'], null).done;
    expect(JSON.parse(live.stdout.toString())).toEqual([]);
    const all = await droverPiped(url, ['sessions', '--all', '--json'], null).done;
    const row = (JSON.parse(all.stdout.toString()) as { id: string }[]).find(
      (s) => s.id === doc.sessionId,
    );
    expect(row).toMatchObject({ state: 'exited', exitCode: 0, tty: false, kind: 'run' });

    // A job naming that (ended) session, as a retry of it would: refused, never run detached.
    const marker = join(tmpdir(), `drover-ran-${doc.sessionId}`);
    const jobId = await farm.submit({
      name: 'again',
      user: 'ada',
      command: ['touch', marker],
      env: { DROVER_SESSION: doc.sessionId },
    });
    const job = await farm.waitFor(jobId);
    expect(stateName(job)).toBe('failed');
    expect(job.context.outcome).toMatchObject({ cause: 'LaunchFailed' });
    expect(existsSync(marker)).toBe(false);
  }, 60_000);

  it('names a bad flag (exit 2) and an unknown node (exit 3)', async () => {
    const bad = await droverPiped(url, ['run', '--mem', '12X', '--', 'true'], null).done;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--mem 12X');
    const missing = await droverPiped(url, ['run', '--node', 'nowhere', '--', 'true'], null).done;
    expect(missing.stderr).toContain('node: no node nowhere');
    expect(missing.code).toBe(3);
  }, 60_000);
});
