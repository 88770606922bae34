// Live sessions (drover run) and allocations (drover alloc): who, where, since when, what. From the overview pushed over SSE.
import { esc, badge, when } from './app.js';

/** What a session does: its command (and the allocation it runs in), or what an allocation holds. */
function what(s) {
  if (s.kind === 'alloc') {
    const asked =
      s.nodes.length < s.nodeCount ? ` (${s.nodes.length} of ${s.nodeCount} nodes)` : '';
    return `allocation: ${esc(s.cpus)} cpus, ${esc(s.memMb)} MB a node until ${esc(s.until ?? '–')}${asked}`;
  }
  const inside = s.alloc ? ` <span class="muted">in ${esc(s.alloc)}</span>` : '';
  return `<code>${esc(s.command.join(' '))}</code>${inside}`;
}

/** The live sessions panel: one row per session not yet exited, newest first. */
export function sessionsHtml(sessions) {
  if (!sessions || !sessions.length) return '<p class="muted">no live sessions</p>';
  const rows = sessions.map(
    (s) => `<tr data-session="${esc(s.id)}"><td>${esc(s.id)}</td><td>${esc(s.user)}</td>
      <td>${esc(s.nodes.join(', ') || '–')}</td><td>${when(Date.parse(s.placedAt ?? s.openedAt))}</td>
      <td>${badge(s.state)}</td><td>${s.kind === 'alloc' ? '–' : s.tty ? 'pty' : 'pipes'}</td>
      <td>${what(s)}</td></tr>`,
  );
  return `<table><tr><th>session</th><th>who</th><th>where</th><th>since</th><th>state</th>
    <th>stdio</th><th>command</th></tr>${rows.join('')}</table>`;
}
