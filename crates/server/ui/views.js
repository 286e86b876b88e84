// The dashboard's views. Each draws its controls once in `render` and its
// data in `update`, so typing in a filter is never interrupted by a redraw.
import { S, h, api, isAdmin, confirmAction, changed } from './app.js';
import { overview, points } from './overview.js';
import { lineChart } from './charts.js';
import { search } from './search.js';
import { incidents } from './incidents.js';
import { triageOf } from './triage.js';
import {
  time, num, sev, get, kindOf, isTelemetry, verdict, summary, table, bars, tile, field, note, clickableRow, eventDetail, activeDecisions,
} from './widgets.js';

// ---- live stream ------------------------------------------------------------

const stream = {
  title: 'Live stream',
  paused: false,
  render(root) {
    // Security events by default: the host's own samples arrive every two
    // seconds and would bury everything else.
    this.kind = h('select', { id: 'f-kind' }, h('option', { value: 'security' }, 'security events'), h('option', { value: '' }, 'any, telemetry too'),
      ['event', 'alert', 'signal', 'metric', 'state'].map((k) => h('option', { value: k }, k)));
    this.source = h('input', { id: 'f-source', placeholder: 'e.g. 203.0.113.7', size: 16 });
    this.verdict = h('select', { id: 'f-verdict' }, h('option', { value: '' }, 'any'), h('option', { value: 'attack' }, 'attack'), h('option', { value: 'normal' }, 'normal'));
    this.pause = h('button', { type: 'button', 'aria-pressed': 'false', onclick: () => {
      this.paused = !this.paused;
      this.pause.textContent = this.paused ? 'Resume' : 'Pause';
      this.pause.setAttribute('aria-pressed', String(this.paused));
      if (!this.paused) this.update(new Set(['all']));
    } }, 'Pause');
    for (const c of [this.kind, this.source, this.verdict]) c.addEventListener('input', () => this.update(new Set(['all']), true));
    this.summary = h('div', { class: 'tiles' });
    this.dist = h('div', { class: 'grid' });
    this.body = h('div');
    this.detail = h('div', { class: 'detail', id: 'event-detail' });
    root.append(h('h1', {}, 'Live stream'), this.summary,
      h('div', { class: 'filters' }, field('Kind', this.kind), field('Source IP', this.source), field('Verdict', this.verdict), this.pause,
        h('a', { href: '#/search' }, 'Search stored events')),
      h('div', { class: 'split' }, this.body, this.detail), this.dist);
    this.update(new Set(['all']));
    this.backfill();
  },
  /** The newest stored security events, so the page does not open empty. */
  async backfill() {
    try {
      const page = await api('/api/v1/events?kind=event&limit=200');
      const known = new Set(S.events.map((e) => e.id));
      S.events.push(...page.events.filter((e) => !known.has(e.id)));
      S.events.sort((a, b) => b.id - a.id);
      if (S.events.length > 500) S.events.length = 500;
      changed('event');
    } catch (e) { note(this.detail, e.message, true); }
  },
  update(what, force = false) {
    if (!this.body) return;
    const s = S.stats || {};
    const kind = this.kind.value;
    const src = this.source.value.trim();
    const want = this.verdict.value;
    const matching = S.events.filter((e) => (kind === 'security' ? !isTelemetry(e) : !kind || kindOf(e) === kind)
      && (!src || String(get(e, 'source.ip') || '').includes(src)) && (!want || verdict(e) === want));
    const recent = S.events.filter((e) => !isTelemetry(e)).slice(0, 200);
    const attacks = recent.filter((e) => verdict(e) === 'attack').length;
    const rows = matching.slice(0, 100);
    this.summary.replaceChildren(
      tile('throughput (events/s)', num(s.events_per_second, 1), 'stream-eps'),
      tile('attack rate (last 200 security events)', recent.length ? `${num((100 * attacks) / recent.length, 1)} %` : '–', 'attack-rate'),
      tile('events shown', `${num(rows.length)} of ${num(matching.length)}`, 'shown'));
    if (this.paused && !force) return;
    this.body.replaceChildren(table(['time', 'verdict', 'kind', 'source', 'destination', 'what'], rows.map((e) => {
      const v = verdict(e);
      const open = () => { this.detail.replaceChildren(eventDetail(e)); this.detail.querySelector('h2')?.focus(); };
      return clickableRow({ class: v, 'data-event-id': e.id }, open,
        h('td', {}, time(get(e, '@timestamp'))), h('td', {}, v), h('td', {}, kindOf(e)),
        h('td', {}, [get(e, 'source.ip'), get(e, 'source.port')].filter(Boolean).join(':')),
        h('td', {}, [get(e, 'destination.ip'), get(e, 'destination.port')].filter(Boolean).join(':')),
        h('td', { class: 'wrap' }, String(summary(e)).slice(0, 160)));
    }), S.events.length ? 'No events match these filters.' : 'Nothing yet.'));
    const protocols = {}; const services = {};
    for (const e of recent.filter((x) => get(x, 'flow') || get(x, 'network.transport'))) {
      const p = get(e, 'network.transport') || 'unknown';
      protocols[p] = (protocols[p] || 0) + 1;
      const svc = get(e, 'flow.attributes.service') || get(e, 'destination.port') || 'unknown';
      services[svc] = (services[svc] || 0) + 1;
    }
    this.dist.replaceChildren(
      h('section', { class: 'card' }, h('h2', {}, 'Flows by protocol'), bars(protocols)),
      h('section', { class: 'card' }, h('h2', {}, 'Flows by service'), bars(services)));
  },
  leave() { this.body = null; },
};

