// The overview's panel of runbook runs in progress: each run, who runs it and since when, and
// its steps (done, skipped, in progress, pending) with the answers given so far.
import { esc, badge, when } from './app.js';

const mark = { done: '✓', skipped: '–', timed_out: '⌛', 'in progress': '▶', pending: '·' };

function stepHtml(s) {
  const answer = s.answer === undefined ? '' : ` = ${esc(String(s.answer))}`;
  return `<li data-step="${esc(s.id)}" data-status="${esc(s.status)}">${mark[s.status] ?? '?'} ${esc(s.kind)} ${esc(s.id)}${answer}</li>`;
}

/** The panel's HTML for `runs` (the overview's `runbooks`). */
export function runbooksHtml(runs) {
  if (!runs || !runs.length) return '<p class="muted">no runbook runs in progress</p>';
  return runs
    .map(
      (r) => `<div class="runbook" data-run="${esc(r.id)}"><strong>${esc(r.name)}</strong>
        ${badge('running')} ${esc(r.id)} by ${esc(r.by)}, ${when(r.startedAt)}, step ${Math.min(r.at + 1, r.steps.length)}/${r.steps.length}
        <ol class="steps">${r.steps.map(stepHtml).join('')}</ol></div>`,
    )
    .join('');
}
