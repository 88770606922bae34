import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Command } from 'commander';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { ensureEventStream } from '../events/index.js';
import { reachable, startLocalNats } from './nats-process.js';

const natsUrl = process.env.DROVER_NATS_URL ?? 'nats://127.0.0.1:4222';
const dataDir = process.env.DROVER_DATA_DIR ?? './.drover';

function fail(code: string, message: string, exitCode: number, json: boolean): never {
  if (json) console.log(JSON.stringify({ error: { code, message } }));
  else console.error(`error: ${code}: ${message}`);
  process.exit(exitCode);
}

const program = new Command('drover').description('Event-sourced scheduler for compute farms');

program
  .command('up')
  .description(
    'run a local farm: nats-server with nats.conf (or the JetStream at DROVER_NATS_URL) and the event log',
  )
  .option('--json', 'print one JSON document')
  .action(async (opts: { json?: boolean }) => {
    let server: ChildProcess | undefined;
    try {
      if (!(await reachable(natsUrl))) {
        server = await startLocalNats(
          fileURLToPath(new URL('../../nats.conf', import.meta.url)),
          dataDir,
          natsUrl,
        );
      }
      const nc = await connect({ servers: natsUrl, noAsyncTraces: true });
      await ensureEventStream(await jetstreamManager(nc));
      const status = { nats: natsUrl, startedNats: server !== undefined, stream: 'DROVER_EVENTS' };
      if (opts.json) console.log(JSON.stringify(status));
      else
        console.log(
          `drover: event log ready on ${natsUrl} (${server ? 'started nats-server' : 'reused'}); Ctrl-C stops`,
        );
      const stop = async () => {
        await nc.close();
        if (server && server.exitCode === null) {
          const exited = once(server, 'exit');
          server.kill('SIGTERM');
          await exited; // the store is flushed and the port free before we say we stopped
        }
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    } catch (err) {
      server?.kill('SIGTERM');
      fail('UNAVAILABLE', (err as Error).message, 5, opts.json === true);
    }
  });

await program.parseAsync(process.argv);
