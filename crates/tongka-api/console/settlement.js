// The settlement screen (跨店结算, for those who may see reports): for a
// period, who owes whom between stores (GET /settlement: each pair net of
// both directions, debtor first), each store's net position and the
// chain's total (zero); then the withdrawals (提现, GET /withdrawals):
// approve or reject at HQ, a request form at a store. The rule is the
// core's (README, "Settlement between stores").
import { state } from './state.js';
import { $, clear, h } from './dom.js';
import { t } from './i18n.js';
import { money } from './format.js';
import { ApiError, api, postOnce } from './api.js';
import { onShow } from './nav.js';
import { can } from './perms.js';
import { refusalText } from './coupon_text.js';

const st = () => state.settle || (state.settle = { period: null, report: null, list: null, error: null });

function nodeRole() {
  const s = state.session;
  const hl = state.health;
  return (s && s.node_role) || (hl && hl.role) || '';
}

function showError(e) {
  if (!(e instanceof ApiError) || e.unauthorized) throw e;
  st().error = { status: e.status, ...e.err };
}

// `keep`: after an action, its refusal stays shown over the reload.
async function load(keep) {
  const s = st();
  if (!keep) s.error = null;
  const from = $('#settle-from').value;
  const to = $('#settle-to').value;
  const q = new URLSearchParams();
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  try {
    s.report = await api('GET', `/api/v1/settlement?${q}`);
    s.list = await api('GET', '/api/v1/withdrawals');
  } catch (e) { showError(e); }
  renderSettlement();
}

const cell = (v, test) => h('td', { class: 'num', 'data-test': test || null, 'data-value': v, text: money(v) });

function table(test, head, rows) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'table', 'data-test': test },
      h('thead', null, h('tr', null, head.map(([k, num]) => h('th', { class: num ? 'num' : null, text: t(k) })))),
      h('tbody', null, rows)));
}

// A rejection's reason is typed in its row (no window.prompt: a kiosk
// browser may block dialogs); an empty one is the API's to refuse
// (`invalid_withdrawal_note`), shown like any refusal.
async function decide(id, approve, reasonField) {
  const s = st();
  s.error = null;
  const note = approve ? '' : (reasonField ? reasonField.value.trim() : '');
  try {
    await postOnce(`withdrawal-${id}-${approve}`, `/api/v1/withdrawals/${encodeURIComponent(id)}/${approve ? 'approve' : 'reject'}`, { note });
  } catch (e) { showError(e); }
  await load(true);
}

async function request(ev) {
  ev.preventDefault();
  const s = st();
  s.error = null;
  const amount = $('#settle-amount').value.trim();
  const note = $('#settle-note').value.trim();
  try {
    await postOnce('withdrawal-request', '/api/v1/withdrawals', { amount, note });
    $('#settle-amount').value = '';
    $('#settle-note').value = '';
  } catch (e) { showError(e); }
  await load(true);
}

/** HQ's approve, and reject with the reason typed beside it. */
function decideButtons(id) {
  const reason = h('input', { type: 'text', maxlength: '200', 'data-test': 'settle-reason',
    placeholder: t('settle.reason_prompt'), 'aria-label': t('settle.reason_prompt') });
  return [
    h('button', { type: 'button', class: 'primary', 'data-test': 'settle-approve', text: t('settle.approve'),
      onclick: () => { decide(id, true).catch(() => {}); } }),
    ' ', reason, ' ',
    h('button', { type: 'button', 'data-test': 'settle-reject', text: t('settle.reject'),
      onclick: () => { decide(id, false, reason).catch(() => {}); } }),
  ];
}

