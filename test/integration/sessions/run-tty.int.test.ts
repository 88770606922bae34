import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { droverPty } from '../../support/session-cli.js';

/** Pids of processes whose argv is exactly `argv` (read from /proc). */
function pidsOf(argv: string[]): number[] {
  const want = argv.join('\0') + '\0';
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8') === want;
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function until<T>(
  what: string,
  f: () => T | undefined | Promise<T | undefined>,
  ms = 30_000,
) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${ms} ms`);
    await sleep(50);
  }
}

/**
 * `drover run -it` through a real pseudo-terminal, as a person uses it: an interactive shell on
 * the farm, a window resize seen by `stty size` there, Ctrl-C stopping a remote `sleep` while
 * the CLI (and the shell) stay, and the shell's exit code as the CLI's.
 */
describe('drover run -it (a real pty at both ends)', () => {
  let farm: ApiFarm;

  beforeAll(async () => {
    farm = await startApiFarm();
  }, 60_000);
  afterAll(() => farm?.stop());

  it('an interactive shell: resize, Ctrl-C of a remote sleep, exit code', async () => {
    const cli = droverPty(farm.server.url, ['run', '-it', '--', 'sh'], { cols: 100, rows: 30 });
    try {
      await cli.waitFor(/[$#] $/m);
      cli.type('echo hel""lo\r');
      await cli.waitFor(/^hello\r*$/m);

      cli.type('stty size\r');
      await cli.waitFor(/^30 100\r*$/m);

      // The window changes: SIGWINCH → session.resized in the log → the remote pty's size.
      const sessionId = await until('a running session', () => {
        const s = [...farm.api.live.model.sessions.keys()];
        return s.length === 1 ? s[0] : undefined;
      });
      cli.term.resize(120, 40);
      await until('session.resized in the log', async () => {
        const { events } = await farm.log.read('session', sessionId);
        return events.find((e) => e.type === 'session.resized');
      });
      const mark = cli.screen().length;
      cli.type('stty size\r');
      await cli.waitFor(/^40 120\r*$/m, 30_000, mark);

      // Ctrl-C reaches the remote foreground group: the sleep dies, the shell and the CLI stay.
      cli.type('sleep 1234\r');
      await until('the remote sleep', () => (pidsOf(['sleep', '1234']).length ? true : undefined));
      const before = cli.screen().length;
      cli.type('\x03');
      await until('the sleep to end', () => (pidsOf(['sleep', '1234']).length ? undefined : true));
      cli.type('echo after""ctrlc\r');
      await cli.waitFor(/^afterctrlc\r*$/m, 30_000, before);

      cli.type('exit 3\r');
      expect(await cli.exited).toBe(3);
      const { events } = await farm.log.read('session', sessionId);
      const exited = events.find((e) => e.type === 'session.exited');
      expect(exited?.data).toMatchObject({ exitCode: 3 });
      expect(events.map((e) => e.type)).toEqual([
        'session.opened',
        'session.placed',
        'session.resized',
        'session.exited',
      ]);
      expect(events[2]?.by.kind).toBe('admin'); // the trusted surface, as on a farm without roles
    } catch (err) {
      const sessions = [...farm.api.live.model.sessions].map(([k, v]) => [k, v.value]);
      const jobs = [...farm.api.live.model.jobs].map(([k, v]) => [k, v.value]);
      throw new Error(`${(err as Error).message}\n${JSON.stringify({ sessions, jobs })}`);
    } finally {
      cli.term.kill('SIGKILL');
    }
  }, 120_000);
});
