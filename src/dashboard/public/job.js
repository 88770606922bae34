// A job page: its tree (children, chunks, attempts) as a timeline with node and worker per
// attempt, pending reasons and what unblocks them, the failure explanation with the log tail,
// results, the audit trail, and cancel (the confirmation lists the API's whole cascade).
import { api, act, esc, badge, when, confirmDialog } from './app.js';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** An attempt's bar class: live, failed, cancelled (its own colour), or none (succeeded). */
function attemptClass(a) {
  if (a.endedAt === undefined) return 'live';
  if (a.cause === 'Cancelled') return 'cancelled';
  return a.cause && a.cause !== 'Succeeded' ? 'bad' : '';
}

/** The words on an attempt's bar: what ended it when it failed, with the peak for memory. */
function attemptLabel(a) {
  const where = `${a.node} · #${a.attempt}`;
  if (a.cause === 'OutOfMemory')
    return `OutOfMemory, peak ${Math.round(a.peakRssMb ?? 0)} MB · ${where}`;
  if (a.endedAt !== undefined && a.cause && a.cause !== 'Succeeded')
    return `${a.cause}${a.exitCode !== undefined ? ' ' + a.exitCode : ''} · ${where}`;
  return where;
}

function ganttHtml(jobs, now) {
  const starts = jobs.map((j) => j.createdAt).filter(Boolean);
  const t0 = Math.min(...starts);
  let t1 = t0 + 1000;
  for (const j of jobs)
    for (const c of j.chunks) for (const a of c.attempts) t1 = Math.max(t1, a.endedAt ?? now);
  const x = (t) => Math.max(0, Math.min(1, (t - t0) / (t1 - t0)));
  const rows = [];
  for (const j of jobs) {
    // A job's row has no bars: its label takes the whole width, on one line.
    rows.push(
      `<div class="row job-row" data-gantt-job="${esc(j.id)}"><span class="lbl wide"><b>${esc(j.id)}</b> ${badge(j.state)} ${esc(j.name)}</span></div>`,
    );
    for (const c of j.chunks) {
      const bars = c.attempts.map((a) => {
        const s = a.startedAt ?? now;
        const e = a.endedAt ?? now;
        const title = `${a.worker} on ${a.node}: ${a.state}${a.cause ? ' ' + a.cause : ''}${a.exitCode !== undefined ? ' exit ' + a.exitCode : ''}${a.peakRssMb !== undefined ? ', peak ' + Math.round(a.peakRssMb) + ' MB' : ''}${a.message ? '\n' + a.message : ''}`;
        const w = Math.max(0.004, x(e) - x(s));
        return `<span class="att ${attemptClass(a)}" data-worker="${esc(a.worker)}" data-cause="${esc(a.cause ?? '')}" title="${esc(title)}"
          style="left:calc(170px + (100% - 170px) * ${x(s)});width:calc((100% - 170px) * ${w})">${esc(attemptLabel(a))}</span>`;
      });
      rows.push(
        `<div class="row"><span class="lbl chunk-lbl">&nbsp;&nbsp;chunk ${c.index} ${badge(c.state)}</span>${bars.join('')}</div>`,
      );
    }
  }
  return `<div class="gantt">${rows.join('')}</div><p class="muted">${when(t0)} → ${when(t1)}
    <span class="legend"><span class="att-key">succeeded</span> <span class="att-key live">running</span>
    <span class="att-key bad">failed</span> <span class="att-key cancelled">cancelled</span></span></p>`;
}

const WAITING = new Set(['queued', 'held', 'running']);

