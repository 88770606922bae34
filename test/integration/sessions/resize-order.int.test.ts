import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { createApiClient } from '../../../src/api/index.js';
import { SessionClient } from '../../../src/cli/session-attach.js';
import {
  FrameKinds,
  controlFrame,
  decodeFrame,
  sessionInSubject,
  sessionOutSubject,
} from '../../../src/events/index.js';
import { connectTo } from '../../support/nats-client.js';
import { startNatsServer, type NatsServer } from '../../support/nats-server.js';

/** A promise and its resolve, to hold the "resize call" open as long as the test wants. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * What is typed after a window change is read at the new size: the client holds keystrokes
 * while its resize call is on its way, and the API puts the new size on the session's input
 * subject before it answers. Here the "API" is a second connection that publishes the resize
 * frame, flushes, then answers: the agent's side (a subscriber of the input subject) must see
 * the keystroke typed during the call after the resize, never before it. Without the hold the
 * keystroke goes out at once and arrives first (the `drover run -it` test's `stty size` race).
 */
describe('a resize and the keystrokes typed during it', () => {
  let server: NatsServer;
  let cliConn: NatsConnection;
  let apiConn: NatsConnection;

  beforeAll(async () => {
    server = await startNatsServer();
    cliConn = await connectTo(server);
    apiConn = await connectTo(server);
  }, 60_000);
  afterAll(async () => {
    await cliConn?.close();
    await apiConn?.close();
    await server?.stop();
  });

  /**
   * A client of session `id` whose agent side (a subscriber of its input subject) records what
   * arrives, `stdin:<bytes>` or `resize:<cols>`; the agent has said Ready, so stdin flows.
   */
  async function attached(id: string) {
    const seen: string[] = [];
    const agentSide = apiConn.subscribe(sessionInSubject('ann', 'node-1', id), {
      callback: (_err, msg) => {
        const f = decodeFrame(msg.data);
        if (f?.kind === FrameKinds.Stdin) seen.push(`stdin:${new TextDecoder().decode(f.bytes)}`);
        else if (f?.kind === FrameKinds.Resize) seen.push(`resize:${String(f.body.cols)}`);
      },
    });
    await apiConn.flush();
    const stdin = new PassThrough();
    const api = createApiClient(cliConn, { timeoutMs: 200 });
    const io = { stdin, stdout: new PassThrough(), stderr: new PassThrough() };
    const client = new SessionClient(cliConn, api, id, 'ann', io);
    await cliConn.flush(); // the client's subscription is at the server before the agent speaks
    apiConn.publish(
      sessionOutSubject('ann', 'node-1', id),
      controlFrame(FrameKinds.Ready, { node: 'node-1' }),
    );
    const close = () => {
      client.close();
      agentSide.unsubscribe();
    };
    return { seen, stdin, client, close };
  }

  it('reach the agent in the order resize, then keystrokes', async () => {
    const id = 'sresizeorder1';
    const { seen, stdin, client, close } = await attached(id);
    try {
      stdin.write('a');
      await until(() => seen.includes('stdin:a'));

      const call = deferred();
      const holding = client.holdInputWhile(call.promise);
      stdin.write('b'); // typed while the resize call is on its way
      await new Promise((r) => setImmediate(r));
      await cliConn.flush();

      // The API: the frame on the input subject first, then its answer.
      apiConn.publish(
        sessionInSubject('ann', 'node-1', id),
        controlFrame(FrameKinds.Resize, { cols: 120, rows: 40 }),
      );
      await apiConn.flush();
      call.resolve();
      await holding;
      await until(() => seen.includes('stdin:b'));
      expect(seen).toEqual(['stdin:a', 'resize:120', 'stdin:b']);
    } finally {
      close();
    }
  }, 60_000);

  it('a call that never answers lets the keystrokes go after the bound', async () => {
    const { seen, stdin, client, close } = await attached('sresizeorder2');
    try {
      stdin.write('w');
      await until(() => seen.includes('stdin:w'));
      const holding = client.holdInputWhile(new Promise(() => undefined), 300);
      stdin.write('x');
      await holding;
      await until(() => seen.includes('stdin:x'));
      expect(seen).toEqual(['stdin:w', 'stdin:x']);
    } finally {
      close();
    }
  }, 60_000);
});

async function until(f: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`not after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
