import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { offThreadRenewal } from '../../../src/cli/lease-renewer.js';
import { acquireLease, type Lease } from '../../../src/scheduler/lease.jetstream.js';
import { LEASE_BUCKET, LEASE_KEY } from '../../../src/scheduler/lease-kv.js';
import type { DroverProcess } from '../../support/drover-process.js';
import { spawnContender } from '../../support/lease-contenders.js';
import { startNatsServer, type NatsServer } from '../../support/nats-server.js';
import { logged, until } from '../../support/service-output.js';

const TTL_MS = 1000;

/** Blocks this thread's event loop, as a long synchronous step or a blocking collection does. */
function blockLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

/**
 * A leader whose event loop is blocked for several TTLs keeps its lease when the lease is
 * renewed from a thread of its own (the CLI's schedulers): the chaos run's two schedulers took the
 * lease from each other every few seconds because each new leader's collection after catch-up
 * blocked its loop past the TTL (bench/RESULTS.md). The standby is a real `drover scheduler`
 * process judging the lease by its own clock; the control shows that the same block loses an
 * in-loop lease, and the stall limit that a wedged loop still lets it go.
 */
describe('the lease renewed off the event loop', () => {
  let server: NatsServer | undefined;
  let nc: NatsConnection | undefined;
  let standby: DroverProcess | undefined;
  let lease: Lease | undefined;
  let dataDir: string | undefined;
  afterEach(async () => {
    await lease?.release();
    await standby?.stop();
    await nc?.close();
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    lease = standby = nc = server = dataDir = undefined;
  }, 60_000);

  /** A lease held here, a standby waiting for it, then this loop blocked for 4 TTLs. */
  async function blockedHolder(offThread?: { stallLimitMs: number }) {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    dataDir = await mkdtemp(join(tmpdir(), 'drover-lease-thread-'));
    const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    lease = await acquireLease(nc, {
      holder: 'blocked',
      ttlMs: TTL_MS,
      logger,
      ...(offThread && {
        offThread: { ...offThreadRenewal(server.url, {}), stallLimitMs: offThread.stallLimitMs },
      }),
    });
    const sb = spawnContender('standby', {
      natsUrl: server.url,
      dataDir,
      leaseTtlMs: TTL_MS,
    });
    standby = sb.proc;
    // Up once it serves its metrics (a standby prints its document only when it leads); then it
    // watches the lease's revision move for a few TTLs.
    await sb.metricsUrl();
    await sleep(3 * TTL_MS);
    expect(sb.epochs()).toEqual([]);
    expect(lease.held()).toBe(true);
    blockLoop(4 * TTL_MS);
    return sb;
  }

  const epochInKv = async () => {
    const kv = await new Kvm(nc!).open(LEASE_BUCKET);
    const e = await kv.get(LEASE_KEY);
    return e!.json<{ holder: string; epoch: number }>();
  };

  it('keeps it through a blocked loop: no standby takes over', async () => {
    const sb = await blockedHolder({ stallLimitMs: 30_000 });
    await sleep(3 * TTL_MS); // a takeover would have happened by now
    expect(sb.epochs()).toEqual([]);
    expect(await epochInKv()).toEqual({ holder: 'blocked', epoch: 1 });
    expect(lease!.held()).toBe(true);
  });

  it('loses it through the same block when renewed on the loop (the control)', async () => {
    const sb = await blockedHolder();
    await until(
      'the standby to lead',
      () => (sb.epochs().length > 0 ? true : undefined),
      30_000,
      () => sb.proc.output(),
    );
    expect((await epochInKv()).holder).toBe('standby');
    await lease!.lost; // its next renewal finds the key taken
    expect(lease!.held()).toBe(false);
  });

  it('lets it go when the loop stays blocked past the stall limit', async () => {
    const sb = await blockedHolder({ stallLimitMs: 2 * TTL_MS });
    await until(
      'the standby to lead',
      () => (sb.epochs().length > 0 ? true : undefined),
      30_000,
      () => sb.proc.output(),
    );
    expect(logged(sb.proc, 'took over the scheduler lease')).toHaveLength(1);
    await lease!.lost;
    expect(lease!.held()).toBe(false);
  });
});
