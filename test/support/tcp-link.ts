import { connect, createServer, type Socket } from 'node:net';

/**
 * A real TCP hop between clients and one nats-server, that a test can make lose what the server
 * sends and then cut: what a client meets when the server it is connected to dies while another
 * one (the stream leader, where its consumer lives) goes on delivering to it. The bytes written
 * meanwhile are gone; the client reconnects through the link, the consumer never noticed.
 */
export interface TcpLink {
  readonly url: string;
  /** While on, what the server writes to its clients is dropped (it believes it delivered). */
  swallow(on: boolean): void;
  /** Close every connection through the link (the clients reconnect through it). */
  cut(): void;
  close(): Promise<void>;
}

/** Listen on a free local port and relay each connection to `targetPort`. */
export async function startTcpLink(targetPort: number): Promise<TcpLink> {
  const pairs = new Set<[Socket, Socket]>();
  let swallowing = false;
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (!swallowing) client.write(d);
    });
    for (const s of pair) {
      s.on('error', end);
      s.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const cut = () => {
    for (const [a, b] of [...pairs]) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    swallow: (on) => void (swallowing = on),
    cut,
    close: async () => {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
