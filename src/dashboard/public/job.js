// A job page: its tree (children, chunks, attempts) as a timeline with node and worker per
// attempt, pending reasons and what unblocks them, the failure explanation with the log tail,
// results, the audit trail, and cancel (the confirmation lists the API's whole cascade).
import { api, act, esc, badge, when, confirmDialog } from './app.js';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

function ganttHtml(jobs, now) {
  const starts = jobs.map((j) => j.createdAt).filter(Boolean);
  const t0 = Math.min(...starts);
  let t1 = t0 + 1000;
  for (const j of jobs)
    for (const c of j.chunks) for (const a of c.attempts) t1 = Math.max(t1, a.endedAt ?? now);
  const x = (t) => Math.max(0, Math.min(1, (t - t0) / (t1 - t0)));
  const rows = [];
  for (const j of jobs) {
    rows.push(
      `<div class="row" data-gantt-job="${esc(j.id)}"><span class="lbl"><b>${esc(j.id)}</b> ${esc(j.name)} ${badge(j.state)}</span></div>`,
    );
    for (const c of j.chunks) {
      const bars = c.attempts.map((a) => {
        const s = a.startedAt ?? now;
        const e = a.endedAt ?? now;
        const cls =
          a.endedAt === undefined ? 'live' : a.cause && a.cause !== 'Succeeded' ? 'bad' : '';
        const title = `${a.worker} on ${a.node}: ${a.state}${a.cause ? ' ' + a.cause : ''}${a.exitCode !== undefined ? ' exit ' + a.exitCode : ''}${a.peakRssMb !== undefined ? ', peak ' + Math.round(a.peakRssMb) + ' MB' : ''}`;
        const w = Math.max(0.004, x(e) - x(s));
        return `<span class="att ${cls}" data-worker="${esc(a.worker)}" title="${esc(title)}"
          style="left:calc(170px + (100% - 170px) * ${x(s)});width:calc((100% - 170px) * ${w})">${esc(a.node)} · #${a.attempt}</span>`;
      });
      rows.push(
        `<div class="row"><span class="lbl">&nbsp;&nbsp;chunk ${c.index} ${badge(c.state)}</span>${bars.join('')}</div>`,
      );
    }
  }
  return `<div class="gantt">${rows.join('')}</div><p class="muted">${when(t0)} → ${when(t1)}</p>`;
}

function explainHtml(ex) {
  if (!ex) return '';
  if (ex.error) return `<p class="error">explain: ${esc(ex.error.message)}</p>`;
  const out = [];
  if (ex.pending?.length) {
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

function auditHtml(entries, total) {
  const rows = entries.map(
    (
      e,
    ) => `<tr><td>${e.seq}</td><td>${new Date(e.at).toISOString()}</td><td>${esc(e.by?.kind)}:${esc(e.by?.id)}</td>
      <td>${esc(e.type)}</td><td>${esc(e.subject.replace(/^drover\.ev\./, ''))}</td></tr>`,
  );
  const more =
    total > entries.length ? `<p class="muted">last ${entries.length} of ${total}</p>` : '';
  return `${more}<table><tr><th>seq</th><th>at</th><th>by</th><th>type</th><th>entity</th></tr>${rows.join('')}</table>`;
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
  const page = await api(`/api/jobs/${encodeURIComponent(id)}`);
  shownId = id;
  const job = page.jobs[0];
  root.innerHTML = `<section id="job" data-id="${esc(job.id)}" data-state="${esc(job.state)}" data-tree="${esc(page.jobs.map((j) => j.id).join(','))}">
    <h2>${esc(job.id)} ${esc(job.name)} ${badge(job.state)}
      ${TERMINAL.has(job.state) ? '' : '<button id="cancel-job" class="danger">Cancel…</button>'}</h2>
    <p>user <b>${esc(job.user)}</b>, pool ${esc(job.pool)}, priority ${job.priority}, ${job.request.cpus} cpus,
      ${job.request.memMb} MB, ${job.request.gpus} gpus, retries ${job.retries}${job.parent ? `, parent <a href="#/job/${esc(job.parent)}">${esc(job.parent)}</a>` : ''}
      ${job.after.length ? `, after ${job.after.map((a) => `<a href="#/job/${esc(a)}">${esc(a)}</a>`).join(' ')}` : ''}</p>
    <p><code>${esc(job.command.join(' '))}</code></p>
    ${job.outcome ? `<p>outcome: <b>${esc(job.outcome.cause)}</b> ${esc(job.outcome.message)}</p>` : ''}
    ${explainHtml(page.explain)}</section>
    <section><h2>Timeline (${page.jobs.length} job${page.jobs.length > 1 ? 's' : ''})</h2>${ganttHtml(page.jobs, Date.now())}</section>
    <section><h2>Results</h2>${resultsHtml(page.jobs)}</section>
    <section><h2>Audit trail</h2>${auditHtml(page.audit, page.auditTotal)}</section>`;
  root.querySelector('#cancel-job')?.addEventListener('click', () => void askCancel(job.id));
  root.onclick = null;
}
