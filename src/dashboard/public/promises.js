// Start-by promises: each one pending, kept or broken, with the log sequences that prove it
// (its promise.accepted, the chunk.started that kept it) and the jobs preempted for it.
import { api, badge, esc } from './app.js';

let lastFetch = 0;
const seqCell = (s) => (s === undefined ? '–' : `<code>${s}</code>`);

function rowsHtml(rows) {
  if (!rows.length) return '<tr><td colspan="9" class="muted">no promises</td></tr>';
  return rows
    .map(
      (p) => `<tr data-job="${esc(p.jobId)}" data-state="${esc(p.state)}"
        data-accepted-seq="${p.proof.acceptedSeq}" data-started-seq="${p.proof.startedSeq ?? ''}">
        <td><a href="#/job/${esc(p.jobId)}">${esc(p.jobId)}</a></td><td>${esc(p.user ?? '')}</td>
        <td>${esc(p.name ?? '')}</td><td><time>${esc(p.startBy)}</time></td><td>${badge(p.state)}</td>
        <td>${p.startedAt ? `<time>${esc(p.startedAt)}</time>` : '–'}</td>
        <td class="accepted-seq">${seqCell(p.proof.acceptedSeq)}</td>
        <td class="started-seq">${seqCell(p.proof.startedSeq)}</td>
        <td class="preempted">${p.proof.preempted.map((j) => `<a href="#/job/${esc(j)}">${esc(j)}</a>`).join(', ') || '–'}</td></tr>`,
    )
    .join('');
}

/** Render the promises page; ticks refetch it at most every 2 s. */
export async function renderPromises(root, { fresh, full }) {
  if (fresh || !root.querySelector('#promises')) {
    root.innerHTML = `<section><h2>Start-by promises</h2><table id="promises"><thead><tr>
      <th>job</th><th>user</th><th>name</th><th>start by</th><th>state</th><th>started</th>
      <th title="log sequence of its promise.accepted">accepted seq</th>
      <th title="log sequence of the chunk.started that kept it">started seq</th><th>preempted</th>
      </tr></thead><tbody></tbody></table>
      <p class="note">A promise is accepted at submit only when the farm's model says it can be kept
      (a refused one is never recorded: the submit failed with the reason). The sequences point at the
      events in the log that prove it: <code>drover audit JOB</code> shows them.</p></section>`;
  } else if (!full && Date.now() - lastFetch < 2000) return;
  lastFetch = Date.now();
  const view = await api('/api/promises');
  root.querySelector('#promises tbody').innerHTML = rowsHtml(view.rows);
  root.querySelector('#promises').dataset.seq = String(view.seq);
}
