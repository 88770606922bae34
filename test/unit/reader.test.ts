import { describe, expect, it } from 'vitest';
import { parseAckReply } from '../../src/events/reader.jetstream.js';
import { entityOfSubject, eventSubject, ENTITIES } from '../../src/events/index.js';

describe('parseAckReply', () => {
  it('reads sequence, time and consumer sequence from the 9-token reply subject', () => {
    expect(parseAckReply('$JS.ACK.DROVER_EVENTS.c1.1.4242.17.1700000000123456789.99')).toEqual({
      seq: 4242,
      time: 1700000000123,
      delivery: 17,
    });
  });
  it('reads them from the 12-token form with domain, account hash and a trailing token', () => {
    expect(
      parseAckReply('$JS.ACK._.ACCHASH.DROVER_EVENTS.c1.1.7.5.1700000000999000000.0.rnd'),
    ).toEqual({
      seq: 7,
      time: 1700000000999,
      delivery: 5,
    });
  });
});

describe('entityOfSubject', () => {
  it('names the entity of every event subject', () => {
    for (const e of ENTITIES) expect(entityOfSubject(eventSubject(e, 'x1'))).toBe(e);
  });
});
