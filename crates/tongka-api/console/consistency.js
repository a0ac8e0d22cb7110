// The consistency screen (一致性, for those who may see reports): the
// ledger's balance to the fen, escrow transfers, spends declined during
// partitions, duplicates and merges, ops rejected and refused, chain-wide
// and per store (GET /consistency). It refreshes every few seconds while
// it is the screen shown, and stops when another is.
import { state } from './state.js';
import { $, clear, h } from './dom.js';
import { t } from './i18n.js';
import { money } from './format.js';
import { ApiError, api } from './api.js';
import { onShow } from './nav.js';
import { refusalText } from './coupon_text.js';

const REFRESH_MS = 5000;
let timer = null;

async function load() {
  if (state.tab !== 'consistency') { stop(); return; }
  try {
    state.consistency = await api('GET', '/api/v1/consistency');
    state.consistencyError = null;
    state.consistencyAt = new Date();
  } catch (e) {
    if (!(e instanceof ApiError) || e.unauthorized) { stop(); throw e; }
    state.consistencyError = { status: e.status, ...e.err };
  }
  renderConsistency();
}

// The deep check (?deep=true): every member read, on demand only (it
// costs about 2 µs a member); its last answer stays shown beside the
// running figures.
async function deepCheck(button) {
  button.disabled = true;
  try {
    const r = await api('GET', '/api/v1/consistency?deep=true');
    state.consistencyDeep = { at: new Date(), deep: r.ledger.deep };
    state.consistencyError = null;
  } catch (e) {
    if (!(e instanceof ApiError) || e.unauthorized) throw e;
    state.consistencyError = { status: e.status, ...e.err };
  } finally {
    button.disabled = false;
  }
  renderConsistency();
}

function deepPart() {
  const d = state.consistencyDeep;
  const rows = [];
  if (d) {
    const time = d.at.toLocaleTimeString();
    rows.push(h('p', { 'data-test': 'consistency-deep-result', 'data-matches': d.deep.matches ? 'true' : 'false' },
      h('span', { class: `dot ${d.deep.matches ? 'ok' : 'bad'}` }), ' ',
      t(d.deep.matches ? 'cons.deep_ok' : 'cons.deep_bad', { time })));
  }
  rows.push(h('button', { type: 'button', 'data-test': 'consistency-deep', text: t('cons.deep'),
    onclick: (ev) => { deepCheck(ev.currentTarget).catch(() => stop()); } }));
  return rows;
}

function stop() { if (timer) { clearInterval(timer); timer = null; } }

function start() {
  stop();
  timer = setInterval(() => { load().catch(() => stop()); }, REFRESH_MS);
  return load();
}

const table = (test, head, rows) => h('div', { class: 'table-wrap' },
  h('table', { class: 'table', 'data-test': test },
    h('thead', null, h('tr', null, head.map(([k, num]) => h('th', { class: num ? 'num' : null, text: t(k) })))),
    h('tbody', null, rows)));

const num = (v, test) => h('td', { class: 'num', 'data-test': test || null, text: String(v) });

function amounts(label, a, test) {
  return h('tr', { 'data-test': test },
    h('td', { text: t(label) }),
    h('td', { class: 'num', 'data-value': a.principal, text: money(a.principal) }),
    h('td', { class: 'num', 'data-value': a.bonus, text: money(a.bonus) }),
    num(a.points));
}

function moved(label, m, test) {
  return h('tr', { 'data-test': test },
    h('td', { class: 'mono', text: label }),
    num(m.count),
    h('td', { class: 'num', 'data-value': m.principal, text: money(m.principal) }),
    h('td', { class: 'num', 'data-value': m.bonus, text: money(m.bonus) }),
    num(m.points), num(m.coupon_uses), num(m.card_visits));
}

function refusals(test, title, r) {
  return h('div', { class: 'card', 'data-test': test },
    h('h3', { text: `${t(title)}：${r.count}` }),
    r.by_reason.length === 0 ? h('p', { class: 'muted', text: t('cons.none') })
      : table(`${test}-reasons`, [['cons.reason'], ['cons.count', true]],
        r.by_reason.map((x) => h('tr', null, h('td', { text: x.reason }), num(x.count)))));
}

