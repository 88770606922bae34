// Overview: alerts, nodes (bars, state, actions), queue by user, running chunks, throughput charts,
// failures by cause. Everything comes from the overview pushed over SSE: no fetch here.
import { state, esc, badge, when, act, confirmDialog } from './app.js';
import { lineChart } from './charts.js';
import { alertsHtml } from './alerts.js';
import { runbooksHtml } from './runbooks.js';
import { sessionsHtml } from './sessions.js';

const pct = (used, cap) => (cap > 0 ? Math.min(100, Math.round((100 * used) / cap)) : 0);
const bar = (used, cap, unit = '') =>
  `<span class="bar ${pct(used, cap) > 85 ? 'hot' : ''}"><span style="width:${pct(used, cap)}%"></span></span> ${esc(+used.toFixed(2))}/${esc(cap)}${unit}`;

function nodeActions(n) {
  const ops = [];
  if (n.state === 'ready') ops.push('drain', 'cordon');
  if (n.state === 'draining' || n.state === 'drained') ops.push('undrain');
  if (n.state === 'cordoned') ops.push('uncordon');
  return ops
    .map((op) => `<button data-node="${esc(n.id)}" data-op="${op}">${op}</button>`)
    .join(' ');
}

function nodesHtml(nodes) {
  const rows = nodes.map(
    (n) => `<tr data-node-row="${esc(n.id)}"><td>${esc(n.id)}</td><td>${badge(n.state)}</td>
      <td>${bar(n.used.cpus, n.cpus)}</td><td>${bar(n.used.memMb, n.memMb, ' MB')}</td>
      <td>${n.gpus ? bar(n.used.gpus, n.gpus) : '–'}</td><td>${n.workers}</td>
      <td>${when(n.lastHeartbeatAt)}</td><td>${nodeActions(n)}</td></tr>`,
  );
  return `<table><tr><th>node</th><th>state</th><th>cpus</th><th>memory</th><th>gpus</th>
    <th>workers</th><th>heartbeat</th><th></th></tr>${rows.join('')}</table>`;
}

function queueHtml(o) {
  const rows = o.queue.map(
    (
      q,
    ) => `<tr data-user="${esc(q.user)}"><td>${esc(q.user)}</td><td>${q.queued}</td><td>${q.held}</td>
      <td>${q.running}</td><td>${q.runningChunks}</td><td>${q.cancelling}</td></tr>`,
  );
  const states = Object.entries(o.jobs.byState)
    .map(([s, n]) => `${badge(s)} ${n}`)
    .join(' ');
  return `<p>${o.jobs.total} jobs: ${states || 'none'}</p><table><tr><th>user</th><th>queued</th>
    <th>held</th><th>running</th><th>chunks running</th><th>cancelling</th></tr>${rows.join('')}</table>`;
}

function runningHtml(o) {
  const rows = o.running.map(
    (
      r,
    ) => `<tr class="link" data-href="#/job/${esc(r.job)}"><td>${esc(r.chunk)}</td><td>${esc(r.name)}</td>
      <td>${esc(r.user)}</td><td>${esc(r.node)}</td><td>${esc(r.worker ?? '')}</td><td>${badge(r.state)}</td>
      <td>${r.progress !== undefined ? Math.round(r.progress * 100) + '%' : ''}</td></tr>`,
  );
  const more =
    o.runningCount > o.running.length
      ? `<p class="muted">${o.runningCount - o.running.length} more</p>`
      : '';
  return `<table><tr><th>chunk</th><th>job</th><th>user</th><th>node</th><th>worker</th><th>state</th>
    <th>progress</th></tr>${rows.join('')}</table>${more}`;
}

