import type { Command } from 'commander';
import pg from 'pg';
import { createJetStreamEventLog, ErrorCodes, SchedulerError } from '../events/index.js';
import { createPgSinkStore, startSqlSink } from '../sql-sink/index.js';
import { failWith } from './api-cli.js';
import { rootLogger, startOnFarm } from './connection.js';
import { onInterrupt } from './services.js';

/** Events per transaction: `DROVER_SQL_SINK_BATCH` (README "Tuning"), default 2,000. */
function batchSize(): number {
  const v = process.env.DROVER_SQL_SINK_BATCH;
  if (v === undefined || v === '') return 2000;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new SchedulerError(ErrorCodes.BadInput, `DROVER_SQL_SINK_BATCH=${v}: expected a count`);
  return n;
}

/**
 * Register `drover sql-sink --pg URL`: keep the PostgreSQL tables up to date from the log until
 * stopped. One sink per database (a second one is refused at its first batch).
 */
export function registerSqlSinkCommand(program: Command): void {
  program
    .command('sql-sink')
    .description(
      'keep PostgreSQL tables jobs, attempts, usage_samples, events up to date from the log',
    )
    .requiredOption('--pg <url>', 'PostgreSQL connection URL (postgresql://user@host:port/db)')
    .option('--json', 'print one JSON document once resumed')
    .action(async (opts: { pg: string; json?: boolean }) => {
      const json = opts.json === true;
      try {
        const maxBatch = batchSize();
        const logger = rootLogger('sql-sink');
        const client = new pg.Client({ connectionString: opts.pg });
        await client.connect().catch((err: unknown) => {
          throw new SchedulerError(
            ErrorCodes.Unavailable,
            `PostgreSQL: ${(err as Error).message}`,
            {
              cause: err,
            },
          );
        });
        const {
          nc,
          service: { eventLog, sink },
        } = await startOnFarm(
          async (nc) => {
            const eventLog = await createJetStreamEventLog(nc);
            const sink = await startSqlSink({
              eventLog,
              store: createPgSinkStore(client),
              logger,
              maxBatch,
            }).catch(async (err: unknown) => {
              await eventLog.close().catch(() => undefined);
              throw err;
            });
            return { eventLog, sink };
          },
          { logger },
        );
        if (json) console.log(JSON.stringify({ position: sink.position() }));
        else console.log(`drover: sql sink from seq ${sink.position() + 1}; Ctrl-C stops`);
        sink.done.catch((err: unknown) => {
          logger.fatal({ err }, 'sql sink failed');
          process.exit(5);
        });
        onInterrupt(async () => {
          await sink.stop();
          await client.end();
          await eventLog.close();
          await nc.close();
        });
      } catch (err) {
        failWith(err, json);
      }
    });
}
