import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, SchedulerError } from '../events/index.js';
import type { ApiClient, SessionRow } from '../api/index.js';
import { printJson, withApi } from './api-cli.js';
import { env, fail } from './connection.js';
import { newShortId, resourceFields, type ResourceFlags } from './session-flags.js';
import { parseDurationS } from './submit-flags.js';

/** The flags of `drover alloc` as commander gives them. */
interface AllocFlags extends ResourceFlags {
  nodes?: string;
  time?: string;
  wait?: boolean;
  json?: boolean;
}

/** The `session.alloc` body of the flags (syntax here, the rest by the API). */
export function allocBody(id: string, o: AllocFlags): Record<string, unknown> {
  if (o.time === undefined) throw new Error('--time: required, e.g. --time 30m');
  let timeS: number;
  try {
    timeS = parseDurationS(o.time);
  } catch {
    throw new Error(`--time ${o.time}: expected a duration like 90s, 30m or 2h`);
  }
  const body: Record<string, unknown> = { id, user: env.user, timeS, ...resourceFields(o) };
  if (o.nodes !== undefined) {
    const nodes = Number(o.nodes);
    if (!Number.isInteger(nodes) || nodes < 1)
      throw new Error(`--nodes ${o.nodes}: expected a whole number of nodes, 1 or more`);
    body.nodes = nodes;
  }
  return body;
}

/**
 * The allocation once it holds every node it asked for (like `salloc`, which returns only when
 * granted), or once it ended without (released, cancelled): its row either way.
 */
export async function untilHeld(api: ApiClient, id: string): Promise<SessionRow> {
  for (;;) {
    const { session } = await api.call<{ session: SessionRow }>('session.get', { id });
    const wanted = session.nodeCount;
    if (session.state === 'exited' || session.nodes.length >= wanted) return session;
    await sleep(200);
  }
}

/** Register `drover alloc` and `drover alloc release`. */
export function registerAllocCommand(program: Command): void {
  const alloc = program
    .command('alloc')
    .description('hold resources for a while (like salloc); run in them with drover run --alloc')
    .option('--cpus <n>', 'CPUs per node (default 1)')
    .option('--mem <size>', 'memory per node, e.g. 512M (default 512M)')
    .option('--nodes <n>', 'distinct nodes, each with --cpus and --mem (default 1)')
    .option('--time <duration>', 'how long it holds them, e.g. 90s, 30m, 2h (required)')
    .option('--wait', 'return only once every node is held (prints them on stderr)')
    .option('--json', 'print one JSON document: { allocId }')
    .action(async (o: AllocFlags) => {
      const json = o.json === true;
      const id = newShortId('a');
      let body;
      try {
        body = allocBody(id, o);
      } catch (err) {
        fail('BAD_INPUT', (err as Error).message, json);
      }
      await withApi(json, async (api) => {
        await api.call('session.alloc', body);
        if (o.wait) {
          const row = await untilHeld(api, id);
          if (row.state === 'exited')
            throw new SchedulerError(
              ErrorCodes.Refused,
              `allocation ${id} ended before it held its nodes`,
            );
          process.stderr.write(`${id}: holding ${row.nodes.join(', ')} until ${row.until}\n`);
        }
        if (json) printJson({ allocId: id });
        else console.log(id);
      });
    });
  alloc
    .command('release')
    .description('release an allocation now: every run inside it is stopped')
    .argument('<id>', 'the allocation')
    .option('--json', 'print one JSON document')
    .action(async (id: string, o: { json?: boolean }) => {
      const json = o.json === true;
      await withApi(json, async (api) => {
        await api.call('session.stop', { id, reason: `released by ${env.user}` });
        if (json) printJson({ allocId: id, state: 'stopping' });
        else console.log(`${id}: released`);
      });
    });
}
