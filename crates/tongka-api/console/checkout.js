// The checkout screen: the member (or a walk-in), the lines (scanned,
// picked from the catalogue or typed), the tenders and points, and the
// receipt. Every figure of the sale (line amounts, discount, points
// deducted, payable) comes from the node's quote (POST /checkouts/quote),
// by the very calculator the sale uses: nothing is rounded here. The
// member's coupons, chosen for the sale, are checkout_coupons.js's. A
// card product (次卡/期卡) is marked as such in the picker and on its line;
// selling one is adding its line with a member chosen (the node refuses a
// card sold to no one, `card_needs_member`, shown as any refusal).
import { state } from './state.js';
import { $, $$, clear, h, toast } from './dom.js';
import { t } from './i18n.js';
import {
  capText, levelName, maskPhone, money, parseAmountInput, parseQty, rateText, toFen,
} from './format.js';
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
import { kindLabel, planText, productLabel } from './card_text.js';
import {
  addTender, resetTenders, syncBalanceOption, tenderRows, whenTendersChange,
} from './tenders.js';

export async function loadProducts() {
  if (state.products) return;
  try {
    const r = await api('GET', '/api/v1/products');
    state.products = (r && r.products) || [];
    const dl = clear($('#product-list') || document.body.appendChild(h('datalist', { id: 'product-list' })));
    for (const p of state.products) {
      dl.append(h('option', { value: p.barcode || p.sku }, productLabel(p, money(p.price))));
    }
  } catch (e) {
    if (e instanceof ApiError && e.unauthorized) return;
    state.products = []; // the server still resolves codes at checkout
  }
}

function findProduct(code) {
  if (!code || !state.products) return null;
  return state.products.find((p) => p.barcode === code) || state.products.find((p) => p.sku === code) || null;
}

function lineRows() { return $$('#checkout-lines tbody tr'); }

function renumberLines() {
  lineRows().forEach((tr, i) => {
    tr.dataset.index = String(i);
    for (const el of $$('[data-field]', tr)) el.setAttribute('data-test', `checkout-${el.dataset.field}-${i}`);
    for (const el of $$('[data-field]', tr)) el.id = `checkout-${el.dataset.field}-${i}`;
  });
}

export function addLine(prefill) {
  const p = prefill || {};
  const tr = h('tr', { class: 'line' },
    h('td', null, h('input', { type: 'text', class: 'code mono', 'data-field': 'code', list: 'product-list', inputmode: 'text', autocomplete: 'off', value: p.code || '' })),
    h('td', null, h('input', { type: 'text', class: 'desc', 'data-field': 'desc', maxlength: 80, value: p.desc || '' }),
      h('span', { class: 'tag card-tag', 'data-field': 'card', hidden: true })),
    h('td', { class: 'num' }, h('input', { type: 'text', class: 'price num', 'data-field': 'price', inputmode: 'decimal', placeholder: '0.00', value: p.price || '' })),
    h('td', { class: 'num' }, h('input', { type: 'text', class: 'qty num', 'data-field': 'qty', inputmode: 'decimal', value: p.qty || '1' })),
    h('td', { class: 'num money amount', 'data-field': 'amount' }),
    h('td', null, h('button', { type: 'button', class: 'icon-btn', 'data-field': 'remove', 'data-i18n-title': 'common.remove', title: t('common.remove'), text: '×' })));
  $('#checkout-lines tbody').append(tr);
  renumberLines();
  if (p.code) resolveLine(tr);
  updateLine(tr);
  return tr;
}

/** Fills description/price of a row from the catalogue, when the code is known. */
function resolveLine(tr) {
  const code = $('.code', tr).value.trim();
  const prod = findProduct(code);
  const desc = $('.desc', tr);
  const price = $('.price', tr);
  if (prod) {
    tr.dataset.resolved = prod.barcode === code ? 'barcode' : 'sku';
    desc.value = prod.name; price.value = prod.price;
    desc.readOnly = true; price.readOnly = true;
  } else if (tr.dataset.resolved) {
    delete tr.dataset.resolved;
    desc.value = ''; price.value = '';
    desc.readOnly = false; price.readOnly = false;
  }
  markCardLine(tr, prod);
}

/** A line of a card product carries its 次卡/期卡 badge (and plan, as its title). */
function markCardLine(tr, prod) {
  const badge = $('.card-tag', tr);
  const card = prod && prod.card;
  badge.hidden = !card;
  badge.textContent = card ? kindLabel(card.kind) : '';
  badge.title = card ? planText(card) : '';
  if (card) tr.dataset.card = card.kind; else delete tr.dataset.card;
}

// A line changed: its amount, like every figure of the sale, comes from
// the next quote.
function updateLine() { scheduleQuote(); }

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
  const rows = [];
  const lines = [];
  for (const tr of lineRows()) {
    const qty = parseQty($('.qty', tr).value);
    if (qty === null) continue;
    const code = $('.code', tr).value.trim();
    if (code && tr.dataset.resolved) {
      lines.push({ [tr.dataset.resolved]: code, qty });
    } else {
      const price = parseAmountInput($('.price', tr).value);
      if (price === null) continue;
      lines.push({ description: $('.desc', tr).value.trim() || '-', unit_price: price, qty });
    }
    rows.push(tr);
  }
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
  for (const tr of lineRows()) {
    const cell = $('.amount', tr);
    const i = rows.indexOf(tr);
    const line = q && i >= 0 ? q.lines[i] : null;
    if (line) {
      cell.textContent = money(line.amount);
      cell.dataset.fen = String(toFen(line.amount));
      cell.dataset.value = line.amount;
    } else {
      cell.textContent = '';
      delete cell.dataset.fen;
      delete cell.dataset.value;
    }
  }
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

