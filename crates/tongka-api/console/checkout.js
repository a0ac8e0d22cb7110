// The checkout screen: the member (or a walk-in), the lines (scanned,
// picked from the catalogue or typed: checkout_lines.js), the tenders and
// points, and the receipt. Every figure of the sale (line amounts,
// discount, points deducted, payable) comes from the node's quote
// (POST /checkouts/quote), by the very calculator the sale uses: nothing
// is rounded here. The member's coupons, chosen for the sale, are
// checkout_coupons.js's. A card product (次卡/期卡) is marked as such in
// the picker and on its line (checkout_lines.js); selling one is adding
// its line with a member chosen (the node refuses a card sold to no one,
// `card_needs_member`, shown as any refusal).
import { state } from './state.js';
import { $, clear, h, toast } from './dom.js';
import { t } from './i18n.js';
import { capText, levelName, maskPhone, money, parseAmountInput, rateText } from './format.js';
import { ApiError, api, postOnce } from './api.js';
import { busy, clearError, localError, showError } from './feedback.js';
import { onShow, showTab } from './nav.js';
import { guessBy, openMember, renderMemberList, searchMembers } from './members.js';
import { openOrderFromElsewhere } from './orders.js';
import { orderHead, orderTable, totalsList } from './receipt.js';
import {
  bindCheckoutCoupons, couponCodes, loadCheckoutCoupons, resetCheckoutCoupons, showCouponQuote,
  showCouponRefusal,
} from './checkout_coupons.js';
import { isCouponRefusal } from './coupon_text.js';
import {
  bindLines, focusLastCode, lineEnter, loadProducts, quoteLines, resetLines, saleLines,
  setFirstLineCode, showLineAmounts, whenLinesChange,
} from './checkout_lines.js';
import {
  addTender, resetTenders, syncBalanceOption, tenderRows, whenTendersChange,
} from './tenders.js';

// A line changed: its amount, like every figure of the sale, comes from
// the next quote.
export function updateSubtotal() { scheduleQuote(); }

// --- the quote: the sale's figures, from the node ---------------------------
const QUOTE_DELAY_MS = 150;
let quoteTimer = null;
let quoteSeq = 0;

/** Ask for a quote once the cashier pauses (typing, scanning). */
function scheduleQuote() {
  clearTimeout(quoteTimer);
  quoteTimer = setTimeout(() => { runQuote().catch(() => {}); }, QUOTE_DELAY_MS);
}

/** The checkout as it stands, as a quote request: the lines that can be
 * priced already (a catalogue product, or a unit price typed; a free line
 * not yet described is priced under a placeholder), and the rows they are. */
function quoteRequest() {
  const { rows, lines } = quoteLines();
  const tenders = [];
  for (const row of tenderRows()) {
    const kind = $('.t-kind', row).value;
    const raw = $('.t-amount', row).value.trim();
    const amount = raw ? parseAmountInput(raw) : null;
    if (raw && amount === null) continue;
    tenders.push(amount === null ? { kind } : { kind, amount });
  }
  const body = { lines, tenders };
  if (state.coMember) body.member_id = state.coMember.id;
  const codes = couponCodes();
  if (codes.length) body.coupon_codes = codes;
  const points = $('#checkout-points').value.trim();
  if (!$('#checkout-points-row').hidden && /^\d{1,12}$/.test(points) && Number(points) > 0) body.points = Number(points);
  return { rows, body };
}

/** Quote the checkout and show its figures. Refused (say, the balance here
 * is short), the goods are quoted again as if paid in cash, so the lines
 * and the payable still show, with the refusal beside them. */
async function runQuote() {
  const seq = ++quoteSeq;
  const { rows, body } = quoteRequest();
  let quote = null;
  let refusal = null;
  if (body.lines.length) {
    try {
      quote = await api('POST', '/api/v1/checkouts/quote', { body });
    } catch (e) {
      if (!(e instanceof ApiError) || e.unauthorized) return;
      refusal = e;
      if (seq !== quoteSeq) return;
      try {
        const goods = { ...body, tenders: [{ kind: 'cash' }] };
        if (isCouponRefusal(e.err)) delete goods.coupon_codes; // the goods priced without them
        quote = await api('POST', '/api/v1/checkouts/quote', { body: goods });
      } catch (e2) { quote = null; }
    }
  }
  if (seq !== quoteSeq) return; // a newer quote is on its way
  showQuote(quote, rows, refusal, body.lines.length === 0);
}

function setFigure(sel, value, text) {
  const el = $(sel);
  if (value === null || value === undefined) {
    el.textContent = '';
    delete el.dataset.value;
  } else {
    el.textContent = text === undefined ? money(value) : text;
    el.dataset.value = String(value);
  }
}

