// Live sessions (drover run): who, where, since when, what. From the overview pushed over SSE.
import { esc, badge, when } from './app.js';

/** The live sessions panel: one row per session not yet exited, newest first. */
export function sessionsHtml(sessions) {
  if (!sessions || !sessions.length) return '<p class="muted">no live sessions</p>';
  const rows = sessions.map(
    (s) => `<tr data-session="${esc(s.id)}"><td>${esc(s.id)}</td><td>${esc(s.user)}</td>
      <td>${esc(s.nodes.join(', ') || '–')}</td><td>${when(Date.parse(s.placedAt ?? s.openedAt))}</td>
      <td>${badge(s.state)}</td><td>${s.tty ? 'pty' : 'pipes'}</td>
      <td><code>${esc(s.command.join(' '))}</code></td></tr>`,
  );
  return `<table><tr><th>session</th><th>who</th><th>where</th><th>since</th><th>state</th>
    <th>stdio</th><th>command</th></tr>${rows.join('')}</table>`;
}
