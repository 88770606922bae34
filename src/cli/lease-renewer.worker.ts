import { Kvm } from '@nats-io/kv';
import { parentPort, workerData } from 'node:worker_threads';
import { LEASE_BUCKET } from '../scheduler/lease-kv.js';
import { renewFromWorker, type RenewerInit } from '../scheduler/lease-renewal.js';
import { connectNats } from './nats-connect.js';

/** What `offThreadRenewal` hands the thread: the lease, and how the process connects. */
export interface RenewerWorkerData {
  readonly init: RenewerInit;
  readonly url: string;
  readonly vars: Readonly<Record<string, string | undefined>>;
}

// The scheduler's lease renewer thread (scheduler/lease-renewal.ts): a connection of its own, so
// a renewal never waits behind the leader's event loop or its connection's outbound buffer.
const { init, url, vars } = workerData as RenewerWorkerData;
const nc = await connectNats(url, { name: `${init.holder} lease renewer` }, vars);
const kv = await new Kvm(nc).open(LEASE_BUCKET);
renewFromWorker(kv, init, parentPort!, () => nc.close());
