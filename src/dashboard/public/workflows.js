// Workflows: each one's version, paused, next fires, pause/resume and trigger (each confirmed,
// saying exactly what will happen); per workflow the runs as a grid (runs x tasks, coloured by
// task state, each cell linking to the task's job), a run's Gantt from its tasks' job times,
// and task durations and landing times over the last runs.
import { api, act, esc, badge, when, confirmDialog } from './app.js';
import { lineChart } from './charts.js';

/** The run whose Gantt is shown, by workflow (default: the newest). */
const selected = new Map();
let lastPage = null;

const wfPath = (name, rest = '') => `/api/workflows/${encodeURIComponent(name)}${rest}`;
const nextList = (next, paused) =>
  (paused ? '<li class="muted">paused: none fires until resumed</li>' : '') +
  (next.length
    ? next.map((t) => `<li><time>${esc(t)}</time></li>`).join('')
    : '<li class="muted">no schedule</li>');

/** What happens to the fires missed while paused, by the schedule's catchup policy. */
const missed = (catchup) =>
  ({
    all: 'Fires missed while paused run on resume, every one, in date order (catchup: all).',
    latest: 'Of the fires missed while paused, only the latest runs on resume (catchup: latest).',
    none: 'Fires missed while paused do not run (catchup: none).',
  })[catchup] ?? '';

function buttons(w) {
  const toggle = w.paused
    ? `<button class="wf-resume" data-name="${esc(w.name)}">Resume</button>`
    : `<button class="wf-pause" data-name="${esc(w.name)}">Pause</button>`;
  return `${toggle} <button class="wf-trigger" data-name="${esc(w.name)}" data-date="${esc(w.triggerDate)}">Trigger</button>`;
}

/** Wire the action buttons under `root`; each asks first, naming exactly what it will do. */
function wire(root, byName) {
  for (const b of root.querySelectorAll('.wf-pause, .wf-resume, .wf-trigger')) {
    b.onclick = (ev) => {
      ev.preventDefault();
      ev.stopPropagation();
      const w = byName(b.dataset.name);
      if (b.classList.contains('wf-pause')) {
        confirmDialog(
          `Pause workflow ${w.name}?`,
          `<p id="confirm-what">Pause <b>${esc(w.name)}</b> (v${w.version}): its schedule fires no new
          runs until it is resumed${w.next[0] ? ` (the next fire was ${esc(w.next[0])})` : ''}.
          Runs already created keep going. ${missed(w.catchup)}</p>`,
          () => act(wfPath(w.name, '/pause')),
        );
      } else if (b.classList.contains('wf-resume')) {
        confirmDialog(
          `Resume workflow ${w.name}?`,
          `<p id="confirm-what">Resume <b>${esc(w.name)}</b> (v${w.version}): its schedule fires
          runs again${w.next[0] ? `, next at ${esc(w.next[0])}` : ''}. ${missed(w.catchup)}</p>`,
          () => act(wfPath(w.name, '/resume')),
        );
      } else {
        const date = b.dataset.date;
        confirmDialog(
          `Trigger ${w.name}@${date}?`,
          `<p id="confirm-what">Start the manual run <b>${esc(w.name)}@${esc(date)}</b> of workflow
          <b>${esc(w.name)}</b> (v${w.version}) now, for logical date <b>${esc(date)}</b>
          (today in ${esc(w.zone ?? 'its zone')}). Refused if that run exists already.</p>`,
          () => act(wfPath(w.name, `/trigger?date=${encodeURIComponent(date)}`)),
        );
      }
    };
  }
}

/** Render the list of workflows (`#/workflows`). */
export async function renderWorkflows(root) {
  const { workflows } = await api('/api/workflows');
  const rows = workflows.map(
    (w) => `<tr data-workflow="${esc(w.name)}" data-paused="${w.paused}">
      <td><a href="#/workflow/${encodeURIComponent(w.name)}">${esc(w.name)}</a></td>
      <td>v${w.version}</td><td class="wf-paused">${w.paused ? badge('paused') : badge('active')}</td>
      <td><ul class="wf-next">${nextList(w.next, w.paused)}</ul></td><td>${buttons(w)}</td></tr>`,
  );
  root.innerHTML = `<section><h2>Workflows</h2><table id="workflows"><thead><tr><th>name</th>
    <th>version</th><th>state</th><th>next fires</th><th></th></tr></thead>
    <tbody>${rows.join('') || '<tr><td colspan="5" class="muted">no workflows (drover workflow apply FILE)</td></tr>'}</tbody></table></section>`;
  wire(root, (name) => workflows.find((w) => w.name === name));
}

