import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServer } from '../../support/nats-server.js';
import { DROVER_MAIN } from '../../support/cli-main.js';

const AGENT = `${process.execPath} ${DROVER_MAIN} agent --node tty-1 --cpus 1 --mem 256M`;

/** Run `drover agent` until its 'reconciled' line, through a real pty (`script`) or a pipe. */
function agentOutput(url: string, dir: string, tty: boolean, format?: string): Promise<string> {
  const env = { ...process.env, DROVER_NATS_URL: url, DROVER_DATA_DIR: dir, LOG_LEVEL: 'info' };
  if (format) Object.assign(env, { LOG_FORMAT: format });
  const child = tty
    ? spawn('script', ['-qec', `exec ${AGENT}`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn('sh', ['-c', `exec ${AGENT}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve) => {
    let out = '';
    const take = (b: Buffer) => {
      out += b.toString();
      if (!/reconciled/.test(out)) return;
      child.kill('SIGKILL'); // script's pty closes: the agent gets SIGHUP and ends
      resolve(out);
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
  });
}

/** Issue 21 point 7: a person at a terminal reads lines, a collector reads JSON. */
describe('logs of a drover service', () => {
  let server: NatsServer;
  let dir: string;
  beforeAll(async () => {
    server = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'drover-tty-'));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('are human lines on a terminal', async () => {
    const out = await agentOutput(server.url, dir, true);
    expect(out).toMatch(/\d\d:\d\d:\d\d INFO {2}agent agent tty-1: reconciled/);
    expect(out).not.toContain('{"level"');
  }, 60_000);

  it('are JSON through a pipe, and on a terminal with LOG_FORMAT=json', async () => {
    expect(await agentOutput(server.url, dir, false)).toMatch(/^\{"level":30.*"msg":"reconciled"/m);
    expect(await agentOutput(server.url, dir, true, 'json')).toContain('"msg":"reconciled"');
  }, 60_000);
});
