// Incidents: alerts grouped by attacker across rules and by campaign
// (GET /api/v1/incidents), and one incident's page: its timeline, alerts,
// the evidence events themselves, the decisions it caused, and one place to
// acknowledge, resolve or mitigate all of it.
import { S, h, api, isAdmin, changed } from './app.js';
import { time, dateTime, num, sev, get, summary, table, field, note, clickableRow, eventDetail } from './widgets.js';
import { incidentTriageOf } from './triage.js';

export const incidents = {
  title: 'Incidents',
  async render(root, id) {
    this.root = root;
    if (id) return this.show(id);
    this.status = h('select', { id: 'i-status' }, h('option', { value: 'open' }, 'open'), h('option', { value: '' }, 'any'),
      h('option', { value: 'acknowledged' }, 'acknowledged'), h('option', { value: 'resolved' }, 'resolved'));
    this.status.addEventListener('input', () => this.load());
    this.body = h('div');
    root.append(h('h1', {}, 'Incidents'),
      h('p', { class: 'muted' }, 'Alerts about one attacker across rules are one incident; addresses from one network block, or many raising the same rule at once, are a campaign.'),
      h('div', { class: 'filters' }, field('Status', this.status)), this.body);
    await this.load();
    this.timer = setInterval(() => this.load(), 10000);
  },
  async load() {
    const q = this.status.value ? `?status=${this.status.value}` : '';
    let r;
    try { r = await api(`/api/v1/incidents${q}`); } catch (e) { note(this.body, e.message, true); return; }
    if (!this.body) return;
    this.body.replaceChildren(table(['last seen', 'severity', 'incident', 'kind', 'alerts', 'events', 'status'], r.incidents.map((i) =>
      clickableRow({ 'data-incident': i.id }, () => { location.hash = `#/incidents/${encodeURIComponent(i.id)}`; },
        h('td', {}, time(i.last_seen_ms)), h('td', {}, sev(i.severity)),
        h('td', { class: 'wrap' }, h('a', { href: `#/incidents/${encodeURIComponent(i.id)}` }, i.title)),
        h('td', {}, i.kind), h('td', {}, num(i.alerts.length)), h('td', {}, num(i.events)), h('td', {}, i.status))),
    'No incidents with this status.'));
  },
  async show(id) {
    this.body = null;
    const root = this.root;
    // Answers arrive after the person may have moved on: draw only while
    // this incident is still the page shown.
    const here = () => location.hash === `#/incidents/${encodeURIComponent(id)}`;
    let r;
    try { r = await api(`/api/v1/incidents/${encodeURIComponent(id)}`); } catch (e) {
      if (!here()) return;
      root.replaceChildren(h('h1', {}, 'Incident'), h('p', { class: 'error' }, e.message), h('a', { href: '#/incidents' }, 'All incidents'));
      return;
    }
    if (!here()) return;
    const i = r.incident;
    const result = h('div', { id: 'incident-result' });
    const each = async (what, f) => {
      const done = []; const failed = [];
      for (const a of r.alerts) {
        try { done.push(await f(a)); } catch (e) { failed.push(`${a.id}: ${e.message}`); }
      }
      note(result, `${what}: ${done.filter(Boolean).length} of ${r.alerts.length} alerts.${failed.length ? ` Failed: ${failed.join('; ')}` : ''}`, failed.length > 0);
      changed('alert');
      setTimeout(() => here() && this.show(id).then(() => here() && root.querySelector('#incident-result')?.replaceWith(result)), 300);
    };
    const setAll = (status) => each(status === 'resolved' ? 'Resolved' : 'Acknowledged', async (a) => {
      if (a.status === status || a.status === 'resolved') return null;
      S.alerts.set(a.id, await api(`/api/v1/alerts/${encodeURIComponent(a.id)}`, { method: 'PATCH', body: { status } }));
      return a.id;
    });
    const mitigate = () => each('Mitigated', async (a) => {
      if (a.status === 'resolved') return null;
      const m = await api(`/api/v1/alerts/${encodeURIComponent(a.id)}/mitigate`, { method: 'POST' });
      return m.outcome;
    });
    const admin = isAdmin();
    const timeline = [
      ...r.alerts.map((a) => ({ t: a.first_seen_ms, text: h('span', {}, sev(a.severity), ` ${a.rule_id} on ${a.entity.field} ${a.entity.value}: ${a.title} (${num(a.count)} events)`) })),
      ...r.decisions.map((d) => ({ t: Date.parse(d.created), text: `${d.kind} ${d.value} by ${d.playbook || d.origin}${d.enforced ? ' (enforced)' : ' (observed)'}${d.active ? '' : ', no longer in force'}` })),
    ].sort((a, b) => a.t - b.t);
    const detail = h('div', { class: 'detail', id: 'incident-event' });
    root.replaceChildren(
      h('p', {}, h('a', { href: '#/incidents' }, '← All incidents')),
      h('h1', { tabindex: -1 }, i.title),
      h('p', {}, sev(i.severity), ` · ${i.kind} · ${i.status} · ${dateTime(i.first_seen_ms)} – ${dateTime(i.last_seen_ms)} · ${num(i.events)} events`, i.network ? ` · ${i.network}` : ''),
      h('p', { class: 'wrap' }, `Entities: ${i.entities.slice(0, 20).join(', ')}${i.entities.length > 20 ? ` and ${i.entities.length - 20} more` : ''}`),
      h('div', { class: 'row' },
        h('button', { type: 'button', disabled: !admin || i.status !== 'open', onclick: () => setAll('acknowledged') }, 'Acknowledge all'),
        h('button', { type: 'button', disabled: !admin || i.status === 'resolved', onclick: () => setAll('resolved') }, 'Resolve all'),
        h('button', { type: 'button', class: 'primary', disabled: !admin || i.status === 'resolved', onclick: mitigate }, 'Mitigate all'),
        admin ? null : h('span', { class: 'muted' }, 'Read-only: a reader cannot act.')),
      result,
      h('section', { class: 'card' }, h('h2', {}, 'Triage'), incidentTriageOf(id)),
      h('div', { class: 'grid' },
        h('section', { class: 'card' }, h('h2', {}, 'Timeline'), h('ol', { class: 'timeline' }, timeline.map((x) => h('li', {}, h('span', { class: 'muted' }, `${dateTime(x.t)} `), x.text)))),
        h('section', { class: 'card' }, h('h2', {}, 'Decisions'), r.decisions.length
          ? h('ul', {}, r.decisions.map((d) => h('li', { 'data-decision': d.value }, `${d.kind} ${d.value}: ${d.active ? 'in force' : 'ended'}, ${d.enforced ? 'enforced' : 'observe mode'}${d.reason ? ` — ${d.reason}` : ''}`)))
          : h('p', { class: 'muted' }, 'None yet.'))),
      h('h2', {}, 'Alerts'),
      table(['first seen', 'severity', 'rule', 'entity', 'events', 'status'], r.alerts.map((a) => h('tr', { 'data-alert-id': a.id },
        h('td', {}, time(a.first_seen_ms)), h('td', {}, sev(a.severity)), h('td', {}, h('a', { href: `#/alerts/${encodeURIComponent(a.id)}` }, a.rule_id)),
        h('td', {}, `${a.entity.field} ${a.entity.value}`), h('td', {}, num(a.count)), h('td', {}, a.status)))),
      h('h2', {}, `Evidence (${r.events.length}${r.evidence_total > r.events.length ? ` newest of ${r.evidence_total}` : ''})`),
      h('div', { class: 'split' }, table(['event', 'time', 'source', 'what'], r.events.map((e) => clickableRow({ 'data-event-id': e.id },
        () => detail.replaceChildren(eventDetail(e)),
        h('td', {}, e.id), h('td', {}, time(get(e, '@timestamp'))), h('td', {}, get(e, 'source.ip') || ''), h('td', { class: 'wrap' }, String(summary(e)).slice(0, 200)))),
      'No evidence events stored.'), detail));
    root.querySelector('h1')?.focus();
  },
  leave() { clearInterval(this.timer); this.body = null; },
};
