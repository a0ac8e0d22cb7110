// The orders screen: open an order by its id, refund it whole (two clicks)
// or by the quantities typed per line, and the refund's result. A refund
// above the limit asks a manager's approval (refund_approval.js).
import { state } from './state.js';
import { $, $$, clear, h, toast } from './dom.js';
import { t } from './i18n.js';
import { money, parseQty, tenderName, toFen } from './format.js';
import { ApiError, api, postOnce } from './api.js';
import { busy, clearError, localError, showError } from './feedback.js';
import { showTab } from './nav.js';
import { openMember } from './members.js';
import { orderHead, orderTable, totalsList } from './receipt.js';
import { askApproval, bindApproval, cancelApproval, renderApproval } from './refund_approval.js';

async function openOrder(id) {
  let o;
  try {
    o = await api('GET', `/api/v1/orders/${encodeURIComponent(id)}`);
  } catch (e) {
    // Never leave another order on screen under the id that was asked for.
    if (state.order && state.order.id !== id) { state.order = null; state.orderMember = null; renderOrder(true); }
    throw e;
  }
  state.order = o;
  state.orderMember = null;
  renderOrder(true);
  if (o.member_id) {
    api('GET', `/api/v1/members/${encodeURIComponent(o.member_id)}`).then((m) => {
      if (state.order && state.order.member_id === m.id) { state.orderMember = m; renderOrder(); }
    }).catch(() => {});
  }
}

export function openOrderFromElsewhere(id) {
  showTab('orders');
  $('#order-id').value = id;
  clearError();
  busy($('#order-open'), () => openOrder(id));
}

export function renderOrder(fresh) {
  // A redraw of the same order (its member arrived, the language changed)
  // leaves a whole refund armed: only another order disarms it.
  if (fresh) disarmRefundAll();
  else { const b = $('#refund-all'); b.textContent = t(b.dataset.armed ? 'refund.confirm_all' : 'refund.all'); }
  const form = $('#refund-form');
  const o = state.order;
  form.hidden = !o;
  renderApproval();
  const box = $('#order-view');
  // Keep what the cashier typed in the refund quantities across re-renders
  // (language switch), not across a new order or a refund.
  const typed = {};
  if (!fresh && o && box.dataset.id === o.id) {
    for (const el of $$('.refund-qty', box)) if (el.value) typed[el.dataset.line] = el.value;
  }
  clear(box);
  if (!o) return;
  box.dataset.id = o.id;
  box.append(h('h2', { text: `${t('receipt.order')} ${o.id}` }), orderHead(o, state.orderMember, 'order-view'), orderTable(o, true), totalsList(o, 'order-view'));
  for (const [i, v] of Object.entries(typed)) { const el = $(`#refund-qty-${i}`); if (el) el.value = v; }
  syncRefundButtons();
}

let refundArmTimer = null;
function disarmRefundAll() {
  const b = $('#refund-all');
  clearTimeout(refundArmTimer);
  delete b.dataset.armed;
  b.classList.remove('armed');
  b.textContent = t('refund.all');
}

function syncRefundButtons() {
  const done = !state.order || state.order.status === 'refunded';
  for (const b of [$('#refund-all'), $('#refund-lines')]) if (!b.dataset.busy) b.disabled = done;
}

async function refund(all) {
  clearError();
  const o = state.order;
  if (!o) return;
  const body = {};
  if (!all) {
    const lines = [];
    for (const el of $$('.refund-qty', $('#order-view'))) {
      const raw = el.value.trim();
      if (!raw) continue;
      const qty = parseQty(raw);
      if (qty === null) { showError(localError('checkout.bad_qty', { n: Number(el.dataset.line) + 1 }, 'invalid_qty')); return; }
      lines.push({ line: Number(el.dataset.line), qty });
    }
    if (!lines.length) { showError(localError('refund.no_lines', null, 'invalid_refund_line')); return; }
    body.lines = lines;
  }
  const reason = $('#refund-reason').value.trim();
  if (reason) body.reason = reason;
  cancelApproval();
  await busy([$('#refund-all'), $('#refund-lines')], async () => {
    let r;
    try {
      r = await postOnce('refund', `/api/v1/orders/${encodeURIComponent(o.id)}/refunds`, body);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'approval_required') { askApproval(o.id, body, e.err); return; }
      throw e;
    }
    await refunded(o.id, r);
  });
  syncRefundButtons();
}