function showQuote(q, rows, refusal, empty) {
  showLineAmounts(q, rows);
  const zero = empty ? '0.00' : null;
  setFigure('#checkout-subtotal', q ? q.total : zero);
  setFigure('#checkout-quote-discount', q ? q.discount : zero, q ? `-${money(q.discount)}` : undefined);
  setFigure('#checkout-quote-payable', q ? q.payable : zero);
  setFigure('#checkout-quote-points', q && q.member_id ? q.points_earned : null, q ? `+${q.points_earned}` : undefined);
  $('#checkout-quote-points-label').hidden = !(q && q.member_id);
  const pv = $('#checkout-points-value');
  if (q && q.points_used > 0) {
    pv.textContent = t('checkout.points_value', { value: `-${money(q.points_value)}` });
    pv.dataset.value = q.points_value;
  } else {
    pv.textContent = '';
    delete pv.dataset.value;
  }
  showCouponQuote(q, refusal);
  const note = $('#checkout-quote-note');
  note.hidden = !refusal;
  note.dataset.code = refusal ? refusal.code : '';
  if (refusal) {
    const e = refusal.err;
    note.textContent = e.code === 'network_error' ? t('err.network_error')
      : (state.lang === 'zh' ? e.message_zh || e.message : e.message || e.message_zh) || e.code;
  } else {
    note.textContent = '';
  }
}

export function renderCheckoutMember() {
  const box = clear($('#checkout-member'));
  const m = state.coMember;
  box.dataset.id = m ? m.id : '';
  if (!m) {
    box.append(h('span', { class: 'muted', 'data-test': 'checkout-walk-in', text: t('checkout.walk_in') }));
    return;
  }
  box.append(
    h('span', { class: 'co-name', text: m.name }), ' ',
    h('span', { class: 'muted', text: maskPhone(m) }), ' ',
    h('span', { class: 'level-badge small', 'data-code': m.level && m.level.code, text: `${levelName(m.level)}${m.level && m.level.rate ? ` · ${rateText(m.level.rate)}` : ''}` }), ' ',
    h('span', { class: 'muted', text: `${t('wallet.available_here')} ` }),
    h('strong', { class: 'money', 'data-test': 'checkout-member-available', 'data-value': m.available_here, text: money(m.available_here) }), ' ',
    h('span', { class: 'muted', text: `${t('wallet.points')} ${m.points == null ? t('common.none') : m.points}` }), ' ',
    h('button', { type: 'button', class: 'link-btn', 'data-test': 'checkout-member-clear', text: t('checkout.clear_member'), onclick: () => pickCheckoutMember(null) }));
  renderPointsRow();
}

/** The points deduction row: shown for a member when the programme allows
 * paying with points; what the typed points deduct comes from the quote. */
export function renderPointsRow() {
  const rule = state.programme && state.programme.points_deduction;
  const m = state.coMember;
  const row = $('#checkout-points-row');
  row.hidden = !(rule && m);
  if (row.hidden) { $('#checkout-points').value = ''; scheduleQuote(); return; }
  const held = m.points;
  $('#checkout-points-rule').textContent = t('checkout.points_rule', { rate: rule.points_per_yuan, cap: capText(rule.cap), held: held == null ? t('common.none') : held });
  scheduleQuote();
}

export function renderCheckoutResults() {
  renderMemberList($('#checkout-member-results'), state.results.checkout, pickCheckoutMember);
}

function pickCheckoutMember(m, coupons) {
  state.coMember = m;
  loadCheckoutCoupons(m, coupons);
  state.results.checkout = null;
  renderCheckoutResults();
  renderCheckoutMember();
  syncBalanceOption();
  const rows = tenderRows();
  if (rows.length === 1 && !rows[0].dataset.touched && !$('.t-amount', rows[0]).value) {
    $('.t-kind', rows[0]).value = m ? 'balance' : 'cash';
  }
  if (!m) for (const row of rows) if ($('.t-kind', row).value === 'balance') $('.t-kind', row).value = 'cash';
  $('#checkout-member-q').value = '';
  scheduleQuote();
  if (m) {
    // Refresh: the list entry may be stale.
    api('GET', `/api/v1/members/${encodeURIComponent(m.id)}`).then((fresh) => {
      if (state.coMember && state.coMember.id === fresh.id) { state.coMember = fresh; renderCheckoutMember(); }
    }).catch(() => {});
  }
}

async function findCheckoutMember() {
  clearError();
  const q = $('#checkout-member-q').value.trim();
  if (!q) { showError(localError('members.query_required')); return; }
  const by = guessBy(q, $('#checkout-member-by'));
  await busy($('#checkout-member-find'), async () => {
    const list = await searchMembers(by, q);
    if (list.length === 1) { pickCheckoutMember(list[0]); focusLastCode(); return; }
    state.results.checkout = list;
    renderCheckoutResults();
  });
}

/**
 * The 核销 screen's confirmation: a fresh checkout for member `m` with the
 * coupon `code` chosen and, for an exchange coupon, a line of its free
 * item `sku` (priced from the catalogue, as if scanned).
 */
