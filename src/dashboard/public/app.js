// The dashboard page: a hash router, one EventSource, and views that refetch on demand.
// Resync rule: every `snapshot` frame (first connect, reconnect, server restart) refetches what
// the current view shows; `tick` frames carry the whole overview and the changed job ids.
import { renderOverview } from './overview.js';
import { renderJobs } from './jobs.js';
import { renderJob } from './job.js';
import { renderFairshare } from './fairshare.js';
import { renderReservations } from './reservations.js';
import { renderWorkflows, renderWorkflow } from './workflows.js';
import { renderMemory } from './memory.js';
import { renderPromises } from './promises.js';

export const state = { overview: null, seq: 0 };
const app = document.getElementById('app');

/** Escape text for innerHTML. */
export const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Fetch JSON; a refusal throws an Error with the API's code and message. */
export async function api(path, init = {}) {
  const res = await fetch(path, init);
  const body = await res.json();
  if (!res.ok) throw Object.assign(new Error(body.error?.message ?? res.statusText), body.error);
  return body;
}

/** POST an action (the header is what the server requires of actions). */
export const act = (path) => api(path, { method: 'POST', headers: { 'X-Drover-Action': '1' } });

/** Ask for confirmation in the dialog; resolves true when confirmed. */
export function confirmDialog(title, html, run) {
  const dlg = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-body').innerHTML = html;
  document.getElementById('confirm-error').textContent = '';
  const yes = document.getElementById('confirm-yes');
  yes.onclick = async (ev) => {
    ev.preventDefault();
    try {
      await run();
      dlg.close();
    } catch (err) {
      document.getElementById('confirm-error').textContent =
        `${err.code ?? 'error'}: ${err.message}`;
    }
  };
  dlg.showModal();
}

export const when = (ms) => (ms ? new Date(ms).toLocaleTimeString() : '–');
export const badge = (s) => `<span class="state ${esc(s)}">${esc(s)}</span>`;

const routes = [
  [/^#?\/?$/, () => renderOverview],
  [/^#\/jobs$/, () => renderJobs],
  [/^#\/job\/([^/]+)$/, () => renderJob],
  [/^#\/fairshare$/, () => renderFairshare],
  [/^#\/reservations$/, () => renderReservations],
  [/^#\/promises$/, () => renderPromises],
  [/^#\/nodes$/, () => renderMemory],
  [/^#\/workflows$/, () => renderWorkflows],
  [/^#\/workflow\/([^/]+)$/, () => renderWorkflow],
];

let current = null;
function resolve() {
  const hash = location.hash.split('?')[0] || '#/';
  for (const [re, view] of routes) {
    const m = re.exec(hash);
    if (m) return { view: view(), arg: m[1] ? decodeURIComponent(m[1]) : undefined, hash };
  }
  return { view: renderOverview, arg: undefined, hash };
}

let busy = false;
let again = null;
/** Render the current view; concurrent calls are coalesced into one follow-up. */
async function refresh(reason) {
  if (busy) {
    again = again === 'full' || reason.full ? { full: true, jobs: null } : reason;
    return;
  }
  busy = true;
  try {
    const r = resolve();
    const fresh = !current || current.hash !== r.hash;
    if (fresh) app.innerHTML = '';
    current = r;
    await r.view(app, { arg: r.arg, fresh, ...reason });
    document.body.dataset.rendered = String(state.seq);
  } catch (err) {
    app.insertAdjacentHTML('afterbegin', `<p class="error">${esc(err.message)}</p>`);
  } finally {
    busy = false;
    if (again) {
      const next = again;
      again = null;
      void refresh(next);
    }
  }
}

function setLive(s) {
  const el = document.getElementById('live');
  el.dataset.state = s;
  el.textContent = s;
}

function onFrame(kind) {
  return (msg) => {
    const data = JSON.parse(msg.data);
    state.overview = data.overview;
    state.seq = data.overview.seq;
    document.getElementById('seq').textContent = `seq ${state.seq}`;
    document.body.dataset.seq = String(state.seq);
    void refresh(
      kind === 'snapshot' ? { full: true, jobs: null } : { full: false, jobs: data.jobs },
    );
  };
}

let source = null;
function connect() {
  source = new EventSource('/events');
  source.addEventListener('snapshot', onFrame('snapshot'));
  source.addEventListener('tick', onFrame('tick'));
  source.onopen = () => setLive('live');
  source.onerror = () => {
    setLive('reconnecting');
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      setTimeout(connect, 1000);
    }
  };
}

window.addEventListener('hashchange', () => void refresh({ full: true, jobs: null }));
connect();
