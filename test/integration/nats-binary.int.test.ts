import { connect } from '@nats-io/transport-node';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  configFor,
  findNatsServer,
  hasSyncInterval,
  natsVersionWarning,
  parseNatsVersion,
  pinnedNatsPath,
  pinnedNatsVersion,
} from '../../src/cli/nats-binary.js';
import { startLocalNats } from '../../src/cli/nats-process.js';

const natsConf = fileURLToPath(new URL('../../nats.conf', import.meta.url));

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  srv.close();
  return port;
}

/** The binaries this machine has: the pinned release and, for the compatibility lane, PATH's. */
function binaries(): { path: string; version: string }[] {
  const found: { path: string; version: string }[] = [];
  for (const path of [pinnedNatsPath(), 'nats-server']) {
    if (path !== 'nats-server' && !existsSync(path)) continue;
    const out = spawnSync(path, ['--version'], { encoding: 'utf8' });
    const version = out.status === 0 ? parseNatsVersion(out.stdout) : undefined;
    if (version && !found.some((f) => f.version === version)) found.push({ path, version });
  }
  return found;
}

describe('which nats-server drover up starts', () => {
  const saved = process.env.DROVER_NATS_SERVER;
  afterEach(() => {
    if (saved === undefined) delete process.env.DROVER_NATS_SERVER;
    else process.env.DROVER_NATS_SERVER = saved;
  });

  it('knows which servers have sync_interval and warns in one line about older ones', () => {
    expect(parseNatsVersion('nats-server: v2.9.10\n')).toBe('2.9.10');
    expect(hasSyncInterval('2.9.10')).toBe(false);
    expect(hasSyncInterval('2.10.0')).toBe(true);
    expect(hasSyncInterval('3.0.1')).toBe(true);
    expect(natsVersionWarning('2.15.3')).toBeUndefined();
    expect(natsVersionWarning('2.9.10')).toMatch(
      /^nats-server 2\.9\.10 is older than 2\.10: [^\n]+$/,
    );
  });

  it('keeps sync_interval in nats.conf for a current server and drops only that line for 2.9', async () => {
    const text = await readFile(natsConf, 'utf8');
    expect(text).toMatch(/^\s*sync_interval: always$/m);
    expect(configFor(text, '2.15.3')).toBe(text);
    const old = configFor(text, '2.9.10');
    expect(old).not.toMatch(/sync_interval:/);
    expect(old.split('\n').length).toBe(text.split('\n').length - 1);
  });

  it('prefers the pinned release to the one on PATH', () => {
    delete process.env.DROVER_NATS_SERVER;
    const pinned = pinnedNatsPath();
    // CI builds it (.ci/run); without it the PATH server is the answer, as the README says.
    const want = existsSync(pinned) ? pinned : 'nats-server';
    expect(findNatsServer()?.path).toBe(want);
    if (existsSync(pinned)) expect(`v${findNatsServer()?.version}`).toBe(pinnedNatsVersion());
  });

  it('starts every nats-server on this machine from nats.conf, old ones without sync_interval', async () => {
    const found = binaries();
    expect(found.length).toBeGreaterThan(0);
    for (const { path, version } of found) {
      process.env.DROVER_NATS_SERVER = path;
      const dir = await mkdtemp(join(tmpdir(), 'drover-natsbin-'));
      const url = `nats://127.0.0.1:${await freePort()}`;
      const local = await startLocalNats(natsConf, dir, url);
      try {
        expect(local.binary.version).toBe(version);
        const nc = await connect({ servers: url });
        expect(nc.info?.version).toBe(version);
        await nc.close();
        expect(existsSync(join(dir, 'nats.compat.conf'))).toBe(!hasSyncInterval(version));
      } finally {
        const exited = once(local.child, 'exit');
        local.child.kill('SIGTERM');
        await exited;
        await rm(dir, { recursive: true, force: true });
      }
    }
  });
});
