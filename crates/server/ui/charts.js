// Time-series charts on uPlot (vendored, MIT): one helper that sizes a chart
// to its card, colours it from the theme and feeds it from S.history.

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/**
 * A line chart in `el`. `series` is [{label, color (CSS variable), value(point)}];
 * returns {update(history), destroy()}.
 */
export function lineChart(el, title, series, { height = 200, yRange } = {}) {
  let plot = null;
  const make = (history) => {
    plot?.destroy();
    const width = Math.max(240, el.clientWidth - 8);
    const axis = { stroke: css('--muted'), grid: { stroke: css('--line'), width: 1 }, ticks: { stroke: css('--line') } };
    plot = new uPlot({
      title, width, height,
      scales: { x: { time: true }, y: yRange ? { range: yRange } : { auto: true } },
      axes: [axis, { ...axis, size: 50 }],
      legend: { live: false },
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: css(s.color), width: 2, spanGaps: true }))],
    }, data(history), el);
  };
  const data = (history) => [history.map((p) => p.t), ...series.map((s) => history.map((p) => s.value(p) ?? null))];
  let width = 0;
  return {
    update(history, redraw = false) {
      if (!plot || redraw || Math.abs(el.clientWidth - width) > 16) {
        width = el.clientWidth;
        make(history);
      } else {
        plot.setData(data(history));
      }
    },
    destroy() { plot?.destroy(); plot = null; },
  };
}