export function renderConsistency() {
  const root = $('#consistency-body');
  if (!root) return;
  const err = state.consistencyError;
  const box = $('#consistency-error');
  box.hidden = !err;
  box.textContent = err ? `${refusalText(err)} (${err.code})` : '';
  const r = state.consistency;
  clear(root);
  if (!r) return;
  const mh = [['cons.store'], ['cons.count', true], ['cons.principal', true], ['cons.bonus', true],
    ['cons.points', true], ['cons.coupon_uses', true], ['cons.card_visits', true]];
  const ok = r.ledger.balanced;
  root.append(
    h('p', { class: 'muted small', 'data-test': 'consistency-updated',
      text: t('cons.updated', { time: state.consistencyAt ? state.consistencyAt.toLocaleTimeString() : '' }) }),
    h('div', { class: 'card', 'data-test': 'consistency-ledger', 'data-balanced': ok ? 'true' : 'false' },
      h('h3', null, h('span', { class: `dot ${ok ? 'ok' : 'bad'}` }), ' ', t(ok ? 'cons.balanced' : 'cons.unbalanced')),
      table('consistency-ledger-table', [['cons.ledger'], ['cons.principal', true], ['cons.bonus', true], ['cons.points', true]],
        [amounts('cons.held', r.ledger.held, 'consistency-held'), amounts('cons.owed', r.ledger.owed, 'consistency-owed'),
          state.consistencyDeep ? amounts('cons.scanned', state.consistencyDeep.deep.scanned, 'consistency-scanned') : null]),
      ...deepPart()),
    h('div', { class: 'card', 'data-test': 'consistency-transfers' },
      h('h3', { text: t('cons.transfers') }),
      r.transfers_scan.complete ? null : h('p', { class: 'muted small', text: t('cons.scan_partial', { n: r.transfers_scan.examined }) }),
      table('consistency-transfers-table', mh, [moved('Σ', r.chain.transfers, 'consistency-transfers-chain')])),
    h('div', { class: 'card', 'data-test': 'consistency-declined' },
      h('h3', { text: t('cons.declined') }),
      r.chain.declined.length === 0 ? h('p', { class: 'muted', text: t('cons.none') })
        : table('consistency-declined-table', [['cons.code'], ['cons.cause'], ['cons.count', true]],
          r.chain.declined.map((d) => h('tr', { 'data-test': 'consistency-declined-row', 'data-code': d.code, 'data-cause': d.cause },
            h('td', { class: 'mono', text: d.code }),
            h('td', { text: state.lang === 'zh' ? d.cause_zh : d.cause }),
            num(d.count))))),
    h('div', { class: 'card', 'data-test': 'consistency-duplicates' },
      h('h3', { text: t('cons.dups') }),
      h('p', null, `${t('cons.dups_found')} ${r.chain.duplicates} · ${t('cons.dups_open')} ${r.chain.duplicates_open} · ${t('cons.merged')} ${r.chain.merged}`)),
    refusals('consistency-rejected', 'cons.rejected', r.chain.rejected),
    refusals('consistency-refused', 'cons.refused', r.chain.refused),
    h('div', { class: 'card', 'data-test': 'consistency-stores' },
      h('h3', { text: t('cons.stores') }),
      table('consistency-stores-table',
        [['cons.store'], ['cons.given', true], ['cons.received', true], ['cons.declined_short', true], ['cons.dups', true],
          ['cons.merged', true], ['cons.rejected_short', true], ['cons.refused_short', true]],
        r.stores.map((s) => h('tr', { 'data-test': 'consistency-store', 'data-store': s.store },
          h('td', { class: 'mono', text: s.store }),
          h('td', { class: 'num', text: `${s.given.count} · ${money(s.given.principal)}` }),
          h('td', { class: 'num', text: `${s.received.count} · ${money(s.received.principal)}` }),
          num(s.declined), num(s.duplicates), num(s.merged), num(s.rejected), num(s.refused))))),
  );
}

export function bindConsistency() {
  onShow('consistency', () => { start().catch(() => stop()); });
}