function explainHtml(ex, state) {
  if (!ex) return '';
  if (ex.error) return `<p class="error">explain: ${esc(ex.error.message)}</p>`;
  const out = [];
  // Reasons are the scheduler's last note: shown only while the job can still wait.
  if (ex.pending?.length && WAITING.has(state)) {
    out.push('<h3>Why it is pending</h3><ul id="pending">');
    for (const p of ex.pending)
      out.push(
        `<li class="pending-reason" data-code="${esc(p.code)}"><b>${esc(p.code)}</b>: ${esc(p.message)} — <i>unblock:</i> ${esc(p.unblock)}</li>`,
      );
    out.push('</ul>');
  }
  const f = ex.failure;
  if (f) {
    out.push(
      `<h3>Why it failed</h3><p id="failure" data-cause="${esc(f.cause)}"><b>${esc(f.cause)}</b> on ${esc(f.node)}, attempt ${f.attempt}${f.exitCode !== undefined ? `, exit ${f.exitCode}` : ''}${f.signal ? `, ${esc(f.signal)}` : ''}: ${esc(f.meaning)}</p>`,
    );
    if (f.attemptMessage) out.push(`<p id="attempt-message">${esc(f.attemptMessage)}</p>`);
    if (f.logTail?.length) out.push(`<pre>${esc(f.logTail.join('\n'))}</pre>`);
  }
  if (ex.recommendations?.length)
    out.push(`<ul>${ex.recommendations.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>`);
  return out.join('');
}

function resultsHtml(jobs) {
  const rows = [];
  for (const j of jobs)
    for (const c of j.chunks)
      if (c.result !== undefined)
        rows.push(
          `<tr><td>${esc(j.id)}:${c.index}</td><td><code>${esc(JSON.stringify(c.result))}</code></td></tr>`,
        );
  return rows.length ? `<table>${rows.join('')}</table>` : '<p class="muted">no results</p>';
}

function auditRows(entries) {
  return entries
    .map(
      (
        e,
      ) => `<tr data-seq="${e.seq}"><td>${e.seq}</td><td>${new Date(e.at).toISOString()}</td><td>${esc(e.by?.kind)}:${esc(e.by?.id)}</td>
      <td>${esc(e.type)}</td><td>${esc(e.subject.replace(/^drover\.ev\./, ''))}</td></tr>`,
    )
    .join('');
}

/** One page of the audit trail, with the pager (a big job's trail would be 10,000 px tall). */
function auditHtml({ audit, auditTotal, auditOffset }) {
  const last = auditOffset + audit.length;
  const pager =
    auditTotal > audit.length
      ? `<p class="pager"><button data-audit="first" ${auditOffset === 0 ? 'disabled' : ''}>first</button>
        <button data-audit="prev" ${auditOffset === 0 ? 'disabled' : ''}>earlier</button>
        <button data-audit="next" ${last >= auditTotal ? 'disabled' : ''}>later</button>
        <button data-audit="last" ${last >= auditTotal ? 'disabled' : ''}>last</button></p>`
      : '';
  return `<p id="audit-count" class="muted">events ${auditTotal ? auditOffset + 1 : 0}–${last} of ${auditTotal}, in log order</p>${pager}
    <table id="audit" data-offset="${auditOffset}" data-total="${auditTotal}"><tr><th>seq</th><th>at</th><th>by</th><th>type</th><th>entity</th></tr>${auditRows(audit)}</table>`;
}

const AUDIT_PAGE = 50;
/** The audit page shown per job: kept across the re-renders that live ticks cause. */
const auditOffsets = new Map();

async function pageAudit(root, id, which) {
  const table = root.querySelector('#audit');
  const offset = Number(table.dataset.offset);
  const total = Number(table.dataset.total);
  const next = {
    first: 0,
    prev: Math.max(0, offset - AUDIT_PAGE),
    next: offset + AUDIT_PAGE,
    last: Math.floor(Math.max(0, total - 1) / AUDIT_PAGE) * AUDIT_PAGE,
  }[which];
  const page = await api(`/api/jobs/${encodeURIComponent(id)}/audit?offset=${next}`);
  auditOffsets.set(id, page.auditOffset);
  root.querySelector('#audit-section').innerHTML = `<h2>Audit trail</h2>${auditHtml(page)}`;
}

async function copyCommand(root) {
  const code = root.querySelector('#command-line');
  try {
    await navigator.clipboard.writeText(code.textContent);
    root.querySelector('#copy-command').textContent = 'Copied';
  } catch {
    // No clipboard permission: select the line so that Ctrl-C copies it.
    getSelection().selectAllChildren(code);
  }
}

