// Nodes' memory and swap: each node's last reading (from its agent's heartbeat) and, over the
// recent window, memory in use and pages swapped per second, for the busiest nodes.
import { api, badge, esc, when } from './app.js';
import { lineChart } from './charts.js';

const CHARTED = 8;
const GIB = 1024 ** 3;
let lastFetch = 0;

const gib = (b) => (b === undefined ? '–' : `${(b / GIB).toFixed(2)} GiB`);
const rate = (r) => (r === undefined ? '–' : `${+r.toFixed(1)}/s`);
const pct = (used, total) => (total > 0 ? Math.min(100, Math.round((100 * used) / total)) : 0);

function memCell(r) {
  const total = r.reading?.memTotalBytes;
  if (total === undefined || r.memUsedBytes === undefined)
    return '<span class="muted">no reading</span>';
  const p = pct(r.memUsedBytes, total);
  return `<span class="bar ${p > 85 ? 'hot' : ''}"><span style="width:${p}%"></span></span>
    <span class="mem-text">${gib(r.memUsedBytes)} / ${gib(total)}</span>`;
}

function rowsHtml(rows) {
  if (!rows.length) return '<tr><td colspan="7" class="muted">no nodes</td></tr>';
  return rows
    .map((r) => {
      const x = r.reading;
      const attrs = x
        ? `data-mem-total="${x.memTotalBytes ?? ''}" data-mem-used="${r.memUsedBytes ?? ''}"
          data-swap-used="${x.swapUsedBytes ?? ''}" data-swap-in="${x.swapInPerSecond}"
          data-swap-out="${x.swapOutPerSecond}" data-at="${x.at}"`
        : '';
      return `<tr data-node="${esc(r.node)}" ${attrs}><td>${esc(r.node)}</td><td>${badge(r.state)}</td>
        <td>${memCell(r)}</td><td class="swap-used">${gib(x?.swapUsedBytes)}</td>
        <td class="swap-in">${rate(x?.swapInPerSecond)}</td><td class="swap-out">${rate(x?.swapOutPerSecond)}</td>
        <td>${when(x?.at)}</td></tr>`;
    })
    .join('');
}

/** The nodes worth a line: the most swapping over the window, then the fullest memory. */
function charted(rows) {
  const swapped = (r) => r.history.reduce((s, h) => s + h.swapInPerSecond + h.swapOutPerSecond, 0);
  const used = (r) =>
    r.reading?.memTotalBytes ? (r.memUsedBytes ?? 0) / r.reading.memTotalBytes : 0;
  return rows
    .filter((r) => r.history.length > 0)
    .sort((a, b) => swapped(b) - swapped(a) || used(b) - used(a))
    .slice(0, CHARTED)
    .sort((a, b) => (a.node < b.node ? -1 : 1));
}

/** uPlot data over the union of reading times: one series per node of `value(reading)`. */
function chartData(rows, value) {
  const times = [...new Set(rows.flatMap((r) => r.history.map((h) => h.at)))].sort((a, b) => a - b);
  const ys = rows.map((r) => {
    const at = new Map(r.history.map((h) => [h.at, value(h)]));
    return times.map((t) => at.get(t) ?? null);
  });
  return { keys: rows.map((r) => r.node), data: [times.map((t) => t / 1000), ...ys] };
}

const usedPct = (h) =>
  h.memTotalBytes ? (100 * (h.memTotalBytes - (h.memAvailableBytes ?? 0))) / h.memTotalBytes : null;
const swapPages = (h) => h.swapInPerSecond + h.swapOutPerSecond;

/** Render the nodes' memory page; ticks refetch it at most every 2 s. */
export async function renderMemory(root, { fresh, full }) {
  if (fresh || !root.querySelector('#memory')) {
    root.innerHTML = `<section><h2>Memory and swap per node</h2><table id="memory"><thead><tr>
      <th>node</th><th>state</th><th>memory used / total</th><th>swap used</th>
      <th title="pages swapped in per second">swap in</th><th title="pages swapped out per second">swap out</th>
      <th>reading</th></tr></thead><tbody></tbody></table>
      <p class="note">Read by each node's agent from /proc/meminfo and /proc/vmstat (swap: pages per
      second between two readings) and carried by its heartbeat. Also on <a href="/metrics">/metrics</a>.</p></section>
      <div class="grid2"><section><h2>Memory used (%)</h2><div id="mem-chart"></div></section>
      <section><h2>Pages swapped in + out per second</h2><div id="swap-chart"></div></section></div>`;
  } else if (!full && Date.now() - lastFetch < 2000) return;
  lastFetch = Date.now();
  const view = await api('/api/memory');
  root.querySelector('#memory tbody').innerHTML = rowsHtml(view.rows);
  root.querySelector('#memory').dataset.seq = String(view.seq);
  const shown = charted(view.rows);
  lineChart(root.querySelector('#mem-chart'), chartData(shown, usedPct));
  lineChart(root.querySelector('#swap-chart'), chartData(shown, swapPages));
}