// ---- alerts -----------------------------------------------------------------

const alerts = {
  title: 'Alerts',
  async render(root, id) {
    this.severity = h('select', { id: 'a-severity' }, h('option', { value: '' }, 'any'), ['critical', 'high', 'medium', 'low', 'info'].map((s) => h('option', { value: s }, s)));
    this.status = h('select', { id: 'a-status' }, h('option', { value: '' }, 'any'), ['open', 'acknowledged', 'resolved'].map((s) => h('option', { value: s }, s)));
    this.rule = h('input', { id: 'a-rule', placeholder: 'rule id', size: 18 });
    this.text = h('input', { id: 'a-text', placeholder: 'title, entity…', size: 18 });
    for (const c of [this.severity, this.status, this.rule, this.text]) c.addEventListener('input', () => this.update(new Set(['all'])));
    this.body = h('div');
    this.detail = h('div', { class: 'detail', id: 'alert-detail' });
    root.append(h('h1', {}, 'Alerts'),
      h('div', { class: 'filters' }, field('Severity', this.severity), field('Status', this.status), field('Rule', this.rule), field('Text', this.text)),
      this.body, this.detail);
    try {
      const page = await api('/api/v1/alerts?limit=500');
      for (const a of page.alerts) S.alerts.set(a.id, a);
    } catch (e) { note(this.detail, e.message, true); }
    this.update(new Set(['all']));
    if (id) this.show(id);
  },
  update() {
    if (!this.body) return;
    const [sv, st, rule, text] = [this.severity.value, this.status.value, this.rule.value.trim(), this.text.value.trim().toLowerCase()];
    const list = [...S.alerts.values()].sort((a, b) => (a.id < b.id ? 1 : -1)).filter((a) => (!sv || a.severity === sv) && (!st || a.status === st)
      && (!rule || a.rule_id.includes(rule)) && (!text || `${a.title} ${a.entity.value} ${a.description}`.toLowerCase().includes(text))).slice(0, 200);
    this.body.replaceChildren(table(['last seen', 'severity', 'rule', 'entity', 'count', 'status', ''], list.map((a) =>
      h('tr', { 'data-alert-id': a.id },
        h('td', {}, time(a.last_seen_ms)), h('td', {}, sev(a.severity)), h('td', {}, a.rule_id),
        h('td', {}, `${a.entity.field} ${a.entity.value}`), h('td', {}, num(a.count)), h('td', {}, a.status),
        h('td', {}, h('button', { type: 'button', onclick: () => this.show(a.id) }, 'Details')))), 'No alerts match.'));
    if (this.shown && S.alerts.has(this.shown) && !this.busy) this.drawDetail(S.alerts.get(this.shown));
  },
  async show(id) {
    this.shown = id;
    this.triageShown = null;
    try {
      const a = await api(`/api/v1/alerts/${encodeURIComponent(id)}`);
      S.alerts.set(a.id, a);
      this.drawDetail(a);
      this.detail.querySelector('h2')?.focus();
    } catch (e) { note(this.detail, e.message, true); }
  },
  drawDetail(a) {
    // The result of the last action outlives redraws of the detail.
    const result = (this.shownResult?.id === a.id && this.shownResult.el) || h('div', { id: 'alert-result' });
    this.shownResult = { id: a.id, el: result };
    const set = async (status) => {
      try { S.alerts.set(a.id, await api(`/api/v1/alerts/${encodeURIComponent(a.id)}`, { method: 'PATCH', body: { status } })); changed('alert'); } catch (e) { note(result, e.message, true); }
    };
    const mitigate = async () => {
      this.busy = true;
      try {
        const r = await api(`/api/v1/alerts/${encodeURIComponent(a.id)}/mitigate`, { method: 'POST' });
        const d = r.decision;
        const said = r.outcome === 'notified' ? `Playbook ${r.playbook} sent the alert to ${r.sink}.`
          : `${r.outcome === 'already_active' ? 'Already in force' : 'Done'}: playbook ${r.playbook}, decision ${d.id} — ${d.kind} ${d.value}`
            + `${d.enforced ? ' (enforced)' : ' (observe mode: recorded, not applied)'}${d.remaining_secs ? `, ${d.remaining_secs} s left` : ''}.`;
        result.replaceChildren(h('div', { class: 'result', role: 'status' }, said,
          h('ul', {}, (r.actions || []).map((x) => h('li', {}, `${x.enforcer} ${x.op}: ${x.result}${x.detail ? ` — ${x.detail}` : ''}`)))));
      } catch (e) { note(result, e.message, true); } finally { this.busy = false; }
    };
    const admin = isAdmin();
    const ctx = a.context ? h('pre', {}, JSON.stringify(a.context, null, 2)) : null;
    this.detail.replaceChildren(h('section', { class: 'card' },
      h('h2', { tabindex: -1 }, `${a.title}`),
      h('p', {}, sev(a.severity), ` · ${a.rule_id} · ${a.entity.field} ${a.entity.value} · ${a.status}`, a.technique ? ` · ATT&CK ${a.technique}` : ''),
      h('p', { class: 'wrap' }, a.description),
      h('p', {}, `${num(a.count)} events from ${time(a.first_seen_ms)} to ${time(a.last_seen_ms)}.`),
      ctx,
      h('div', { class: 'row' },
        // Only what can still be done: an acknowledged alert offers no Acknowledge.
        a.status === 'open' ? h('button', { type: 'button', disabled: !admin, onclick: () => set('acknowledged') }, 'Acknowledge') : null,
        a.status !== 'resolved' ? h('button', { type: 'button', disabled: !admin, onclick: () => set('resolved') }, 'Resolve')
          : h('button', { type: 'button', disabled: !admin, onclick: () => set('open') }, 'Reopen'),
        h('button', { type: 'button', class: 'primary', disabled: !admin || a.status === 'resolved', onclick: mitigate }, 'Mitigate'),
        admin ? null : h('span', { class: 'muted' }, 'Read-only: a reader cannot act.')),
      result,
      h('h3', {}, 'Triage'), this.triageFor(a),
      h('h3', {}, 'Evidence'), this.evidenceOf(a)));
  },
  /** The triage section, fetched once per alert shown (redraws keep it). */
  triageFor(a) {
    if (this.triageShown?.id !== a.id) this.triageShown = { id: a.id, el: triageOf(a) };
    return this.triageShown.el;
  },
  /** The alert's evidence events themselves, fetched once per alert. */
  evidenceOf(a) {
    const ids = (a.evidence || []).slice(-10).reverse();
    if (!ids.length) return h('p', { class: 'muted' }, 'No evidence events recorded.');
    this.evidenceCache ||= new Map();
    const key = `${a.id}:${ids.join(',')}`;
    if (!this.evidenceCache.has(key)) {
      const el = h('div', { class: 'evidence' }, h('p', { class: 'muted' }, 'Loading…'));
      this.evidenceCache.set(key, el);
      Promise.all(ids.map((id) => api(`/api/v1/events/${id}`).catch(() => ({ id, missing: true })))).then((events) => {
        el.replaceChildren(table(['event', 'time', 'source', 'what'], events.map((e) => h('tr', { 'data-evidence': e.id },
          h('td', {}, e.id), h('td', {}, e.missing ? '' : time(get(e, '@timestamp'))), h('td', {}, get(e, 'source.ip') || ''),
          h('td', { class: 'wrap' }, e.missing ? 'no longer stored (past retention)' : String(summary(e)).slice(0, 200))))),
        (a.evidence || []).length > ids.length ? h('p', { class: 'muted' }, `The newest ${ids.length} of ${a.evidence.length} evidence events.`) : null);
      });
    }
    return this.evidenceCache.get(key);
  },
  leave() { this.body = null; this.shown = null; },
};

