// Fair share: the scheduler's own ranking (dominant share, weight, decayed history, running and
// pending) and each user's dominant share over time.
import { api, esc } from './app.js';
import { lineChart } from './charts.js';

let lastFetch = 0;

function aheadLabel(a) {
  if (a.term === 'order') return `${esc(a.user)} (tie: earlier or moved to front)`;
  const what = a.term === 'history' ? 'decayed history' : 'running + next task';
  return `${esc(a.user)} (their ${what}, ${esc(a.resource)})`;
}

function rowsHtml(rows) {
  const fmt = (v) => (typeof v === 'number' ? +v.toFixed(4) : esc(JSON.stringify(v)));
  return rows
    .map(
      (
        r,
      ) => `<tr data-user="${esc(r.user)}"><td>${r.rank}</td><td>${esc(r.user)}</td><td>${fmt(r.weight)}</td>
      <td class="next-dru">${r.nextDru == null ? '-' : fmt(r.nextDru)}</td>
      <td class="dru">${fmt(r.dru)}</td><td>${esc(r.dominant)}</td>
      <td>${Math.round(r.history.cpus)} alloc cpu-s, ${Math.round(r.history.memMb)} alloc MB-s, ${Math.round(r.history.gpus)} alloc gpu-s</td>
      <td>${r.running}</td><td>${r.pending}</td>
      <td>${r.nextDru == null ? 'nothing waiting' : r.ahead.map(aheadLabel).join(', ')}</td></tr>`,
    )
    .join('');
}

function chartData(history) {
  const users = Object.keys(history).sort();
  const times = [...new Set(users.flatMap((u) => history[u].map((s) => s.t)))].sort(
    (a, b) => a - b,
  );
  const ys = users.map((u) => {
    const at = new Map(history[u].map((s) => [s.t, s.dru]));
    return times.map((t) => at.get(t) ?? null);
  });
  return { keys: users, data: [times.map((t) => t / 1000), ...ys] };
}

/** Render the fair-share page; ticks refetch it at most every 2 s. */
export async function renderFairshare(root, { fresh, full }) {
  if (fresh || !root.querySelector('#fairshare')) {
    root.innerHTML = `<section><h2>Fair share</h2><table id="fairshare"><thead><tr><th>rank</th>
      <th>user</th><th>weight</th><th title="what ranks: the dominant share of the user's next waiting task">next dru</th>
      <th>share now</th><th>dominant</th><th>decayed history</th><th>running</th>
      <th>pending</th><th>ahead of them (why)</th></tr></thead><tbody></tbody></table>
      <p class="note">Rank follows "next dru": the dominant share of each user's next waiting task
      (what it runs + that task + decayed history, over weight x capacity); ties by earlier submission.
      Users with nothing waiting come last. History is allocated resource-seconds, not CPU time used.</p></section>
      <section><h2>Dominant share over time</h2><div id="fs-chart"></div></section>`;
  } else if (!full && Date.now() - lastFetch < 2000) return;
  lastFetch = Date.now();
  const view = await api('/api/fairshare');
  root.querySelector('#fairshare tbody').innerHTML = rowsHtml(view.rows);
  root.querySelector('#fairshare').dataset.seq = String(view.seq);
  lineChart(root.querySelector('#fs-chart'), chartData(view.history), { height: 220 });
}