export function renderSettlement() {
  const root = $('#settle-body');
  if (!root) return;
  const s = st();
  const box = $('#settle-error');
  box.hidden = !s.error;
  box.textContent = s.error ? `${refusalText(s.error)} (${s.error.code})` : '';
  const hq = nodeRole() === 'hq';
  $('#settle-request').hidden = hq || !can('request_withdrawal');
  clear(root);
  const r = s.report;
  if (r) {
    root.append(
      h('p', { class: 'muted small', 'data-test': 'settle-period', text: t('settle.period', { from: r.from, to: r.to }) }),
      h('p', { class: 'muted small', text: t('settle.rule') }),
      h('div', { class: 'card', 'data-test': 'settle-pairs' },
        h('h3', { text: t('settle.pairs') }),
        r.pairs.length === 0 ? h('p', { class: 'muted', text: t('settle.none') })
          : table('settle-pairs-table',
            [['settle.debtor'], ['settle.creditor'], ['settle.amount', true], ['settle.principal', true], ['settle.bonus', true], ['settle.transfers', true]],
            r.pairs.map((p) => h('tr', { 'data-test': 'settle-pair', 'data-debtor': p.debtor, 'data-creditor': p.creditor, 'data-amount': p.amount },
              h('td', { class: 'mono', text: p.debtor }), h('td', { class: 'mono', text: p.creditor }),
              cell(p.amount), cell(p.principal), cell(p.bonus),
              h('td', { class: 'num', text: String(p.transfers) }))))),
      h('div', { class: 'card', 'data-test': 'settle-stores' },
        h('h3', { text: t('settle.stores') }),
        table('settle-stores-table', [['settle.store'], ['settle.net', true], ['settle.principal', true], ['settle.bonus', true]],
          r.stores.map((x) => h('tr', { 'data-test': 'settle-store', 'data-store': x.store, 'data-amount': x.amount },
            h('td', { class: 'mono', text: x.store }), cell(x.amount), cell(x.principal), cell(x.bonus)))),
        h('p', { 'data-test': 'settle-total', 'data-amount': r.chain_total.amount,
          text: t('settle.total', { amount: money(r.chain_total.amount) }) })),
    );
  }
  const l = s.list;
  if (l) {
    root.append(h('div', { class: 'card', 'data-test': 'settle-withdrawals' },
      h('h3', { text: t('settle.withdrawals') }),
      l.balances.length === 0 ? null
        : table('settle-balances', [['settle.store'], ['settle.owed', true], ['settle.approved', true], ['settle.pending', true], ['settle.available', true]],
          l.balances.map((b) => h('tr', { 'data-test': 'settle-balance', 'data-store': b.store, 'data-available': b.available },
            h('td', { class: 'mono', text: b.store }), cell(b.owed), cell(b.approved), cell(b.pending), cell(b.available)))),
      l.withdrawals.length === 0 ? h('p', { class: 'muted', text: t('settle.none') })
        : table('settle-withdrawals-table',
          [['settle.id'], ['settle.store'], ['settle.amount', true], ['settle.status'], ['settle.requested'], ['settle.decided'], ['']],
          l.withdrawals.map((w) => h('tr', { 'data-test': 'settle-withdrawal', 'data-id': w.id, 'data-status': w.status },
            h('td', { class: 'mono', text: w.id }),
            h('td', { class: 'mono', text: w.store }),
            cell(w.amount),
            h('td', { text: t(`settle.status.${w.status}`) }),
            h('td', { class: 'small', text: `${w.requested_by} · ${w.requested_at}${w.note ? ` · ${w.note}` : ''}` }),
            h('td', { class: 'small', text: w.decided_by ? `${w.decided_by} · ${w.decided_at}${w.decision_note ? ` · ${w.decision_note}` : ''}` : '' }),
            h('td', null, hq && w.status === 'pending' && can('decide_withdrawals') ? decideButtons(w.id) : null))))));
  }
}

export function bindSettlement() {
  $('#settle-load').addEventListener('click', () => { load(false).catch(() => {}); });
  $('#settle-request').addEventListener('submit', (ev) => { request(ev).catch(() => {}); });
  onShow('settlement', () => { load(false).catch(() => {}); });
}
