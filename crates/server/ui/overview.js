// The overview: what the store knows about a time range (GET /api/v1/history),
// reloaded every 15 s while the range ends now, under live tiles fed by the
// stream. It opens on the last hour, not on what this tab has received.
import { S, h, api } from './app.js';
import { lineChart } from './charts.js';
import { num, tile, bars, field, note, activeDecisions, localInput } from './widgets.js';

const RANGES = [['15 min', 15 * 60e3], ['1 h', 3600e3], ['24 h', 86400e3], ['7 d', 7 * 86400e3]];
const SEVERITIES = ['critical', 'high', 'medium', 'low'];
const SEV_COLOR = { critical: '--red', high: '--orange', medium: '--yellow', low: '--muted' };
const TELEMETRY = new Set(['metric', 'state']);

/** The history's counts as one point per interval, zeros where nothing happened. */
export function points(hist) {
  const byT = new Map();
  for (let t = Math.floor(hist.since / hist.step_ms) * hist.step_ms; t < hist.until; t += hist.step_ms) {
    byT.set(t, { t: t / 1000, events: 0, signals: 0, telemetry: 0, sev: {}, cpu: null, cpuMax: null, mem: null });
  }
  const at = (t) => byT.get(t) || byT.set(t, { t: t / 1000, events: 0, signals: 0, telemetry: 0, sev: {} }).get(t);
  for (const p of hist.events) {
    const point = at(p.t);
    if (TELEMETRY.has(p.kind)) point.telemetry += p.n;
    else if (p.kind === 'event') point.events += p.n;
    else point.signals += p.n;
  }
  for (const p of hist.alerts_by_severity) at(p.t).sev[p.severity] = (at(p.t).sev[p.severity] || 0) + p.n;
  // The host with the most samples: this node's own, on a single node.
  const samples = {};
  for (const p of hist.host) samples[p.host] = (samples[p.host] || 0) + p.samples;
  const main = Object.entries(samples).sort((a, b) => b[1] - a[1])[0]?.[0];
  for (const p of hist.host.filter((x) => x.host === main)) Object.assign(at(p.t), { cpu: p.cpu_pct, cpuMax: p.cpu_pct_max, mem: p.memory_pct });
  return [...byT.values()].sort((a, b) => a.t - b.t);
}

