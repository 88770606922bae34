import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { EVENTS_STREAM } from '../../src/events/index.js';
import { reachable } from '../../src/cli/nats-process.js';

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  srv.close();
  return port;
}

describe('drover up (npm start)', () => {
  it('starts nats-server from nats.conf with the event stream, and Ctrl-C stops both', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drover-up-'));
    const url = `nats://127.0.0.1:${await freePort()}`;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'up', '--json'], {
      env: { ...process.env, DROVER_NATS_URL: url, DROVER_DATA_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      expect(JSON.parse(line.toString())).toEqual({
        nats: url,
        startedNats: true,
        stream: EVENTS_STREAM,
      });
      const nc = await connect({ servers: url });
      const info = await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM);
      expect(info.config.subjects).toEqual(['drover.ev.>']);
      expect(info.config.deny_delete && info.config.deny_purge).toBe(true);
      await nc.close();

      child.kill('SIGINT');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      expect(await reachable(url)).toBe(false);
    } finally {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
