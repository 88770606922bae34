import type { KV } from '@nats-io/kv';

export const LEASE_BUCKET = 'drover_scheduler';
export const LEASE_KEY = 'leader';

export interface LeaseValue {
  readonly holder: string;
  readonly epoch: number;
  /** Set by a clean stop: a standby may take over at once instead of waiting out the lease. */
  readonly released?: boolean;
}

export const encodeLease = (v: LeaseValue): string => JSON.stringify(v);

/** The key's revision when it still names `holder` at `epoch` (not released), else undefined. */
export async function ownRevision(
  kv: KV,
  holder: string,
  epoch: number,
): Promise<number | undefined> {
  const entry = await kv.get(LEASE_KEY);
  if (!entry || entry.operation !== 'PUT') return undefined;
  const v = entry.json<LeaseValue>();
  return v.holder === holder && v.epoch === epoch && !v.released ? entry.revision : undefined;
}

/** JetStream's "wrong last sequence": the compare-and-set on the key's revision failed. */
export const WRONG_LAST_SEQUENCE = 10071;