function cancelPlanHtml(plan) {
  const jobs = plan.jobs
    .map((j) => `<li data-job="${esc(j.id)}">${esc(j.id)} ${badge(j.state)}</li>`)
    .join('');
  const chunks = plan.chunks
    .map(
      (c) =>
        `<li data-chunk="${esc(c.id)}">${esc(c.id)} ${badge(c.state)}${c.node ? ' on ' + esc(c.node) : ''}</li>`,
    )
    .join('');
  const procs = plan.processes
    .map(
      (p) =>
        `<li data-worker="${esc(p.worker)}">${esc(p.worker)} on ${esc(p.node)} (${esc(p.state)})</li>`,
    )
    .join('');
  return `<p>Jobs (${plan.jobs.length}):</p><ul id="plan-jobs">${jobs}</ul>
    <p>Chunks (${plan.chunks.length}):</p><ul>${chunks}</ul>
    <p>Processes to stop (${plan.processes.length}):</p><ul>${procs || '<li class="muted">none</li>'}</ul>`;
}

async function askCancel(id) {
  const plan = await api(`/api/jobs/${encodeURIComponent(id)}/cancel-plan`);
  confirmDialog(`Cancel ${id} and everything below it?`, cancelPlanHtml(plan), () =>
    act(`/api/jobs/${encodeURIComponent(id)}/cancel`),
  );
}

let shownId = null;

/** Render a job page; a tick refetches it only when one of its jobs changed. */
export async function renderJob(root, { arg: id, fresh, full, jobs: changed }) {
  const known = root.querySelector('#job')?.dataset.tree?.split(',') ?? [];
  if (
    !fresh &&
    !full &&
    shownId === id &&
    Array.isArray(changed) &&
    !changed.some((j) => known.includes(j))
  )
    return;
  const page = await api(
    `/api/jobs/${encodeURIComponent(id)}?auditOffset=${auditOffsets.get(id) ?? 0}`,
  );
  shownId = id;
  const job = page.jobs[0];
  root.innerHTML = `<section id="job" data-id="${esc(job.id)}" data-state="${esc(job.state)}" data-tree="${esc(page.jobs.map((j) => j.id).join(','))}">
    <h2>${esc(job.id)} ${esc(job.name)} ${badge(job.state)}
      ${TERMINAL.has(job.state) ? '' : '<button id="cancel-job" class="danger">Cancel…</button>'}</h2>
    <p>user <b>${esc(job.user)}</b>, pool ${esc(job.pool)}, priority ${job.priority}, ${job.request.cpus} cpus,
      ${job.request.memMb} MB, ${job.request.gpus} gpus, retries ${job.retries}${job.parent ? `, parent <a href="#/job/${esc(job.parent)}">${esc(job.parent)}</a>` : ''}
      ${job.after.length ? `, after ${job.after.map((a) => `<a href="#/job/${esc(a)}">${esc(a)}</a>`).join(' ')}` : ''}</p>
    <p class="cmdline"><code id="command-line">${esc(page.commandLine)}</code> <button id="copy-command" title="copy the command as a shell line">Copy</button></p>
    ${job.outcome ? `<p>outcome: <b>${esc(job.outcome.cause)}</b> ${esc(job.outcome.message)}</p>` : ''}
    ${explainHtml(page.explain, job.state)}</section>
    <section><h2>Timeline (${page.jobs.length} job${page.jobs.length > 1 ? 's' : ''})</h2>${ganttHtml(page.jobs, Date.now())}</section>
    <section><h2>Results</h2>${resultsHtml(page.jobs)}</section>
    <section id="audit-section"><h2>Audit trail</h2>${auditHtml(page)}</section>`;
  root.querySelector('#cancel-job')?.addEventListener('click', () => void askCancel(job.id));
  root.querySelector('#copy-command').addEventListener('click', () => void copyCommand(root));
  root.onclick = (ev) => {
    const btn = ev.target.closest('button[data-audit]');
    if (btn) void pageAudit(root, job.id, btn.dataset.audit);
  };
}