/** Shows the refund `r` of order `orderId` made (approved or not). */
async function refunded(orderId, r) {
  state.refundResult = r;
  if (r.order) state.order = r.order;
  $('#refund-reason').value = '';
  toast(t('refund.done', { amount: money(r.amount) }));
  if (!r.order) await openOrder(orderId).catch(() => {});
  renderOrder(true);
  renderRefundResult();
  syncRefundButtons();
  const memberId = state.order && state.order.member_id;
  if (state.member && memberId === state.member.id) openMember(state.member.id).catch(() => {});
}

export function renderRefundResult() {
  const box = clear($('#refund-result'));
  const r = state.refundResult;
  $('#refund-empty').hidden = !!r;
  box.hidden = !r;
  if (!r) return;
  const dl = h('dl', { class: 'totals' });
  const row = (label, val, test, raw) => dl.append(h('div', { class: 'kv-row' }, h('dt', { text: label }), h('dd', { 'data-test': test, 'data-value': raw, text: val })));
  row(t('refund.id'), r.id, 'refund-id');
  row(t('receipt.order'), r.order_id || (r.order && r.order.id) || '', 'refund-order');
  row(t('refund.amount'), money(r.amount), 'refund-amount', r.amount);
  for (const tn of r.tenders || []) row(`${t('refund.tenders')} · ${tenderName(tn.kind)}`, money(tn.amount), `refund-tender-${tn.kind}`, tn.amount);
  if (toFen(r.balance_principal)) row(t('receipt.balance_principal'), money(r.balance_principal), 'refund-balance-principal', r.balance_principal);
  if (toFen(r.balance_bonus)) row(t('receipt.balance_bonus'), money(r.balance_bonus), 'refund-balance-bonus', r.balance_bonus);
  if (r.points_reversed) row(t('refund.points_reversed'), String(r.points_reversed), 'refund-points', r.points_reversed);
  if ((r.coupons_returned || []).length) row(t('refund.coupons_returned'), r.coupons_returned.join(', '), 'refund-coupons', r.coupons_returned.join(' '));
  if ((r.cards_refunded || []).length) row(t('refund.cards_refunded'), r.cards_refunded.join(', '), 'refund-cards', r.cards_refunded.join(' '));
  if (toFen(r.card_kept)) row(t('refund.card_kept'), money(r.card_kept), 'refund-card-kept', r.card_kept);
  if (r.reason) row(t('refund.reason'), r.reason, 'refund-reason-shown');
  if (r.approved_by) row(t('refund.approved_by'), r.approved_by_name || r.approved_by_login || r.approved_by, 'refund-approved-by', r.approved_by);
  box.append(h('h2', { text: t('refund.result') }), dl);
}

export function bindOrders() {
  bindApproval(refunded);
  $('#order-open-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearError();
    const id = $('#order-id').value.trim();
    if (!id) { showError(localError('orders.id_required')); return; }
    state.refundResult = null;
    renderRefundResult();
    busy($('#order-open'), () => openOrder(id));
  });
  $('#refund-form').addEventListener('submit', (ev) => { ev.preventDefault(); refund(false); });
  // Refunding a whole order takes two clicks: the first arms the button.
  $('#refund-all').addEventListener('click', () => {
    const b = $('#refund-all');
    if (b.dataset.armed) { disarmRefundAll(); refund(true); return; }
    b.dataset.armed = '1';
    b.classList.add('armed');
    b.textContent = t('refund.confirm_all');
    refundArmTimer = setTimeout(disarmRefundAll, 5000);
  });
}