function gridHtml(grid) {
  const head = grid.tasks.map((t) => `<th class="wf-task">${esc(t)}</th>`).join('');
  const rows = grid.rows.map((r) => {
    const cells = r.cells.map((c) => {
      const inner = c.jobId
        ? `<a href="#/job/${encodeURIComponent(c.jobId)}" title="${esc(c.task)}: ${esc(c.state)}">&nbsp;</a>`
        : `<span title="${esc(c.task)}: ${esc(c.state)}">&nbsp;</span>`;
      return `<td class="cell ts-${esc(c.state)}" data-task="${esc(c.task)}" data-state="${esc(c.state)}">${inner}</td>`;
    });
    return `<tr data-run="${esc(r.run)}" data-state="${esc(r.state)}"><th><button class="link wf-run"
      data-run="${esc(r.run)}">${esc(r.date)}</button> ${badge(r.state)} <span class="muted">${esc(r.trigger)} v${r.workflowVersion}</span></th>${cells.join('')}</tr>`;
  });
  return `<table id="wf-grid" class="grid"><thead><tr><th>run</th>${head}</tr></thead>
    <tbody>${rows.join('') || `<tr><td colspan="${grid.tasks.length + 1}" class="muted">no runs yet</td></tr>`}</tbody></table>`;
}

function ganttHtml(run, bars, now) {
  if (!run || !bars) return '<p class="muted">no run to show</p>';
  const starts = bars.map((b) => b.start).filter((t) => t !== undefined);
  if (!starts.length) return `<p class="muted">${esc(run)}: no task has started</p>`;
  const t0 = Math.min(...starts);
  const t1 = Math.max(t0 + 1000, ...bars.map((b) => b.end ?? (b.start !== undefined ? now : t0)));
  const x = (t) => Math.max(0, Math.min(1, (t - t0) / (t1 - t0)));
  const rows = bars.map((b) => {
    const bar =
      b.start === undefined
        ? ''
        : `<span class="att ts-${esc(b.state)}" data-bar="${esc(b.task)}" title="${esc(b.task)}: ${when(b.start)} → ${b.end ? when(b.end) : 'running'}"
        style="left:calc(170px + (100% - 170px) * ${x(b.start)});width:calc((100% - 170px) * ${Math.max(0.004, x(b.end ?? now) - x(b.start))})">${(((b.end ?? now) - b.start) / 1000).toFixed(1)} s</span>`;
    return `<div class="row" data-gantt-task="${esc(b.task)}"><span class="lbl">${esc(b.task)} ${badge(b.state)}</span>${bar}</div>`;
  });
  return `<div class="gantt" id="wf-gantt-bars" data-run="${esc(run)}">${rows.join('')}</div>
    <p class="muted">${esc(run)}: ${when(t0)} → ${when(t1)}</p>`;
}

function seriesData(series, values) {
  const xs = series.runs.map((r, i) => {
    const t = Date.parse(r.slice(r.indexOf('@') + 1));
    return Number.isNaN(t) ? i : t / 1000;
  });
  return { keys: series.runs.length ? series.tasks : [], data: [xs, ...values] };
}

function drawGantt(root, page) {
  const run = selected.get(page.name) ?? page.grid.rows[0]?.run;
  root.querySelector('#wf-gantt').innerHTML = ganttHtml(run, page.gantts[run], page.now);
  for (const tr of root.querySelectorAll('#wf-grid tr[data-run]'))
    tr.classList.toggle('selected', tr.dataset.run === run);
}

/** Render one workflow's page (`#/workflow/NAME[?runs=N]`, 25 runs by default): refetched on every push. */
export async function renderWorkflow(root, { arg, fresh }) {
  const asked = Number(new URLSearchParams(location.hash.split('?')[1] ?? '').get('runs'));
  const limit = asked > 0 ? Math.trunc(asked) : 25;
  const page = await api(`/api/workflows/${encodeURIComponent(arg)}?limit=${limit}`);
  lastPage = page;
  if (fresh || !root.querySelector('#workflow')) {
    root.innerHTML = `<section id="workflow"><h2></h2><div id="wf-head"></div></section>
      <section><h2>Runs</h2><p class="note">Newest first; a cell is a task of a run, coloured by its
      state; click it for the task's job, click a run's date for its Gantt.</p><div id="wf-runs"></div></section>
      <section><h2>Gantt</h2><div id="wf-gantt"></div></section>
      <section><h2>Task durations (s), last <span id="wf-count"></span> runs</h2><div id="wf-durations"></div></section>
      <section><h2>Landing times (hour of day, ${esc(page.zone)})</h2><div id="wf-landing"></div></section>`;
  }
  const head = root.querySelector('#workflow');
  head.dataset.name = page.name;
  head.dataset.paused = String(page.paused);
  head.querySelector('h2').innerHTML =
    `Workflow ${esc(page.name)} <span class="muted">v${page.version}</span> ${page.paused ? badge('paused') : badge('active')}`;
  root.querySelector('#wf-head').innerHTML =
    `<p>${buttons(page)} <span class="muted">zone ${esc(page.zone)}</span></p>
     <h3>Next fires</h3><ul id="wf-next" class="wf-next">${nextList(page.next, page.paused)}</ul>`;
  wire(root.querySelector('#wf-head'), () => lastPage);
  root.querySelector('#wf-runs').innerHTML = gridHtml(page.grid);
  root.querySelector('#wf-count').textContent = String(page.grid.rows.length);
  for (const b of root.querySelectorAll('#wf-grid .wf-run'))
    b.onclick = () => {
      selected.set(page.name, b.dataset.run);
      drawGantt(root, lastPage);
    };
  drawGantt(root, page);
  lineChart(root.querySelector('#wf-durations'), seriesData(page.series, page.series.durations));
  lineChart(root.querySelector('#wf-landing'), seriesData(page.series, page.series.landing));
}