// ---- decisions --------------------------------------------------------------

const decisions = {
  title: 'Decisions',
  async render(root) {
    this.value = h('input', { id: 'd-value', required: true, placeholder: '203.0.113.7 or 198.51.100.0/24', size: 24 });
    this.duration = h('input', { id: 'd-duration', value: '1h', size: 6 });
    this.reason = h('input', { id: 'd-reason', placeholder: 'why', size: 20 });
    this.result = h('div', { id: 'decision-result' });
    const ban = async (ev) => {
      ev.preventDefault();
      try {
        const d = await api('/api/v1/decisions', { method: 'POST', body: { value: this.value.value.trim(), duration: this.duration.value.trim() || undefined, reason: this.reason.value.trim() || undefined } });
        S.decisions.set(d.id, d);
        note(this.result, `Banned ${d.value}${d.enforced ? '' : ' (observe mode: recorded, not applied)'}.`);
        this.value.value = '';
        this.update();
      } catch (e) { note(this.result, e.message, true); }
    };
    this.body = h('div');
    root.append(h('h1', {}, 'Decisions'),
      isAdmin() ? h('form', { class: 'filters', onsubmit: ban, 'aria-label': 'Ban an address' },
        field('Address or network', this.value), field('Duration', this.duration), field('Reason', this.reason),
        h('button', { type: 'submit', class: 'primary' }, 'Ban')) : h('p', { class: 'muted' }, 'Read-only: a reader cannot ban or unban.'),
      this.result, this.body);
    try {
      const list = await api('/api/v1/decisions?limit=500');
      for (const d of list.decisions) S.decisions.set(d.id, d);
    } catch (e) { note(this.result, e.message, true); }
    this.update();
    this.timer = setInterval(() => this.update(), 1000);
  },
  update() {
    if (!this.body) return;
    const now = Date.now();
    const left = (d) => {
      if (!d.expires) return 'until lifted';
      const s = Math.max(0, Math.round((Date.parse(d.expires) - now) / 1000));
      return s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min` : s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
    };
    const list = activeDecisions().filter((d) => !d.expires || Date.parse(d.expires) > now).sort((a, b) => b.id - a.id);
    this.body.replaceChildren(table(['id', 'kind', 'target', 'time left', 'origin', 'enforced', 'reason', ''], list.map((d) =>
      h('tr', { 'data-decision': d.value },
        h('td', {}, d.id), h('td', {}, d.kind), h('td', {}, d.value), h('td', {}, left(d)), h('td', {}, d.origin),
        h('td', {}, d.enforced ? 'yes' : 'observed'), h('td', { class: 'wrap' }, d.reason),
        h('td', {}, isAdmin() ? h('button', { type: 'button', 'aria-label': `Unban ${d.value}`, onclick: () => this.unban(d) }, 'Unban') : null))), 'No active decisions.'));
  },
  async unban(d) {
    if (!(await confirmAction('Lift this decision?', `${d.kind} on ${d.value} ends now.`, 'Unban'))) return;
    try {
      await api(`/api/v1/decisions/${d.id}`, { method: 'DELETE' });
      S.decisions.set(d.id, { ...d, active: false });
      note(this.result, `Lifted ${d.kind} on ${d.value}.`);
      this.update();
    } catch (e) { note(this.result, e.message, true); }
  },
  leave() { clearInterval(this.timer); this.body = null; },
};

// ---- actions ----------------------------------------------------------------

const actions = {
  title: 'Actions',
  async render(root) {
    this.body = h('div');
    root.append(h('h1', {}, 'Actions'), h('p', { class: 'muted' }, 'The audit trail: every attempt to apply or lift a decision, and its result.'), this.body);
    try {
      const page = await api('/api/v1/actions?limit=200');
      const seen = new Set(S.actions.map((a) => a.id));
      S.actions.push(...page.actions.filter((a) => !seen.has(a.id)));
      S.actions.sort((a, b) => b.id - a.id);
    } catch (e) { note(this.body, e.message, true); return; }
    this.update();
  },
  update() {
    if (!this.body) return;
    this.body.replaceChildren(table(['id', 'time', 'decision', 'enforcer', 'operation', 'result', 'detail'], S.actions.slice(0, 300).map((a) =>
      h('tr', {}, h('td', {}, a.id), h('td', {}, time(a.at)), h('td', {}, a.decision_id), h('td', {}, a.enforcer), h('td', {}, a.op),
        h('td', {}, a.result), h('td', { class: 'wrap' }, a.detail)))));
  },
  leave() { this.body = null; },
};

// ---- host -------------------------------------------------------------------

const host = {
  title: 'Host',
  render(root) {
    this.info = h('div', { class: 'tiles' });
    this.body = h('div');
    this.result = h('div', { id: 'kill-result' });
    const chart = h('div', { class: 'chart' });
    root.append(h('h1', {}, 'Host'), this.info, h('section', { class: 'card', 'aria-label': 'Host over the last hour' }, chart),
      h('h2', {}, 'Top processes'), this.result, this.body);
    this.chart = lineChart(chart, 'CPU, memory and load, last hour (per minute, from the store)', [
      { label: 'CPU % (mean)', color: '--blue', value: (p) => p.cpu },
      { label: 'CPU % (peak minute)', color: '--violet', value: (p) => p.cpuMax },
      { label: 'memory %', color: '--green', value: (p) => p.mem },
    ], { yRange: [0, 100] });
    this.load();
    this.loadHistory();
    this.timer = setInterval(() => this.load(), 2000);
    this.historyTimer = setInterval(() => this.loadHistory(), 15000);
  },
  async loadHistory() {
    const until = Date.now();
    try {
      const hist = await api(`/api/v1/history?since=${until - 3600e3}&until=${until}`);
      if (this.body) this.chart.update(points(hist));
    } catch (e) { if (this.body) note(this.result, e.message, true); }
  },
  async load() {
    try { this.procs = await api('/api/v1/processes'); } catch (e) { note(this.result, e.message, true); return; }
    this.update();
  },
  update() {
    if (!this.body) return;
    const x = S.host || {};
    this.info.replaceChildren(tile('CPU %', num(x.cpu_pct, 1), 'host-cpu'), tile('memory %', num(x.memory_pct, 1), 'host-mem'),
      tile('load (1 min)', num(x.load1, 2), 'host-load'), tile('processes', num(x.processes), 'host-procs'),
      tile('anomaly score', S.stats?.anomaly_score == null ? 'learning' : num(S.stats.anomaly_score, 3), 'host-score'));
    const list = this.procs?.processes || [];
    this.body.replaceChildren(table(['pid', 'name', 'user', 'CPU %', 'memory', 'command', ''], list.map((p) =>
      h('tr', { 'data-pid': p.pid },
        h('td', {}, p.pid), h('td', {}, p.name), h('td', {}, p.user || ''), h('td', {}, num(p.cpu_pct, 1)),
        h('td', {}, `${num((p.rss_bytes || 0) / 1048576, 1)} MiB`), h('td', { class: 'wrap' }, (p.command_line || '').slice(0, 120)),
        h('td', {}, isAdmin() && p.killable !== false ? h('button', { type: 'button', class: 'danger', 'aria-label': `Kill ${p.name} (pid ${p.pid})`, onclick: () => this.kill(p) }, 'Kill') : null))),
    this.procs ? 'No process samples yet (is the host source on?).' : 'Loading…'));
  },
  async kill(p) {
    if (!(await confirmAction(`Kill ${p.name}?`, `pid ${p.pid}: SIGTERM, then SIGKILL after the grace period. This is audited.`, 'Kill'))) return;
    try {
      const r = await api(`/api/v1/processes/${p.pid}/kill`, { method: 'POST', body: { reason: 'killed from the dashboard', start_ticks: p.start_ticks ?? undefined } });
      note(this.result, `Kill of pid ${p.pid} (${p.name}) ${r.enforced ? 'sent' : 'recorded in observe mode, not applied'}: decision ${r.id}.`);
    } catch (e) { note(this.result, e.message, true); }
  },
  leave() { clearInterval(this.timer); clearInterval(this.historyTimer); this.chart?.destroy(); this.body = null; },
};

// ---- models -----------------------------------------------------------------

const models = {
  title: 'Models',
  async render(root) {
    const body = h('div');
    root.append(h('h1', {}, 'Models'), body);
    try {
      const r = await api('/api/v1/models');
      const m = (x) => x.metrics || {};
      const pct = (v) => (v == null ? '–' : `${num(100 * v, 2)} %`);
      body.append(h('p', {}, `Active: ${r.live.active || 'none'} · shadow: ${r.live.shadow || 'none'}`),
        table(['name', 'role', 'algorithm', 'classes', 'accuracy', 'recall', 'FPR', 'ROC AUC', 'added'], r.models.map((x) =>
          h('tr', {}, h('td', {}, x.name), h('td', {}, x.role || '—'), h('td', {}, x.algo), h('td', { class: 'wrap' }, x.classes.join(', ')),
            h('td', {}, pct(m(x).accuracy)), h('td', {}, pct(m(x).recall)), h('td', {}, pct(m(x).fpr)), h('td', {}, num(m(x).roc_auc, 4)),
            h('td', {}, new Date(x.added_ms).toLocaleString()))), 'No models registered: rampart train flows, then rampart models add.'));
    } catch (e) { note(body, e.message, true); }
  },
};

// ---- rules ------------------------------------------------------------------

const rules = {
  title: 'Rules',
  async render(root) {
    this.text = h('input', { id: 'r-text', placeholder: 'id or title', size: 20 });
    this.text.addEventListener('input', () => this.update());
    this.body = h('div');
    root.append(h('h1', {}, 'Rules'), h('div', { class: 'filters' }, field('Filter', this.text)), this.body);
    await this.load();
    this.timer = setInterval(() => this.load(), 5000);
  },
  async load() {
    try { this.rules = (await api('/api/v1/rules')).rules; } catch (e) { note(this.body, e.message, true); return; }
    this.update();
  },
  update() {
    if (!this.body || !this.rules) return;
    const t = this.text.value.trim().toLowerCase();
    const list = this.rules.filter((r) => !t || `${r.id} ${r.title || ''}`.toLowerCase().includes(t)).sort((a, b) => b.alerts - a.alerts || a.id.localeCompare(b.id));
    // The severities its alerts had (a grading detector raises several),
    // else the one the rule file gives.
    const order = ['critical', 'high', 'medium', 'low', 'info'];
    const severities = (r) => {
      const seen = Object.entries(r.by_severity || {}).sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]));
      if (!seen.length) return r.severity ? sev(r.severity) : '';
      return h('span', { class: 'row' }, seen.map(([s, n]) => h('span', {}, sev(s), ` ×${num(n)}`)));
    };
    this.body.replaceChildren(table(['rule', 'title', 'what it tests', 'severity', 'ATT&CK', 'alerts', 'events', 'last fired'], list.map((r) =>
      h('tr', { 'data-rule': r.id }, h('td', {}, r.id), h('td', { class: 'wrap' }, r.title || '(made by a detector)'),
        h('td', { class: 'wrap logic' }, r.logic || ''), h('td', {}, severities(r)),
        h('td', {}, r.technique || ''), h('td', {}, num(r.alerts)), h('td', {}, num(r.events)), h('td', {}, r.last_seen ? time(r.last_seen) : 'never')))));
  },
  leave() { clearInterval(this.timer); this.body = null; },
};

export const views = { overview, incidents, stream, search, alerts, decisions, actions, host, models, rules };