function lineIsEmpty(tr) {
  return !$('.code', tr).value.trim() && !$('.desc', tr).value.trim() && !$('.price', tr).value.trim();
}

function focusLastCode() {
  let rows = lineRows();
  let last = rows[rows.length - 1];
  if (!last || !lineIsEmpty(last)) last = addLine();
  $('.code', last).focus();
}

/** Enter in a barcode field: the scanned code becomes a line. */
function onCodeEnter(tr) {
  const input = $('.code', tr);
  const code = input.value.trim();
  if (!code) {
    if (lineRows().some((r) => !lineIsEmpty(r))) $('#checkout-submit').focus();
    return;
  }
  input.value = code;
  resolveLine(tr);
  // Same code already on another line: one more of it.
  const other = lineRows().find((r) => r !== tr && $('.code', r).value.trim() === code);
  if (other) {
    const q = parseQty($('.qty', other).value);
    const add = parseQty($('.qty', tr).value) || '1';
    if (q !== null && /^\d+$/.test(q) && /^\d+$/.test(add)) {
      $('.qty', other).value = String(BigInt(q) + BigInt(add));
      updateLine(other);
      tr.remove();
      renumberLines();
      updateSubtotal();
      focusLastCode();
      return;
    }
  }
  updateLine(tr);
  focusLastCode();
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
    const tr = lineRows()[0];
    $('.code', tr).value = sku;
    resolveLine(tr);
    updateLine(tr);
  }
  focusLastCode();
}

function buildCheckout() {
  const lines = [];
  let n = 0;
  for (const tr of lineRows()) {
    n += 1;
    if (lineIsEmpty(tr)) continue;
    const code = $('.code', tr).value.trim();
    const desc = $('.desc', tr).value.trim();
    const priceRaw = $('.price', tr).value.trim();
    const qty = parseQty($('.qty', tr).value);
    if (qty === null) throw localError('checkout.bad_qty', { n }, 'invalid_qty');
    if (code) {
      const kind = tr.dataset.resolved || (/^\d+$/.test(code) ? 'barcode' : 'sku');
      lines.push({ [kind]: code, qty });
    } else {
      if (!desc || !priceRaw) throw localError('checkout.bad_line', { n }, 'invalid_lines');
      const price = parseAmountInput(priceRaw);
      if (price === null) throw localError('checkout.bad_price', { n }, 'invalid_amount');
      lines.push({ description: desc, unit_price: price, qty });
    }
  }
  if (!lines.length) throw localError('checkout.no_lines', null, 'invalid_lines');
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
  clear($('#checkout-lines tbody'));
  $('#checkout-points').value = '';
  renderPointsRow();
  addLine();
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
  $('#member-to-checkout').addEventListener('click', () => {
    if (!state.member) return;
    pickCheckoutMember(state.member);
    showTab('checkout');
    focusLastCode();
  });
  const form = $('#checkout-form');
  form.addEventListener('submit', submitCheckout);
  $('#checkout-member-find').addEventListener('click', findCheckoutMember);
  $('#checkout-add-line').addEventListener('click', () => { const tr = addLine(); $('.code', tr).focus(); });
  $('#checkout-points').addEventListener('input', renderPointsRow);
  $('#checkout-add-tender').addEventListener('click', () => { const r = addTender(); $('.t-amount', r).focus(); });
  $('#checkout-clear').addEventListener('click', () => { clearError(); resetCheckout(false); focusLastCode(); });
  $('#checkout-lines').addEventListener('input', (ev) => {
    const tr = ev.target.closest('tr');
    if (!tr) return;
    if (ev.target.classList.contains('code') && tr.dataset.resolved) resolveLine(tr);
    updateLine(tr);
  });
  $('#checkout-lines').addEventListener('change', (ev) => {
    const tr = ev.target.closest('tr');
    if (tr && ev.target.classList.contains('code')) { resolveLine(tr); updateLine(tr); }
  });
  $('#checkout-lines').addEventListener('click', (ev) => {
    const b = ev.target.closest('[data-field="remove"]');
    if (!b) return;
    b.closest('tr').remove();
    if (!lineRows().length) addLine();
    renumberLines();
    updateSubtotal();
  });
  // Enter never charges by accident: only the Charge button submits.
  form.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' || ev.isComposing) return;
    const el = ev.target;
    if (el.tagName === 'BUTTON') return;
    ev.preventDefault();
    const tr = el.closest('tr.line');
    if (el.id === 'checkout-member-q') { findCheckoutMember(); return; }
    if (!tr) return;
    if (el.classList.contains('code')) onCodeEnter(tr);
    else if (el.classList.contains('desc')) $('.price', tr).focus();
    else if (el.classList.contains('price')) $('.qty', tr).select();
    else if (el.classList.contains('qty')) focusLastCode();
  });
}
