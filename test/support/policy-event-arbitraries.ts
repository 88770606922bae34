import fc from 'fast-check';
import type { EventData } from '../../src/events/index.js';

/** Events are plain objects (no null prototypes). */
const plain = { noNullPrototype: true } as const;
const version = fc.integer({ min: 1, max: 100_000 });
/** Users: any 1-64 characters (a job's user is not a subject token), `__proto__` included. */
const user = fc.oneof(
  fc.string({ minLength: 1, maxLength: 64 }),
  fc.constantFrom('alice', 'bob', '__proto__', 'a.b c'),
);
/** Node ids: one subject token. */
const node = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/);
/** Job names: any 1-200 characters. */
const jobName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 200 }),
  fc.constantFrom('etl', '__proto__'),
);
const memMb = fc.integer({ min: 1, max: 64 * 1024 * 1024 });
const reason = fc.option(fc.string({ maxLength: 1000 }), { nil: undefined });
const limits = fc.record(
  {
    cpus: fc.double({ min: 0, max: 1_000_000, noNaN: true }),
    memMb: fc.integer({ min: 0, max: 1_000_000_000 }),
    gpus: fc.integer({ min: 0, max: 100_000 }),
    launchesPerMin: fc.integer({ min: 0, max: 1_000_000 }),
  },
  { requiredKeys: [], noNullPrototype: true },
);

const withReason = <T extends object>(a: fc.Arbitrary<T>) =>
  fc.tuple(a, reason).map(([d, r]) => (r === undefined ? d : { ...d, reason: r }));

/** The `data` of every policy event type, as the codec round-trip and schema tests draw them. */
export const policyDataArbs: {
  'policy.weight_set': fc.Arbitrary<EventData<'policy.weight_set'>>;
  'policy.fairshare_configured': fc.Arbitrary<EventData<'policy.fairshare_configured'>>;
  'policy.quota_set': fc.Arbitrary<EventData<'policy.quota_set'>>;
  'policy.quota_cleared': fc.Arbitrary<EventData<'policy.quota_cleared'>>;
  'policy.exclusion_added': fc.Arbitrary<EventData<'policy.exclusion_added'>>;
  'policy.exclusion_removed': fc.Arbitrary<EventData<'policy.exclusion_removed'>>;
  'policy.mem_default_set': fc.Arbitrary<EventData<'policy.mem_default_set'>>;
  'policy.mem_default_cleared': fc.Arbitrary<EventData<'policy.mem_default_cleared'>>;
} = {
  'policy.weight_set': withReason(
    fc.record(
      { version, user, weight: fc.double({ min: Number.MIN_VALUE, max: 1_000_000, noNaN: true }) },
      plain,
    ),
  ),
  'policy.fairshare_configured': withReason(
    fc.record(
      {
        version,
        halfLifeS: fc.integer({ min: 1, max: 10 * 365 * 24 * 3600 }),
        lambda: fc.double({ min: 0, max: 1000, noNaN: true }),
      },
      plain,
    ),
  ),
  'policy.quota_set': withReason(fc.record({ version, user, limits }, plain)),
  'policy.quota_cleared': withReason(fc.record({ version, user }, plain)),
  'policy.exclusion_added': withReason(fc.record({ version, user, node }, plain)),
  'policy.exclusion_removed': withReason(fc.record({ version, user, node }, plain)),
  'policy.mem_default_set': withReason(
    fc.record(
      {
        version,
        name: jobName,
        memMb: fc.oneof(fc.constant('auto' as const), memMb),
        fallbackMb: memMb,
      },
      { requiredKeys: ['version', 'name', 'memMb'], noNullPrototype: true },
    ),
  ),
  'policy.mem_default_cleared': withReason(fc.record({ version, name: jobName }, plain)),
};