export async function checkoutFor(m, code, sku) {
  clearError();
  resetCheckout(true);
  pickCheckoutMember(m, code ? [code] : []);
  showTab('checkout');
  if (sku) {
    await loadProducts();
    setFirstLineCode(sku);
  }
  focusLastCode();
}

function buildCheckout() {
  const lines = saleLines();
  const tenders = [];
  let empty = 0;
  for (const row of tenderRows()) {
    const kind = $('.t-kind', row).value;
    const raw = $('.t-amount', row).value.trim();
    if (!raw) { empty += 1; tenders.push({ kind }); continue; }
    const amount = parseAmountInput(raw);
    if (amount === null) throw localError('checkout.bad_tender', null, 'invalid_amount');
    tenders.push({ kind, amount });
  }
  if (!tenders.length) throw localError('checkout.no_tender', null, 'invalid_tenders');
  if (empty > 1) throw localError('checkout.two_empty', null, 'invalid_tenders');
  const body = { lines, tenders };
  if (state.coMember) body.member_id = state.coMember.id;
  const codes = couponCodes();
  if (codes.length) body.coupon_codes = codes;
  const points = $('#checkout-points').value.trim();
  if (points && !$('#checkout-points-row').hidden) {
    if (!/^\d{1,12}$/.test(points)) throw localError('checkout.bad_points', null, 'invalid_points');
    if (Number(points) > 0) body.points = Number(points);
  }
  return body;
}

function resetCheckout(keepMember) {
  resetLines();
  $('#checkout-points').value = '';
  renderPointsRow();
  if (!keepMember) {
    state.coMember = null;
    renderCheckoutMember();
  }
  resetCheckoutCoupons();
  resetTenders();
  updateSubtotal();
}

async function submitCheckout(ev) {
  ev.preventDefault();
  clearError();
  let body;
  try { body = buildCheckout(); } catch (e) { showError(e); return; }
  await busy($('#checkout-submit'), async () => {
    let order;
    try {
      order = await postOnce('checkout', '/api/v1/checkouts', body);
    } catch (e) {
      showCouponRefusal(e);
      throw e;
    }
    state.receipt = { order, member: state.coMember };
    renderReceipt();
    toast(t('checkout.done', { payable: money(order.payable) }));
    if (state.member && order.member_id === state.member.id) openMember(state.member.id).catch(() => {});
    resetCheckout(false);
    focusLastCode();
  });
}

export function renderReceipt() {
  const box = clear($('#receipt'));
  const r = state.receipt;
  $('#receipt-empty').hidden = !!r;
  box.hidden = !r;
  if (!r) return;
  const o = r.order;
  box.dataset.id = o.id;
  box.append(
    h('h2', { class: 'receipt-title', text: t('receipt.title') }),
    orderHead(o, r.member, 'receipt'),
    orderTable(o, false),
    totalsList(o, 'receipt'),
    h('p', { class: 'muted small', text: t('receipt.rounding') }),
    r.text ? h('pre', { class: 'receipt-text', 'data-test': 'receipt-text', text: r.text }) : '',
    h('div', { class: 'actions no-print' },
      h('button', { type: 'button', 'data-test': 'receipt-print', text: t('common.print'), onclick: () => window.print() }),
      h('button', {
        type: 'button', 'data-test': 'receipt-text-btn', text: t('receipt.text'),
        onclick: (ev) => busy(ev.currentTarget, async () => {
          r.text = r.text ? null : await api('GET', `/api/v1/orders/${encodeURIComponent(o.id)}/receipt`, { text: true });
          renderReceipt();
        }),
      }),
      h('button', { type: 'button', 'data-test': 'receipt-to-order', text: t('receipt.to_order'), onclick: () => openOrderFromElsewhere(o.id) })));
}

export function bindCheckout() {
  onShow('checkout', () => {
    loadProducts();
    const first = $('#checkout-lines tbody tr:last-child .code');
    if (first) first.focus();
  });
  bindCheckoutCoupons(scheduleQuote);
  whenTendersChange(scheduleQuote);
  whenLinesChange(scheduleQuote);
  bindLines();
  $('#member-to-checkout').addEventListener('click', () => {
    if (!state.member) return;
    pickCheckoutMember(state.member);
    showTab('checkout');
    focusLastCode();
  });
  const form = $('#checkout-form');
  form.addEventListener('submit', submitCheckout);
  $('#checkout-member-find').addEventListener('click', findCheckoutMember);
  $('#checkout-points').addEventListener('input', renderPointsRow);
  $('#checkout-add-tender').addEventListener('click', () => { const r = addTender(); $('.t-amount', r).focus(); });
  $('#checkout-clear').addEventListener('click', () => { clearError(); resetCheckout(false); focusLastCode(); });
  // Enter never charges by accident: only the Charge button submits.
  form.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' || ev.isComposing) return;
    const el = ev.target;
    if (el.tagName === 'BUTTON') return;
    ev.preventDefault();
    if (el.id === 'checkout-member-q') { findCheckoutMember(); return; }
    lineEnter(el);
  });
}
