// Reservations: each window on a timeline of the coming week (daily and weekly ones repeat),
// and the table `drover reservation list` shows.
import { api, badge, esc } from './app.js';

const DAY = 86_400_000;
const SPAN = 7 * DAY;
let lastFetch = 0;

/** The occurrences of a row's window that fall in [from, from + SPAN). */
function occurrences(r, from) {
  const start = Date.parse(r.next?.start ?? r.start);
  const end = Date.parse(r.next?.end ?? r.end);
  const period = r.flags.includes('daily') ? DAY : r.flags.includes('weekly') ? 7 * DAY : 0;
  const out = [];
  for (let k = 0; k < 8 && start + k * period < from + SPAN; k++) {
    out.push([start + k * period, end + k * period]);
    if (!period) break;
  }
  return out.filter(([, e]) => e > from);
}

function bars(r, from) {
  const pct = (t) => (Math.min(Math.max(t - from, 0), SPAN) / SPAN) * 100;
  return occurrences(r, from)
    .map(([s, e]) => {
      const left = pct(s);
      const width = Math.max(pct(e) - left, 0.4);
      const title = `${new Date(s).toISOString()} – ${new Date(e).toISOString()}`;
      return `<span class="res-bar" title="${esc(title)}" style="position:absolute;left:${left}%;width:${width}%;top:2px;bottom:2px;background:${r.flags.includes('maint') ? '#c0392b' : '#2e86de'};border-radius:3px"></span>`;
    })
    .join('');
}

function timelineHtml(rows, from) {
  const days = Array.from({ length: 7 }, (_, i) =>
    new Date(from + i * DAY).toISOString().slice(5, 10),
  );
  const scale = days.map((d) => `<span style="flex:1">${d}</span>`).join('');
  const lines = rows
    .map(
      (
        r,
      ) => `<div class="res-line" data-name="${esc(r.name)}" style="display:flex;align-items:center;gap:8px">
      <span style="width:10em">${esc(r.name)}</span>
      <span style="position:relative;flex:1;height:18px;background:#eee">${bars(r, from)}</span></div>`,
    )
    .join('');
  return `<div style="display:flex;margin-left:calc(10em + 8px);font-size:small">${scale}</div>${lines}`;
}

function rowsHtml(rows) {
  return rows
    .map(
      (r) => `<tr data-name="${esc(r.name)}"><td>${esc(r.name)}</td><td>${badge(r.state)}</td>
      <td>${esc(r.next?.start ?? r.start)}</td><td>${esc(r.next?.end ?? r.end)}</td>
      <td>${esc(r.nodes.join(', ') || '-')}</td><td>${esc(r.users.join(', '))}</td>
      <td>${esc(r.flags.join(', ') || '-')}</td></tr>`,
    )
    .join('');
}

/** Render the reservations page; ticks refetch it at most every 2 s. */
export async function renderReservations(root, { fresh, full }) {
  if (fresh || !root.querySelector('#reservations')) {
    root.innerHTML = `<section><h2>Reservations: the coming week</h2><div id="res-timeline"></div>
      <p class="note">Before a window opens, others' jobs that could still run in it (by their time
      limit; none: forever) do not start on its nodes. Red: maintenance.</p></section>
      <section><h2>Reservations</h2><table id="reservations"><thead><tr><th>name</th><th>state</th>
      <th>start</th><th>end</th><th>nodes</th><th>users</th><th>flags</th></tr></thead>
      <tbody></tbody></table></section>`;
  } else if (!full && Date.now() - lastFetch < 2000) return;
  lastFetch = Date.now();
  const view = await api('/api/reservations');
  root.querySelector('#res-timeline').innerHTML = view.rows.length
    ? timelineHtml(view.rows, view.now)
    : '<p>no reservations</p>';
  root.querySelector('#reservations tbody').innerHTML = rowsHtml(view.rows);
  root.querySelector('#reservations').dataset.seq = String(view.seq);
}
