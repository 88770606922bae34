// Jobs: a filterable list, paginated on the server (50 rows a page, newest first), refetched
// only when a tick says jobs changed (or on a resync).
import { api, esc, badge, when } from './app.js';

const PAGE = 50;
const filters = { user: '', state: '', name: '', offset: 0 };

function rowsHtml(rows) {
  return rows
    .map(
      (j) => `<tr class="link" data-job="${esc(j.id)}"><td>${esc(j.id)}</td><td>${esc(j.name)}</td>
      <td>${esc(j.user)}</td><td>${esc(j.pool)}</td><td class="job-state">${badge(j.state)}</td>
      <td>${j.chunks.done}/${j.chunks.total}</td><td>${when(j.createdAt)}</td></tr>`,
    )
    .join('');
}

function skeleton(root) {
  const states = [
    '',
    'queued',
    'held',
    'running',
    'succeeded',
    'failed',
    'cancelling',
    'cancelled',
  ];
  root.innerHTML = `<section><h2>Jobs</h2>
    <form class="filters" id="job-filters">
      <input name="user" placeholder="user" value="${esc(filters.user)}" />
      <select name="state">${states.map((s) => `<option value="${s}" ${s === filters.state ? 'selected' : ''}>${s || 'any state'}</option>`).join('')}</select>
      <input name="name" placeholder="name contains" value="${esc(filters.name)}" />
      <button>Filter</button>
    </form>
    <p id="jobs-count" class="muted"></p>
    <table id="jobs"><thead><tr><th>id</th><th>name</th><th>user</th><th>pool</th><th>state</th>
      <th>chunks</th><th>created</th></tr></thead><tbody></tbody></table>
    <p><button id="jobs-prev">newer</button> <button id="jobs-next">older</button></p></section>`;
  const form = root.querySelector('#job-filters');
  form.onsubmit = (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    Object.assign(filters, {
      user: f.get('user'),
      state: f.get('state'),
      name: f.get('name'),
      offset: 0,
    });
    void load(root);
  };
  root.querySelector('#jobs-prev').onclick = () => {
    filters.offset = Math.max(0, filters.offset - PAGE);
    void load(root);
  };
  root.querySelector('#jobs-next').onclick = () => {
    filters.offset += PAGE;
    void load(root);
  };
  root.onclick = (ev) => {
    const row = ev.target.closest('tr[data-job]');
    if (row) location.hash = `#/job/${encodeURIComponent(row.dataset.job)}`;
  };
}

async function load(root) {
  const q = new URLSearchParams({ offset: String(filters.offset), limit: String(PAGE) });
  for (const k of ['user', 'state', 'name']) if (filters[k]) q.set(k, filters[k]);
  const page = await api(`/api/jobs?${q}`);
  const tbody = root.querySelector('#jobs tbody');
  if (!tbody) return;
  tbody.innerHTML = rowsHtml(page.rows);
  root.querySelector('#jobs').dataset.seq = String(page.seq);
  const last = Math.min(page.total, page.offset + page.rows.length);
  root.querySelector('#jobs-count').textContent =
    `${page.total} jobs; showing ${page.total ? page.offset + 1 : 0}–${last}`;
  root.querySelector('#jobs-prev').disabled = page.offset === 0;
  root.querySelector('#jobs-next').disabled = last >= page.total;
}

/** Render the job list; on a tick, refetch only when some job changed. */
export async function renderJobs(root, { fresh, full, jobs }) {
  if (fresh || !root.querySelector('#jobs')) skeleton(root);
  else if (!full && Array.isArray(jobs) && jobs.length === 0) return;
  await load(root);
}
