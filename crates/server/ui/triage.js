// An alert's triage in its detail: the model's (or the rule-based) summary,
// verdict and reason, the evidence it cites, and its suggested response
// with an Apply button for admins. Apply goes through the API's decision
// path (allowlist, observe/enforce, audit); the model's word alone does nothing.
import { h, api, isAdmin, changed } from './app.js';
import { note } from './widgets.js';

const verdictWords = { likely_malicious: 'likely malicious', likely_benign: 'likely benign', unsure: 'unsure' };

/** The triage section for alert `a`, filled in when the API answers. */
export function triageOf(a) {
  const el = h('div', { class: 'triage', id: 'alert-triage' }, h('p', { class: 'muted' }, 'Loading…'));
  api(`/api/v1/alerts/${encodeURIComponent(a.id)}/triage`).then((t) => draw(el, a, t)).catch((e) => note(el, e.message, true));
  return el;
}

/** Who wrote a triage: the model, or the rule-based fallback and why. */
const author = (t) => (t.source === 'llm' ? `model ${t.model}` : `rule-based (${t.fallback_reason})`);

/** The verdict with the summary, then the reason. */
const verdictLines = (t) => [
  h('p', {}, h('strong', { 'data-verdict': t.verdict }, verdictWords[t.verdict] || t.verdict), ` — ${t.summary}`),
  h('p', { class: 'wrap' }, t.reason),
];

/** An incident's triage, with a button for admins to ask the model now. */
export function incidentTriageOf(id) {
  const el = h('div', { class: 'triage', id: 'incident-triage' }, h('p', { class: 'muted' }, 'Loading…'));
  const url = `/api/v1/incidents/${encodeURIComponent(id)}/triage`;
  const result = h('div', { id: 'incident-triage-result' });
  const ask = async () => {
    note(result, 'Asking the model…');
    try { drawIncident(await api(url, { method: 'POST' })); result.replaceChildren(); } catch (e) { note(result, e.message, true); }
  };
  const drawIncident = (t) => {
    const s = t.suggested_response || { action: 'none' };
    el.replaceChildren(
      ...verdictLines(t),
      h('p', { class: 'muted' }, `By ${author(t)}. ${s.action === 'none' ? 'No action suggested.' : `Suggested: ${s.action.replace('_', ' ')} ${s.target}.`} Advice only.`),
      h('div', { class: 'row' }, h('button', { type: 'button', id: 'incident-triage-ask', disabled: !isAdmin(), onclick: ask }, 'Ask the model')),
      result);
  };
  api(url).then(drawIncident).catch((e) => note(el, e.message, true));
  return el;
}

function draw(el, a, t) {
  const result = h('div', { id: 'triage-result' });
  const s = t.suggested_response || { action: 'none' };
  const suggestion = s.action === 'none' ? 'No action suggested.'
    : `Suggested: ${s.action.replace('_', ' ')} ${s.target}${s.duration ? ` for ${s.duration}` : ''}.`;
  const apply = async () => {
    try {
      const d = await api(`/api/v1/alerts/${encodeURIComponent(a.id)}/triage/apply`, { method: 'POST' });
      note(result, `Decision ${d.id}: ${d.kind} ${d.value}${d.enforced ? ' (enforced)' : ' (observe mode: recorded, not applied)'}.`);
      changed('decision');
    } catch (e) { note(result, e.message, true); }
  };
  el.replaceChildren(
    ...verdictLines(t),
    h('p', { class: 'muted' }, `By ${author(t)}${t.cited_event_ids?.length ? `; cites events ${t.cited_event_ids.join(', ')}` : ''}`
      + `${t.invented_citations ? `; ${t.invented_citations} invented citation(s) dropped` : ''}. Advice only: applying it is your decision.`),
    h('div', { class: 'row' }, h('span', {}, suggestion),
      s.action !== 'none' ? h('button', { type: 'button', id: 'triage-apply', disabled: !isAdmin() || a.status === 'resolved', onclick: apply }, 'Apply') : null),
    result);
}
