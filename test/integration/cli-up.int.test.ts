import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { jobFold, stateName } from '../../src/actors/index.js';
import { EVENTS_STREAM, createJetStreamEventLog } from '../../src/events/index.js';
import { findNatsServer } from '../../src/cli/nats-binary.js';
import { reachable } from '../../src/cli/nats-process.js';
import { serverPid } from '../support/up-process.js';
import { droverArgv } from '../support/cli-main.js';

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  srv.close();
  return port;
}

describe('drover up --demo (npm start)', () => {
  it('starts nats-server, the scheduler and two agents, runs the demo to success, and Ctrl-C stops everything', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drover-up-'));
    const url = `nats://127.0.0.1:${await freePort()}`;
    const httpPort = await freePort();
    const child = spawn(
      process.execPath,
      droverArgv(['up', '--demo', '--json']),
      {
        env: {
          ...process.env,
          DROVER_NATS_URL: url,
          DROVER_DATA_DIR: dir,
          DROVER_RETRY_BACKOFF_MS: '200',
          DROVER_HTTP_PORT: String(httpPort),
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group: a failed test can take down nats-server with it
      },
    );
    try {
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      const status = JSON.parse(line.toString()) as { demo: Record<string, string> } & Record<
        string,
        unknown
      >;
      expect(status).toMatchObject({
        nats: url,
        startedNats: true,
        nodes: ['node-1', 'node-2'],
        epoch: 1,
        // The server it started is the one findNatsServer picks: the pinned current release.
        natsVersion: findNatsServer()?.version,
      });
      const page = await fetch(`http://127.0.0.1:${httpPort}/`);
      expect(page.status).toBe(200); // the dashboard is up too
      const nc = await connect({ servers: url });
      const info = await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM);
      // No deletes ever; purges only by `drover compact` (an admin permission on a roles farm).
      expect([info.config.deny_delete, info.config.deny_purge]).toEqual([true, false]);
      const log = await createJetStreamEventLog(nc);
      const { parent, outOfMemory, nodeFailure, children } = status.demo;
      for (const id of [parent!, outOfMemory!, nodeFailure!, ...children!.split(',')]) {
        let state = 'none';
        for (let i = 0; i < 600 && !['succeeded', 'failed', 'cancelled'].includes(state); i++) {
          state = stateName(jobFold.foldEvents((await log.read('job', id)).events));
          await sleep(100);
        }
        expect(`${id} ${state}`).toBe(`${id} succeeded`);
      }
      const oom = (await log.read('chunk', `${outOfMemory}:0`)).events.map(
        (e) => e.type === 'chunk.attempt_failed' && e.data.cause,
      );
      expect(oom).toContain('OutOfMemory');
      const crash = (await log.read('chunk', `${nodeFailure}:0`)).events.flatMap((e) =>
        e.type === 'chunk.assigned' ? [e.data.node] : [],
      );
      expect(new Set(crash).size).toBe(2);
      await log.close();
      await nc.close();

      child.kill('SIGINT');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      expect(await reachable(url)).toBe(false);
    } finally {
      // nats-server runs in a session of its own (out of Ctrl-C's reach): killed by its pid file.
      for (const pid of [-child.pid!, await serverPid(dir)]) {
        try {
          if (pid) process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
