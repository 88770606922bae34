import { performance } from 'node:perf_hooks';
import { applyEvent, applyHeartbeat, emptyReadModel, type ReadModel } from '../src/api/index.js';
import { alertInputsOf, occurrencesOf } from '../src/alerts/index.js';
import { currentVersion, type DroverEvent, type EventType } from '../src/events/index.js';
import { defaultAlertRules, observeAlerts, planAlertRound } from '../src/policy/alerts/index.js';
import { jobSpec as spec } from '../test/support/events.js';

/**
 * `node --import tsx bench/alerts.bench.ts`: the alert evaluator's cost per round on the read
 * model of a farm of 1,000 × BENCH_SCALE nodes (every 4th one swapping, each with a heartbeat
 * reading) and 100,000 × BENCH_SCALE jobs (half started within the hour, half still queued):
 * gathering the inputs (one pass over the jobs for the queue-wait p95), evaluating every rule
 * and planning the round, median of 20 rounds. Excludes the lease read and the appends (a round
 * appends only on a transition). Prints one JSON document.
 */
const scale = Number(process.env.BENCH_SCALE ?? 1);
const NODES = Math.max(1, Math.round(1000 * scale));
const JOBS = Math.max(1, Math.round(100_000 * scale));
const NOW = Date.UTC(2026, 11, 5, 9, 0);

let seq = 0;
function feed(
  model: ReadModel,
  entity: string,
  id: string,
  type: EventType,
  data: unknown,
  at: number,
) {
  seq++;
  const event = {
    type,
    v: currentVersion(type),
    id: `e${seq}`,
    at,
    by: { kind: 'system', id: 'bench' },
    data,
  };
  applyEvent(model, {
    ...(event as DroverEvent),
    recorded: { subject: `drover.ev.${entity}.${id}`, seq },
  });
}

function buildModel(): ReadModel {
  const model = emptyReadModel();
  for (let i = 0; i < NODES; i++) {
    const node = `n${i}`;
    const res = { cpus: 32, memMb: 131_072, gpus: 0, hostname: node, labels: {}, incarnation: 'i' };
    feed(model, 'node', node, 'node.registered', res, NOW - 3_600_000);
    feed(model, 'node', node, 'node.ready', {}, NOW - 3_600_000);
    const swapping = i % 4 === 0 ? 900 : 0;
    applyHeartbeat(model, {
      node,
      incarnation: 'i',
      at: NOW,
      workers: [],
      draining: false,
      reading: { swapInPerSecond: swapping, swapOutPerSecond: swapping, at: NOW },
    });
  }
  for (let j = 0; j < JOBS; j++) {
    const id = `j${j}`;
    const created = NOW - 600_000 - (j % 1000) * 1000;
    feed(model, 'job', id, 'job.submitted', spec({ name: `n${j % 50}` }), created);
    feed(model, 'job', id, 'job.queued', {}, created);
    if (j % 2 === 0) feed(model, 'job', id, 'job.started', {}, created + (j % 300) * 1000);
  }
  return model;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const t0 = performance.now();
const model = buildModel();
const buildMs = performance.now() - t0;
const rules = defaultAlertRules();
const leader = { leading: true, holder: 's', epoch: 1 };
const inputsMs: number[] = [];
const evalMs: number[] = [];
let steps = 0;
for (let r = 0; r < 20; r++) {
  const a = performance.now();
  const inputs = alertInputsOf(model, NOW + r * 5000, rules, leader);
  const b = performance.now();
  const plan = planAlertRound(
    occurrencesOf(model.alerts),
    observeAlerts(inputs, rules),
    new Map(),
    rules,
    inputs.now,
  );
  evalMs.push(performance.now() - b);
  inputsMs.push(b - a);
  steps = plan.steps.length;
}
console.log(
  JSON.stringify({
    bench: 'alerts',
    scale,
    nodes: NODES,
    jobs: JOBS,
    modelBuildMs: Math.round(buildMs),
    roundMs: {
      inputsMedian: Number(median(inputsMs).toFixed(2)),
      rulesAndPlanMedian: Number(median(evalMs).toFixed(2)),
      totalMedian: Number((median(inputsMs) + median(evalMs)).toFixed(2)),
    },
    stepsPerRound: steps,
  }),
);
