// Time-series charts on uPlot (vendored, MIT): one helper that sizes a chart
// to its card, colours it from the theme and feeds it from S.history.

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const pad = (n) => String(n).padStart(2, '0');

/** Axis labels in local time, as fine as the range needs: seconds under five minutes, dates past two days. */
function timeLabels(u, splits) {
  const span = u.scales.x.max - u.scales.x.min;
  return splits.map((t) => {
    const d = new Date(t * 1000);
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    if (span > 2 * 86400) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
    return span < 300 ? `${hm}:${pad(d.getSeconds())}` : hm;
  });
}

/**
 * A line chart in `el`. `series` is [{label, color (CSS variable), value(point), show}]
 * (a series with `show: false` starts hidden; its legend entry shows it);
 * points have `t` in seconds. Returns {update(points), destroy()}.
 */
export function lineChart(el, title, series, { height = 200, yRange } = {}) {
  let plot = null;
  const make = (history) => {
    plot?.destroy();
    const width = Math.max(240, el.clientWidth - 8);
    const axis = { stroke: css('--muted'), grid: { stroke: css('--line'), width: 1 }, ticks: { stroke: css('--line') } };
    plot = new uPlot({
      title, width, height,
      // At least a minute across, so two points half a second apart do
      // not label the axis in milliseconds.
      scales: { x: { time: true, range: (u, min, max) => (max - min < 60 ? [max - 60, max] : [min, max]) }, y: yRange ? { range: yRange } : { auto: true } },
      axes: [{ ...axis, values: timeLabels }, { ...axis, size: 50 }],
      legend: { live: false },
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: css(s.color), width: 2, spanGaps: true, show: s.show !== false }))],
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