function failuresHtml(o) {
  if (!o.failures.length) return '<p class="muted">no failed attempts</p>';
  return o.failures
    .map(
      (g) =>
        `<div data-cause="${esc(g.cause)}"><strong>${esc(g.cause)}</strong> × ${g.count}: ${g.recent
          .map(
            (f) =>
              `<a href="#/job/${esc(f.job)}">${esc(f.worker)}</a> on ${esc(f.node)}${f.exitCode !== undefined ? ` (exit ${f.exitCode})` : ''}`,
          )
          .join(', ')}</div>`,
    )
    .join('');
}

/**
 * Minute series over the minutes the farm's data spans (`from`..`to`, epoch ms, from the
 * server) as uPlot data: [x seconds, ...one array per key]; `cumulative` sums as it goes.
 */
function series(list, { from, to }, cumulative = false) {
  const xs = [];
  for (let m = from; m <= to; m += 60000) xs.push(m / 1000);
  const ys = list.map((s) => {
    const by = new Map(s.buckets.map((b) => [b.minute / 1000, b.count]));
    let sum = 0;
    return xs.map((x) => (cumulative ? (sum += by.get(x) ?? 0) : (by.get(x) ?? 0)));
  });
  return { keys: list.map((s) => s.key), data: [xs, ...ys] };
}

function chart(el, list, range, cumulative) {
  el.dataset.from = String(range.from);
  el.dataset.to = String(range.to);
  lineChart(el, series(list, range, cumulative));
}

/** Render (or update in place) the overview from `state.overview`. */
export async function renderOverview(root, { fresh }) {
  const o = state.overview;
  if (!o) return;
  if (fresh || !root.querySelector('#overview')) {
    root.innerHTML = `<div id="overview">
      <section><h2>Alerts</h2><div id="ov-alerts"></div></section>
      <section><h2>Nodes</h2><div id="ov-nodes"></div></section>
      <div class="grid2"><section><h2>Completed chunks / min per node</h2><div id="ov-tp-node"></div></section>
      <section><h2>Completed chunks per node, running total</h2><div id="ov-tp-total"></div></section></div>
      <div class="grid2"><section><h2>Queue by user</h2><div id="ov-queue"></div></section>
      <section><h2>Recent failures by cause</h2><div id="ov-failures"></div></section></div>
      <section><h2>Running chunks</h2><div id="ov-running"></div></section>
      <section><h2>Runbook runs in progress</h2><div id="ov-runbooks"></div></section>
      <section><h2>Live sessions</h2><div id="ov-sessions"></div></section></div>`;
    root.onclick = onClick;
  }
  root.querySelector('#overview').dataset.seq = String(o.seq);
  root.querySelector('#ov-alerts').innerHTML = alertsHtml(o.alerts);
  root.querySelector('#ov-nodes').innerHTML = nodesHtml(o.nodes);
  root.querySelector('#ov-queue').innerHTML = queueHtml(o);
  root.querySelector('#ov-running').innerHTML = runningHtml(o);
  root.querySelector('#ov-failures').innerHTML = failuresHtml(o);
  chart(root.querySelector('#ov-tp-node'), o.throughput.node, o.throughput, false);
  chart(root.querySelector('#ov-tp-total'), o.throughput.node, o.throughput, true);
  root.querySelector('#ov-runbooks').innerHTML = runbooksHtml(o.runbooks);
  root.querySelector('#ov-sessions').innerHTML = sessionsHtml(o.sessions);
}

function onClick(ev) {
  const btn = ev.target.closest('button[data-op]');
  if (btn) {
    const { node, op } = btn.dataset;
    const what = {
      drain: 'finishes what runs and takes nothing new',
      cordon: 'takes nothing new',
      undrain: 'takes work again',
      uncordon: 'takes work again',
    }[op];
    confirmDialog(`${op} ${node}?`, `<p>Node <b>${esc(node)}</b> ${what}.</p>`, () =>
      act(`/api/nodes/${encodeURIComponent(node)}/${op}`),
    );
    return;
  }
  const row = ev.target.closest('tr[data-href]');
  if (row) location.hash = row.dataset.href;
}
