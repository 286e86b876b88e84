// Search over stored events (GET /api/v1/events): text, kind, source address
// and a time range, newest first, a page at a time; a row's detail beside it.
import { h, api } from './app.js';
import { time, get, kindOf, summary, table, field, note, clickableRow, eventDetail, localInput } from './widgets.js';


export const search = {
  title: 'Search',
  render(root) {
    this.text = h('input', { id: 's-text', placeholder: 'words in the message', size: 22 });
    this.kind = h('select', { id: 's-kind' }, h('option', { value: '' }, 'any'), ['event', 'alert', 'signal', 'metric', 'state'].map((k) => h('option', { value: k }, k)));
    this.ip = h('input', { id: 's-ip', placeholder: '203.0.113.7', size: 16 });
    this.since = h('input', { id: 's-since', type: 'datetime-local', value: localInput(Date.now() - 86400e3) });
    this.until = h('input', { id: 's-until', type: 'datetime-local' });
    this.status = h('p', { class: 'muted', id: 'search-status', 'aria-live': 'polite' });
    this.body = h('div');
    this.detail = h('div', { class: 'detail', id: 'search-detail' });
    this.more = h('button', { type: 'button', id: 's-more', hidden: true, onclick: () => this.page() }, 'Older results');
    const submit = (ev) => { ev.preventDefault(); this.start(); };
    root.append(h('h1', {}, 'Search'),
      h('form', { class: 'filters', role: 'search', onsubmit: submit },
        field('Text', this.text), field('Kind', this.kind), field('Source IP', this.ip), field('From', this.since), field('To', this.until),
        h('button', { type: 'submit', class: 'primary', id: 's-go' }, 'Search')),
      this.status, h('div', { class: 'split' }, h('div', {}, this.body, this.more), this.detail));
    this.start();
  },
  start() {
    this.rows = [];
    this.cursor = null;
    this.detail.replaceChildren();
    this.page();
  },
  async page() {
    const q = new URLSearchParams({ limit: '100' });
    const text = this.text.value.trim();
    const ip = this.ip.value.trim();
    if (text) q.set('text', text);
    if (this.kind.value) q.set('kind', this.kind.value);
    if (ip) q.set('source.ip', ip);
    if (this.since.value) q.set('since', String(Date.parse(this.since.value)));
    if (this.until.value) q.set('until', String(Date.parse(this.until.value)));
    if (this.cursor) q.set('cursor', this.cursor);
    let page;
    try { page = await api(`/api/v1/events?${q}`); } catch (e) { note(this.status, e.message, true); return; }
    if (!this.body) return;
    this.rows.push(...page.events);
    this.cursor = page.next_cursor;
    this.more.hidden = !this.cursor;
    this.status.textContent = `${this.rows.length} event${this.rows.length === 1 ? '' : 's'}${this.cursor ? ' so far (older ones on request)' : ''}.`;
    this.body.replaceChildren(table(['id', 'time', 'kind', 'source', 'what'], this.rows.map((e) => clickableRow({ 'data-event-id': e.id },
      () => { this.detail.replaceChildren(eventDetail(e)); this.detail.querySelector('h2')?.focus(); },
      h('td', {}, e.id), h('td', {}, `${new Date(get(e, '@timestamp')).toLocaleDateString()} ${time(get(e, '@timestamp'))}`), h('td', {}, kindOf(e)),
      h('td', {}, get(e, 'source.ip') || ''), h('td', { class: 'wrap' }, String(summary(e)).slice(0, 200)))), 'No stored event matches.'));
  },
  leave() { this.body = null; },
};
