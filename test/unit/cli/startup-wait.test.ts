import { JetStreamApiError } from '@nats-io/jetstream';
import {
  AuthorizationError,
  ConnectionError,
  PermissionViolationError,
  TimeoutError,
} from '@nats-io/transport-node';
import pino from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { natsServers } from '../../../src/cli/connection.js';
import {
  startupDelayMs,
  startupPatienceMs,
  startupWait,
  worthWaiting,
} from '../../../src/cli/startup-wait.js';
import { ErrorCodes, SchedulerError } from '../../../src/events/index.js';

const jsError = (err_code: number, code: number) =>
  new JetStreamApiError({ err_code, code, description: `js ${err_code}` });

/** A logger whose lines are kept, and a clock that sleeping moves. */
function harness(patienceMs?: number) {
  const lines: { level: number; msg: string; waitingFor?: string }[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
      done();
    },
  });
  let t = 0;
  const sleeps: number[] = [];
  const wait = startupWait({
    logger: pino({ level: 'debug' }, dest),
    ...(patienceMs !== undefined && { patienceMs }),
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
  });
  return { wait, lines, sleeps };
}

/** An attempt that fails with `errors` in turn, then answers 'up'. */
function failing(errors: unknown[]) {
  let i = 0;
  return async () => {
    if (i < errors.length) throw errors[i++];
    return 'up';
  };
}

describe('start-up waits', () => {
  it('waits for what clears by itself, not for refusals or bad configuration', () => {
    expect(worthWaiting(new ConnectionError('connection refused'))).toBe(true);
    expect(worthWaiting(new TimeoutError())).toBe(true);
    expect(worthWaiting(jsError(10008, 503))).toBe(true);
    expect(worthWaiting(jsError(10023, 503))).toBe(true);
    expect(worthWaiting(new Error('jetstream is not enabled', { cause: new TimeoutError() }))).toBe(
      true,
    );
    expect(worthWaiting(new AuthorizationError('Authorization Violation'))).toBe(false);
    expect(
      worthWaiting(new PermissionViolationError('Permissions Violation', 'publish', 'x')),
    ).toBe(false);
    expect(worthWaiting(new SchedulerError(ErrorCodes.BadInput, 'DROVER_REPLICAS=x'))).toBe(false);
    expect(worthWaiting(jsError(10058, 400))).toBe(false); // stream name in use, other config
    expect(
      worthWaiting(new Error('jetstream is not enabled', { cause: jsError(10039, 503) })),
    ).toBe(false);
    expect(worthWaiting(Object.assign(new Error('ENOENT'), { code: 'ENOENT' }))).toBe(false);
  });

  it('backs off from 250 ms, doubling, to at most 5 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map(startupDelayMs)).toEqual([
      250, 500, 1000, 2000, 4000, 5000, 5000, 5000,
    ]);
  });

  it('logs once per thing it waits for, not once per try, and once when it is over', async () => {
    const { wait, lines, sleeps } = harness();
    const refused = new ConnectionError('connection refused');
    expect(await wait.retry('nats-server', failing(Array(8).fill(refused)))).toBe('up');
    expect(await wait.retry('JetStream', failing(Array(3).fill(new TimeoutError())))).toBe('up');
    // A second phase of the same thing (a service's own start after the streams) adds no line.
    expect(await wait.retry('JetStream', failing([new TimeoutError()]))).toBe('up');
    wait.done();
    expect(lines.map((l) => [l.msg, l.waitingFor])).toEqual([
      ['waiting for nats-server', 'nats-server'],
      ['waiting for JetStream', 'JetStream'],
      ['start-up wait over', undefined],
    ]);
    expect(sleeps).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000, 250, 500, 1000, 250]);
  });

  it('throws a refusal at once, untouched, without waiting or logging', async () => {
    const { wait, lines, sleeps } = harness();
    const denied = new AuthorizationError('Authorization Violation');
    await expect(wait.retry('nats-server', failing([denied]))).rejects.toBe(denied);
    expect(sleeps).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('waits for our own UNAVAILABLE and TIMEOUT, unless they wrap a refusal', () => {
    const wrapped = (cause: unknown) =>
      new SchedulerError(ErrorCodes.Unavailable, 'agent start', { cause });
    expect(worthWaiting(wrapped(new TimeoutError()))).toBe(true);
    expect(worthWaiting(wrapped(new AuthorizationError('Authorization Violation')))).toBe(false);
    expect(
      worthWaiting(new SchedulerError(ErrorCodes.Unavailable, 'no JetStream response: 503')),
    ).toBe(true);
    expect(worthWaiting(new SchedulerError(ErrorCodes.Forbidden, 'Permissions Violation'))).toBe(
      false,
    );
  });

  it('a give-up inside a phase is not waited on again by the phase around it', async () => {
    const { wait } = harness(1_000);
    const inner = () => wait.retry('nats-server', failing(Array(100).fill(new TimeoutError())));
    const err = await wait.retry('JetStream', inner).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^gave up waiting for nats-server/);
  });

  it('gives up as UNAVAILABLE once the patience is spent', async () => {
    const { wait, sleeps } = harness(2_000);
    const err = await wait
      .retry('nats-server', failing(Array(100).fill(new ConnectionError('refused'))))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchedulerError);
    expect((err as SchedulerError).code).toBe(ErrorCodes.Unavailable);
    expect((err as Error).message).toMatch(/gave up waiting for nats-server/);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2_000);
  });

  it('reads DROVER_STARTUP_PATIENCE_MS, unset meaning no bound', () => {
    expect(startupPatienceMs({})).toBeUndefined();
    expect(startupPatienceMs({ DROVER_STARTUP_PATIENCE_MS: '30000' })).toBe(30_000);
    expect(() => startupPatienceMs({ DROVER_STARTUP_PATIENCE_MS: 'soon' })).toThrow(SchedulerError);
  });

  it("splits a cluster's DROVER_NATS_URL into its servers", () => {
    expect(natsServers('nats://a:4222, nats://b:4222,,nats://c:4222')).toEqual([
      'nats://a:4222',
      'nats://b:4222',
      'nats://c:4222',
    ]);
    expect(natsServers('nats://127.0.0.1:4222')).toEqual(['nats://127.0.0.1:4222']);
  });
});
