// Alerts: firing ones and those resolved in the last day, from the overview pushed over SSE.
// Each alert resolves by itself when its condition clears; an ack only says a person saw it.
import { esc, badge, when } from './app.js';

function detailsHtml(details) {
  const entries = Object.entries(details ?? {});
  if (!entries.length) return '';
  const text = entries
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join('\n');
  return `<details><summary>details</summary><pre class="alert-details">${esc(text)}</pre></details>`;
}

function ackHtml(acks) {
  if (!acks?.length) return '<span class="muted">not acknowledged</span>';
  return acks
    .map(
      (a) =>
        `acked by ${esc(a.by)} at ${when(Date.parse(a.at))}${a.note ? `: ${esc(a.note)}` : ''}`,
    )
    .join('<br>');
}

/** The alerts panel: one row per alert, firing first, with since, summary, details and acks. */
export function alertsHtml(alerts) {
  const link =
    '<p class="muted">Prometheus metrics of the farm: <a id="metrics-link-panel" href="/metrics">/metrics</a></p>';
  if (!alerts || !alerts.length)
    return `<p class="muted">no alerts firing or recently resolved</p>${link}`;
  const rows = alerts.map(
    (
      a,
    ) => `<tr data-alert="${esc(a.id)}" data-state="${esc(a.state)}" data-acked="${a.acks.length > 0}">
      <td>${badge(a.state === 'firing' ? 'firing' : 'resolved')}</td><td>${esc(a.rule)}</td>
      <td>${esc(a.key)}</td><td><time datetime="${esc(a.since)}">${when(Date.parse(a.since))}</time></td>
      <td>${a.resolvedAt ? `<time datetime="${esc(a.resolvedAt)}">${when(Date.parse(a.resolvedAt))}</time>` : '–'}</td>
      <td class="alert-summary">${esc(a.summary)}${detailsHtml(a.details)}</td><td>${ackHtml(a.acks)}</td></tr>`,
  );
  return `<table id="alerts"><tr><th>state</th><th>rule</th><th>about</th><th>since</th>
    <th>resolved</th><th>summary</th><th>ack</th></tr>${rows.join('')}</table>${link}`;
}
