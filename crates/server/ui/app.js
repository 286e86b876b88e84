// Rampart dashboard: the session, the live stream, the shared state and the
// router. Views (views.js) draw from `S` and are re-drawn when it changes.
// Data is only ever put into the page as text (`h`), never as HTML: events
// carry attackers' strings.
import { views } from './views.js';

export const S = {
  role: null,
  events: [],              // newest first
  alerts: new Map(),       // id → alert
  decisions: new Map(),    // id → decision (as the API renders it)
  actions: [],             // newest first
  evidence: new Set(),     // event ids some alert stands on: the attack verdict
  stats: null,
  host: null,
  history: [],             // one point a second for the charts
  loadedAt: Date.now(),
};
const MAX_EVENTS = 500;
const MAX_ACTIONS = 500;
const MAX_POINTS = 300;

/** `h('td', {class: 'x', onclick: f}, 'text', child)`: an element, text-only. */
export function h(tag, attrs = {}, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

/** A JSON call to the API with the session cookie; throws the server's message. */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') headers['x-rampart-csrf'] = '1';
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) { showLogin('Your session has ended; sign in again.'); throw new Error('not signed in'); }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error((data && data.error) || `${res.status} ${res.statusText}`);
  return data;
}

export const isAdmin = () => S.role === 'admin';

/** A confirmation in an accessible <dialog>; resolves true on confirm. */
export function confirmAction(title, text, ok = 'Confirm') {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = ok;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = 'cancel';
    dialog.showModal();
  });
}

// ---- live stream ----------------------------------------------------------

let source = null;
let retry = null;

function connect() {
  if (source) source.close();
  setConn('connecting…');
  source = new EventSource('/api/v1/live');
  source.onopen = () => setConn('live');
  source.onerror = () => {
    // The browser retries by itself after a dropped connection; a refused
    // one (CLOSED) we retry here, after checking the session still holds.
    if (source.readyState === EventSource.CLOSED) {
      setConn('reconnecting…');
      clearTimeout(retry);
      retry = setTimeout(() => session().then((ok) => ok && connect()), 2000);
    } else {
      setConn('reconnecting…');
    }
  };
  const on = (name, f) => source.addEventListener(name, (m) => { f(JSON.parse(m.data)); changed(name); });
  // A stored page fetched by a view can hold what the stream then sends
  // too: by id, each is listed once.
  on('event', (e) => {
    if (e.id != null && S.events.some((x) => x.id === e.id)) return;
    S.events.unshift(e);
    if (S.events.length > MAX_EVENTS) S.events.length = MAX_EVENTS;
  });
  on('alert', (a) => {
    const known = S.alerts.has(a.id);
    S.alerts.set(a.id, a);
    for (const id of a.evidence || []) S.evidence.add(id);
    if (!known && a.status === 'open' && (a.severity === 'high' || a.severity === 'critical') && a.created_ms > S.loadedAt - 5000) banner(a);
  });
  on('decision', (d) => S.decisions.set(d.id, d));
  on('action', (a) => {
    if (S.actions.some((x) => x.id === a.id)) return;
    S.actions.unshift(a);
    if (S.actions.length > MAX_ACTIONS) S.actions.length = MAX_ACTIONS;
  });
  on('host', (host) => { S.host = host; });
  on('stats', (s) => {
    S.stats = s;
    const last = S.history[S.history.length - 1];
    const host = S.host && Date.now() - S.host.at_ms < 30000 ? S.host : null;
    if (!last || s.at_ms - last.t * 1000 >= 900) {
      S.history.push({
        t: s.at_ms / 1000,
        eps: s.events_per_second,
        sev: { ...s.alerts.by_severity },
        cpu: host ? host.cpu_pct : null,
        mem: host ? host.memory_pct : null,
        score: s.anomaly_score,
      });
      if (S.history.length > MAX_POINTS) S.history.shift();
    }
    statusLight(s);
  });
}

function setConn(text) { document.getElementById('conn').textContent = text; }

