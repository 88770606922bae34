import { jetstream } from '@nats-io/jetstream';
import { JetStreamPublisher } from '../src/events/publisher.jetstream.js';
import { INTAKE_SUBJECT } from '../src/events/subjects.js';
import type { BenchServer } from '../test/support/bench-farm.js';
import {
  EVENT_BYTES,
  JOB_END,
  LAUNCH_BYTES,
  payload,
  spawnFloorRole,
  tailEvents,
} from './floor-roles.js';
import { pipelined } from './support.js';

/**
 * The floors of the scheduler benchmark's two throughput goals (see floor-roles.ts): the same
 * messages, deliveries and processes as the farm, by stand-ins without any of Drover's logic,
 * on a fresh stream of the same server. Each returns per second, timed as the Drover part is.
 */

const lastSeq = async (s: BenchServer) => s.log.lastSeq();

/**
 * Tiny jobs: per job an intake message (published as the benchmark does), seven scheduler
 * appends and a launch message, five agent appends and one process (`true`, forked by perl),
 * every event read by the scheduler's tail and the job's by the benchmark's. A scheduler and
 * two agents, each a process; jobs/s from the first submission to the last job's end.
 */
export async function tinyJobsFloor(s: BenchServer, n: number, tag: string): Promise<number> {
  const nodes = [`floor-a-${tag}`, `floor-b-${tag}`];
  const agents = await Promise.all(
    nodes.map((node) => spawnFloorRole({ url: s.server.url, role: 'agent', node, expect: 1e12 })),
  );
  const scheduler = await spawnFloorRole({
    url: s.server.url,
    role: 'scheduler',
    nodes,
    expect: n,
  });
  let ended = 0;
  const tail = await tailEvents(s.nc, (await lastSeq(s)) + 1, 'drover.ev.job.>', (_s, kind) => {
    if (kind === JOB_END) ended++;
  });
  const js = jetstream(s.nc);
  const body = JSON.stringify({ name: 'tiny', user: 'u', command: ['true'], cpus: 0.01 });
  const t0 = Date.now();
  await pipelined(n, 256, (i) => js.publish(INTAKE_SUBJECT, body, { msgID: `floor-${tag}-${i}` }));
  while (ended < n) await new Promise((r) => setTimeout(r, 5));
  const perSec = Math.round(n / ((Date.now() - t0) / 1000));
  await tail.close();
  for (const role of [scheduler, ...agents]) await role.stop();
  return perSec;
}

/**
 * Placements: per placement a `chunk.assigned` append and a launch message from the scheduler
 * (this process, as in the Drover part), three appends by the hollow nodes' process, every
 * event read back by the scheduler's tail; placements/s until the last launch was taken.
 */
export async function placementsFloor(
  s: BenchServer,
  total: number,
  nodes: number,
): Promise<number> {
  const hollow = await spawnFloorRole({ url: s.server.url, role: 'hollow', expect: total });
  // Every event read and decoded, as the scheduler's tail does; nothing else is done with it.
  const tail = await tailEvents(s.nc, (await lastSeq(s)) + 1, 'drover.ev.>', () => undefined);
  const pub = new JetStreamPublisher(s.nc, 60_000, 8_192);
  const assigned = payload(0, EVENT_BYTES + 100);
  const launch = payload(0, LAUNCH_BYTES);
  const t0 = Date.now();
  await pipelined(total, 8_192, async (i) => {
    await pub.publish(`drover.ev.chunk.floor${i % 1000}:${i}`, assigned, `assign:${i}`, 0);
    await pub.publish(`drover.work.hollow-${i % nodes}`, launch, `launch:${i}`);
  });
  const { lastAt } = await hollow.done;
  await tail.close();
  await pub.close();
  await hollow.stop();
  return Math.round(total / ((lastAt - t0) / 1000));
}