export const overview = {
  title: 'Overview',
  range: RANGES[1][1],   // ms back from now, or null for the custom range below
  custom: null,          // [since, until] in ms
  render(root) {
    this.tiles = h('div', { class: 'tiles' });
    this.kinds = h('div'); this.ips = h('div'); this.rulesList = h('div');
    this.status = h('p', { class: 'muted', id: 'history-status', 'aria-live': 'polite' });
    const eps = h('div', { class: 'chart' }); const alerts = h('div', { class: 'chart' }); const host = h('div', { class: 'chart' });
    this.buttons = RANGES.map(([label, ms]) => h('button', { type: 'button', 'data-range': label, onclick: () => { this.range = ms; this.custom = null; this.load(); } }, label));
    const now = Date.now();
    this.from = h('input', { type: 'datetime-local', id: 'range-from', value: localInput(now - 86400e3) });
    this.to = h('input', { type: 'datetime-local', id: 'range-to', value: localInput(now) });
    const apply = (ev) => {
      ev.preventDefault();
      const [since, until] = [Date.parse(this.from.value), Date.parse(this.to.value)];
      if (!(since < until)) { note(this.status, 'The custom range must start before it ends.', true); return; }
      this.range = null; this.custom = [since, until]; this.load();
    };
    root.append(h('h1', {}, 'Overview'), this.tiles,
      h('form', { class: 'ranges', 'aria-label': 'Time range', onsubmit: apply }, this.buttons,
        field('From', this.from), field('To', this.to), h('button', { type: 'submit', id: 'range-apply' }, 'Apply')),
      this.status,
      h('div', { class: 'grid' },
        h('section', { class: 'card', 'aria-label': 'Events per interval' }, eps),
        h('section', { class: 'card', 'aria-label': 'Alerts by severity' }, alerts),
        h('section', { class: 'card', 'aria-label': 'Host' }, host),
        h('section', { class: 'card' }, h('h2', {}, 'Event types'), this.kinds),
        h('section', { class: 'card' }, h('h2', {}, 'Top source IPs'), this.ips),
        h('section', { class: 'card' }, h('h2', {}, 'Alerts by rule'), this.rulesList)));
    this.charts = [
      lineChart(eps, 'Events per interval', [
        { label: 'events', color: '--accent', value: (p) => p.events },
        { label: 'alerts & signals', color: '--red', value: (p) => p.signals },
        { label: 'telemetry', color: '--muted', value: (p) => p.telemetry, show: false },
      ]),
      lineChart(alerts, 'Alerts raised per interval, by severity', SEVERITIES.map((s) => ({ label: s, color: SEV_COLOR[s], value: (p) => p.sev[s] || 0 }))),
      lineChart(host, 'Host CPU and memory (%)', [
        { label: 'CPU % (mean)', color: '--blue', value: (p) => p.cpu },
        { label: 'CPU % (peak minute)', color: '--violet', value: (p) => p.cpuMax },
        { label: 'memory %', color: '--green', value: (p) => p.mem },
      ], { yRange: [0, 100] }),
    ];
    this.points = [];
    this.update(new Set(['all']));
    this.load();
    this.timer = setInterval(() => this.range && this.load(), 15000);
  },
  async load() {
    this.loadedAt = Date.now();
    for (const b of this.buttons) b.setAttribute('aria-pressed', String(this.range !== null && RANGES.find(([l]) => l === b.dataset.range)[1] === this.range));
    const until = this.custom ? this.custom[1] : Date.now();
    const since = this.custom ? this.custom[0] : until - this.range;
    try {
      this.hist = await api(`/api/v1/history?since=${Math.floor(since)}&until=${Math.ceil(until)}`);
    } catch (e) { if (this.tiles) note(this.status, e.message, true); return; }
    if (!this.tiles) return;
    this.points = points(this.hist);
    const step = this.hist.step_ms >= 3600e3 ? `${this.hist.step_ms / 3600e3} h` : `${this.hist.step_ms / 60e3} min`;
    this.status.textContent = `${new Date(since).toLocaleString()} – ${this.custom ? new Date(until).toLocaleString() : 'now'}, per ${step}.`;
    const kinds = {}; const rules = {};
    for (const p of this.hist.events) kinds[p.kind] = (kinds[p.kind] || 0) + p.n;
    for (const p of this.hist.alerts_by_rule) rules[p.rule] = (rules[p.rule] || 0) + p.n;
    this.kinds.replaceChildren(bars(kinds, 8, 'No events in this range.'));
    this.rulesList.replaceChildren(bars(rules, 8, 'No alerts in this range.'));
    const top = Object.fromEntries(this.hist.top_sources.items.map((x) => [x.ip, x.events]));
    this.ips.replaceChildren(bars(top, 10, 'No source addresses in this range.'));
    if (!this.hist.top_sources.complete) this.ips.append(h('p', { class: 'muted' }, 'Counted over the newest million events of the range.'));
    this.update(new Set(['history']));
  },
  update(what) {
    if (!this.tiles) return;
    const s = S.stats || {};
    // Live on top of the history: when the store has taken new events and
    // the range ends now, read the range again (at most every 3 s).
    if (this.range && what.has('stats') && s.events?.total !== this.seenTotal && Date.now() - (this.loadedAt || 0) > 3000) {
      this.seenTotal = s.events?.total;
      this.load();
    }
    const open = Object.values(s.alerts?.open_by_severity || {}).reduce((a, b) => a + b, 0);
    const inRange = (f) => this.points.reduce((a, p) => a + f(p), 0);
    this.tiles.replaceChildren(
      tile('events / s', num(s.events_per_second, 1), 'eps'),
      tile('events stored', num(s.events?.total), 'events'),
      tile('security events in range', num(inRange((p) => p.events + p.signals)), 'range-events'),
      tile('alerts in range', num(inRange((p) => Object.values(p.sev).reduce((a, b) => a + b, 0))), 'range-alerts'),
      tile('open alerts', num(open), 'open'),
      tile('active decisions', num(activeDecisions().length), 'decisions'),
      tile('host CPU %', num(S.host?.cpu_pct, 1), 'cpu'),
      tile('anomaly score', s.anomaly_score == null ? 'learning' : num(s.anomaly_score, 3), 'score'),
    );
    if (what.has('history') || what.has('theme') || what.has('all')) for (const c of this.charts) c.update(this.points, what.has('theme'));
  },
  leave() { clearInterval(this.timer); for (const c of this.charts || []) c.destroy(); this.tiles = null; },
};
