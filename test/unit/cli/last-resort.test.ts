import pino from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { lastResort } from '../../../src/cli/last-resort.js';

/** A logger whose JSON lines are kept (synchronously written, so read right after the call). */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { logger: pino({ name: 'agent' }, sink), lines };
}

describe('the last-resort policy of a service', () => {
  it('logs an unhandled rejection with its stack and the service, and does not exit', async () => {
    const { logger, lines } = capture();
    const exits: number[] = [];
    lastResort(logger, (c) => exits.push(c)).rejection(new Error('no JetStream response: 503'));
    await new Promise((r) => setImmediate(r));
    expect(exits).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, service: 'agent', msg: 'unhandled rejection' });
    const err = lines[0]!.err as { message: string; stack: string };
    expect(err.message).toBe('no JetStream response: 503');
    expect(err.stack).toContain('last-resort.test.ts');
  });

  it('turns a rejection that is not an error into one (a stack to follow)', async () => {
    const { logger, lines } = capture();
    lastResort(logger, () => undefined).rejection('just a string');
    await new Promise((r) => setImmediate(r));
    expect((lines[0]!.err as { message: string }).message).toBe(
      'non-error rejection: just a string',
    );
  });

  it('logs an uncaught exception as fatal and exits 1 (its supervisor restarts it)', async () => {
    const { logger, lines } = capture();
    const exits: number[] = [];
    lastResort(logger, (c) => exits.push(c)).exception(new TypeError('half-done state'));
    await new Promise((r) => setImmediate(r));
    expect(exits).toEqual([1]);
    expect(lines[0]).toMatchObject({ level: 60, service: 'agent', msg: 'uncaught exception' });
  });
});