function statusLight(s) {
  const open = s.alerts.open_by_severity || {};
  const n = (k) => open[k] || 0;
  const el = document.getElementById('status');
  const total = Object.values(open).reduce((a, b) => a + b, 0);
  const level = n('critical') + n('high') > 0 ? 'red' : total > 0 ? 'amber' : 'green';
  el.className = `status ${level}`;
  el.textContent = level === 'green' ? 'All clear' : `${total} open alert${total === 1 ? '' : 's'}`;
  el.dataset.level = level;
}

function banner(alert) {
  const el = document.getElementById('banner');
  el.replaceChildren(
    h('span', {}, `New ${alert.severity} alert: ${alert.title} (${alert.entity.field} ${alert.entity.value})`),
    h('a', { href: `#/alerts/${alert.id}` }, 'Open it'),
    h('button', { type: 'button', onclick: () => { el.hidden = true; } }, 'Dismiss'),
  );
  el.hidden = false;
}

// ---- redraws --------------------------------------------------------------

let dirty = new Set();
let scheduled = false;

/** Something in `S` changed: the current view redraws at most 4 times a second. */
export function changed(what) {
  dirty.add(what);
  if (scheduled) return;
  scheduled = true;
  setTimeout(() => {
    scheduled = false;
    const what = dirty;
    dirty = new Set();
    current?.update?.(what);
  }, 250);
}

// ---- session and routing --------------------------------------------------

let current = null;
// Bumped by every sign-in and sign-out. A session check answers for the
// cookie it was sent with: one sent before a sign-in (the check at page
// load, while the person was already typing a token) must not sign the new
// session out when its late "no session" arrives. That race made the
// reader's dashboard test flaky.
let signIns = 0;

async function session() {
  const asked = signIns;
  const res = await fetch('/ui/session', { credentials: 'same-origin' }).catch(() => null);
  if (asked !== signIns) return !!S.role;
  if (!res || !res.ok) return true; // server down or starting: keep trying to reconnect
  const me = await res.json();
  if (asked !== signIns) return !!S.role;
  if (!me.role) { showLogin(S.role ? 'Your session has ended; sign in again.' : ''); return false; }
  S.role = me.role;
  document.getElementById('role').textContent = me.role;
  return true;
}

function showLogin(message = '') {
  if (source) { source.close(); source = null; }
  S.role = null;
  document.getElementById('login').hidden = false;
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('role').textContent = '';
  document.getElementById('view').replaceChildren();
  document.getElementById('login-error').textContent = message;
  document.getElementById('token').focus();
}

async function start() {
  document.getElementById('login').hidden = true;
  document.getElementById('nav').hidden = false;
  document.getElementById('logout').hidden = false;
  connect();
  route();
}

function route() {
  if (!S.role) return;
  const [name, arg] = location.hash.replace(/^#\/?/, '').split('/');
  const view = views[name] || views.overview;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === `#/${views[name] ? name : 'overview'}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  current?.leave?.();
  current = view;
  const root = document.getElementById('view');
  root.replaceChildren();
  view.render(root, arg ? decodeURIComponent(arg) : undefined);
  document.title = `Rampart · ${view.title}`;
}

function theme(next) {
  document.documentElement.dataset.theme = next;
  localStorage.setItem('rampart-theme', next);
  changed('theme');
}

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', async () => {
  const saved = localStorage.getItem('rampart-theme');
  document.documentElement.dataset.theme = saved || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
  document.getElementById('theme').addEventListener('click', () => theme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark'));
  document.getElementById('logout').addEventListener('click', async () => {
    signIns += 1;
    await fetch('/ui/logout', { method: 'POST', credentials: 'same-origin' });
    showLogin('Signed out.');
  });
  document.getElementById('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = document.getElementById('token').value;
    const res = await fetch('/ui/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    if (!res.ok) {
      document.getElementById('login-error').textContent = res.status === 401 ? 'That token is not valid.' : 'Cannot sign in.';
      return;
    }
    const me = await res.json();
    signIns += 1;
    document.getElementById('token').value = '';
    S.role = me.role;
    document.getElementById('role').textContent = me.role;
    start();
  });
  const asked = signIns;
  if (await session() && S.role && asked === signIns) start();
});
