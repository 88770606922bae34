// uPlot line charts, created once per set of series and updated in place (no flicker).
const palette = [
  '#4a6cf7',
  '#e67e22',
  '#2e8b57',
  '#c0392b',
  '#8e44ad',
  '#16a085',
  '#d35400',
  '#7f8c8d',
];

/** Draw `{ keys, data }` (uPlot data: x seconds then one array per key) into `el`. */
export function lineChart(el, { keys, data }, opts = {}) {
  if (typeof uPlot === 'undefined') return;
  const sig = keys.join('\u0000');
  if (el._chart && el._sig === sig) {
    el._chart.setData(data);
    return;
  }
  el._chart?.destroy();
  el.innerHTML = keys.length ? '' : '<p class="muted">nothing yet</p>';
  if (!keys.length) {
    el._chart = undefined;
    el._sig = sig;
    return;
  }
  const width = Math.max(300, el.clientWidth || 500);
  el._chart = new uPlot(
    {
      width,
      height: opts.height ?? 180,
      series: [
        {},
        ...keys.map((k, i) => ({ label: k, stroke: palette[i % palette.length], width: 2 })),
      ],
      axes: [{}, { size: 50 }],
      scales: { y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    },
    data,
    el,
  );
  el._sig = sig;
}
