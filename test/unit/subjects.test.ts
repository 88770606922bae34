import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  ChunkIdSchema,
  ENTITIES,
  EVENTS_PREFIX,
  EntityIdSchema,
  WorkerIdSchema,
  chunkId,
  eventSubject,
  eventWildcard,
  parseChunkId,
  parseEventSubject,
  nodeOfSessionSubject,
  sessionInSubject,
  sessionOutSubject,
  sessionOutWildcard,
  sessionUserToken,
  workerId,
} from '../../src/events/index.js';
import { chunkIdArb, entityIdArb } from '../support/arbitraries.js';

const indexArb = fc.integer({ min: 0, max: 1_000_000 });

describe('event subjects', () => {
  it('are drover.ev.<entity>.<id>', () => {
    expect(eventSubject('job', 'J1')).toBe('drover.ev.job.J1');
    expect(eventSubject('chunk', chunkId('J1', 3))).toBe('drover.ev.chunk.J1:3');
    expect(eventWildcard()).toBe(`${EVENTS_PREFIX}.>`);
    expect(eventWildcard('node')).toBe('drover.ev.node.*');
  });

  test.prop([fc.constantFrom(...ENTITIES), fc.oneof(entityIdArb, chunkIdArb)])(
    'parseEventSubject inverts eventSubject',
    (entity, id) => {
      expect(parseEventSubject(eventSubject(entity, id))).toEqual({ entity, id });
    },
  );

  it.each([
    'drover.ev.job',
    'drover.ev.job.J1.extra',
    'drover.ev.task.J1',
    'drover.cmd.job.J1',
    'other.ev.job.J1',
    'drover.ev.>',
    '',
  ])('%j is not an event subject', (subject) => {
    expect(parseEventSubject(subject)).toBeUndefined();
  });
});

describe('chunk and worker ids', () => {
  test.prop([entityIdArb, indexArb])('parseChunkId inverts chunkId', (jobId, index) => {
    const id = chunkId(jobId, index);
    expect(ChunkIdSchema.safeParse(id).success).toBe(true);
    expect(parseChunkId(id)).toEqual({ jobId, index });
  });

  test.prop([entityIdArb, indexArb, fc.integer({ min: 1, max: 1000 })])(
    'workerId is <jobId>:<index>:<attempt> and matches its schema',
    (jobId, index, attempt) => {
      const id = workerId(jobId, index, attempt);
      expect(id).toBe(`${jobId}:${index}:${attempt}`);
      expect(WorkerIdSchema.safeParse(id).success).toBe(true);
      expect(ChunkIdSchema.safeParse(id).success).toBe(false);
    },
  );
});

describe('EntityIdSchema', () => {
  it.each(['J1', 'a', 'job_2024-01', 'x'.repeat(128)])('accepts %j', (id) => {
    expect(EntityIdSchema.safeParse(id).success).toBe(true);
  });

  it.each(['', 'a.b', 'a*', 'a>', 'a b', 'a\tb', 'a\nb', 'J1:3', 'é', 'a/b', 'x'.repeat(129)])(
    'rejects %j',
    (id) => {
      expect(EntityIdSchema.safeParse(id).success).toBe(false);
    },
  );

  test.prop([
    entityIdArb,
    fc.nat(),
    fc.constantFrom('.', '*', '>', ' ', '\t', '\n', ':', '\u00a0', '🙂', '\0'),
  ])('rejects any id with a character that is not a subject-token character', (id, at, bad) => {
    const short = id.slice(0, 100);
    const pos = at % (short.length + 1);
    const withBad = `${short.slice(0, pos)}${bad}${short.slice(pos)}`;
    expect(EntityIdSchema.safeParse(withBad).success).toBe(false);
  });

  test.prop([entityIdArb])('every generated id is valid and is one subject token', (id) => {
    expect(EntityIdSchema.safeParse(id).success).toBe(true);
    expect(parseEventSubject(eventSubject('job', id))?.id).toBe(id);
  });
});

describe('session byte subjects', () => {
  const userArb = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' });

  test.prop([userArb, entityIdArb, entityIdArb])(
    'name the user (one token, never a wildcard) and the node; the node reads back',
    (user, node, id) => {
      for (const subject of [sessionOutSubject(user, node, id), sessionInSubject(user, node, id)]) {
        const tokens = subject.split('.');
        expect(tokens).toHaveLength(6);
        expect(tokens[2]).toBe(sessionUserToken(user));
        expect(tokens[2]).toMatch(/^[A-Za-z0-9_%-]+$/);
        expect(nodeOfSessionSubject(subject)).toBe(node);
      }
    },
  );

  test.prop([userArb, userArb])('distinct users never share a token', (a, b) => {
    fc.pre(a !== b);
    expect(sessionUserToken(a)).not.toBe(sessionUserToken(b));
  });

  it('keeps role user names as they are, so nats.roles.conf can spell them', () => {
    expect(sessionOutSubject('alice', 'node-1', 's1')).toBe('drover.session.alice.node-1.s1.out');
    expect(sessionInSubject('node_2-x', 'n', 's1')).toBe('drover.session.node_2-x.n.s1.in');
    expect(sessionOutWildcard('alice', 's1')).toBe('drover.session.alice.*.s1.out');
    expect(sessionUserToken('john.doe')).toBe('john%2Edoe');
    expect(sessionUserToken('*')).toBe('%2A');
    expect(nodeOfSessionSubject('drover.ev.session.s1')).toBeUndefined();
  });
});
