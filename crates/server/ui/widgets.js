// Small pieces every view draws with. Text only: `h` never parses HTML.
import { S, h } from './app.js';

export const time = (v) => (v ? new Date(v).toLocaleTimeString() : '');
export const dateTime = (v) => (v ? new Date(v).toLocaleString() : '');
/** Epoch ms as a `datetime-local` input's value, in local time. */
export const localInput = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60e3).toISOString().slice(0, 16);
export const num = (n, d = 0) => (n === null || n === undefined ? '–' : Number(n).toLocaleString(undefined, { maximumFractionDigits: d }));
export const sev = (s) => h('span', { class: `sev ${s}` }, s);
export const get = (o, path) => path.split('.').reduce((v, k) => (v == null ? v : v[k]), o);
export const kindOf = (e) => get(e, 'event.kind') || '';
/** Host and process measurements: arrive every few seconds, shown only when asked. */
export const isTelemetry = (e) => ['metric', 'state'].includes(kindOf(e));
export const verdict = (e) => (S.evidence.has(e.id) ? 'attack' : 'normal');
/** What an event says, in one line. */
export const summary = (e) => get(e, 'message') || get(e, 'event.action') || get(e, 'url.original') || get(e, 'flow.label') || '';

export function table(headers, rows, empty = 'Nothing yet.') {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, empty)))));
}

export function bars(counts, limit = 8, empty = 'Nothing yet.') {
  const top = Object.entries(counts).sort((a, b) => b[1] - a[1]).slice(0, limit);
  const max = Math.max(1, ...top.map(([, n]) => n));
  if (!top.length) return h('p', { class: 'muted' }, empty);
  return h('ul', { class: 'bars' }, top.map(([k, n]) => h('li', {},
    h('span', { class: 'k', title: k }, k),
    h('span', { class: 'bar', style: `width:${Math.max(2, (100 * n) / max)}%`, role: 'img', 'aria-label': `${k}: ${n}` }),
    h('span', { class: 'v' }, num(n)))));
}

export function tile(label, value, id) {
  return h('div', { class: 'card tile' }, h('div', { class: 'n', 'data-tile': id }, value), h('div', { class: 'l' }, label));
}

export function field(label, control) { return h('label', {}, label, control); }

export function note(el, text, isError = false) {
  el.replaceChildren(h('div', { class: isError ? 'error' : 'result', role: 'status' }, text));
}

/** A table row that opens `open()` on click or Enter. */
export function clickableRow(attrs, open, ...cells) {
  return h('tr', { ...attrs, class: `${attrs.class || ''} clickable`, tabindex: 0, onclick: open, onkeydown: (k) => k.key === 'Enter' && open() }, ...cells);
}

/** One event in full: its main fields, then the whole document. */
export function eventDetail(e) {
  const rows = [['time', dateTime(get(e, '@timestamp'))], ['kind', kindOf(e)], ['action', get(e, 'event.action')],
    ['outcome', get(e, 'event.outcome')], ['source', get(e, 'source.ip')], ['user', get(e, 'user.name')],
    ['url', get(e, 'url.original')], ['message', get(e, 'message')]].filter(([, v]) => v);
  return h('section', { class: 'card', 'data-event-detail': e.id },
    h('h2', { tabindex: -1 }, `Event ${e.id}`),
    h('dl', { class: 'kv' }, rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))])),
    h('pre', {}, JSON.stringify(e, null, 2)));
}

export const activeDecisions = () => [...S.decisions.values()].filter((d) => d.active);
