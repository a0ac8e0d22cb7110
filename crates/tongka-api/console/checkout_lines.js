// The checkout's lines (split from checkout.js, which keeps the member,
// the quote and the sale): the line editor, each line scanned, picked
// from the catalogue (a card product, 次卡/期卡, marked as such) or typed;
// a code scanned twice adds one to the line that has it. What a line
// costs is the quote's to say: a change here only tells checkout.js
// (`whenLinesChange`), which asks for one, and it writes each line's
// amount back with `showLineAmounts`. A line of a stocked product shows
// this store's on hand (`GET /stock`), flagged below the minimum or zero.
import { state } from './state.js';
import { $, $$, clear, h } from './dom.js';
import { t } from './i18n.js';
import { money, parseAmountInput, parseQty, toFen } from './format.js';
import { ApiError, api } from './api.js';
import { localError } from './feedback.js';
import { kindLabel, planText, productLabel } from './card_text.js';
import { here } from './stock.js';

// What a change of the lines does (checkout.js: ask for a new quote); set
// by `whenLinesChange`, so that this module needs no quote.
let changed = () => {};
export function whenLinesChange(fn) { changed = fn; }

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

export function lineRows() { return $$('#checkout-lines tbody tr'); }

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
      h('span', { class: 'tag card-tag', 'data-field': 'card', hidden: true }),
      h('span', { class: 'tag stock-tag', 'data-field': 'stock', hidden: true })),
    h('td', { class: 'num' }, h('input', { type: 'text', class: 'price num', 'data-field': 'price', inputmode: 'decimal', placeholder: '0.00', value: p.price || '' })),
    h('td', { class: 'num' }, h('input', { type: 'text', class: 'qty num', 'data-field': 'qty', inputmode: 'decimal', value: p.qty || '1' })),
    h('td', { class: 'num money amount', 'data-field': 'amount' }),
    h('td', null, h('button', { type: 'button', class: 'icon-btn', 'data-field': 'remove', 'data-i18n-title': 'common.remove', title: t('common.remove'), text: '×' })));
  $('#checkout-lines tbody').append(tr);
  renumberLines();
  if (p.code) resolveLine(tr);
  changed();
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
  showStock(tr, prod);
}

/**
 * A stocked product's on hand at this store, under its description: the
 * number as the API gives it (decimal text) with the product's unit, and
 * a hint when below its minimum (低于安全库存) or below zero (库存为负).
 * The answer is dropped if the line's product changed meanwhile.
 */
async function showStock(tr, prod) {
  const tag = $('.stock-tag', tr);
  const sku = prod && prod.stocked ? prod.sku : null;
  tr.dataset.stockSku = sku || '';
  if (!sku) {
    tag.hidden = true;
    clear(tag);
    delete tag.dataset.onHand; delete tag.dataset.level;
    return;
  }
  let item = null;
  try {
    const q = new URLSearchParams({ store: here(), sku });
    const r = await api('GET', `/api/v1/stock?${q}`);
    item = ((r && r.items) || []).find((i) => i.sku === sku) || null;
  } catch {
    return; // the sale does not need it; the server decides stock at checkout
  }
  if (tr.dataset.stockSku !== sku) return;
  const onHand = item ? item.on_hand : '0';
  const level = onHand.startsWith('-') ? 'negative' : (item && item.low ? 'low' : 'ok');
  tag.dataset.onHand = onHand;
  tag.dataset.level = level;
  tag.className = `tag stock-tag stock-${level}`;
  const hint = { negative: 'stock.till_negative', low: 'stock.till_low' }[level];
  clear(tag).append(
    h('span', { 'data-i18n': 'stock.till_on_hand' }, t('stock.till_on_hand')),
    h('span', { class: 'num' }, ` ${onHand} ${prod.unit_label || ''}`.trimEnd()),
    ...(hint ? [' · ', h('span', { 'data-i18n': hint }, t(hint))] : []));
  tag.hidden = false;
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

/** The first line's code set to `code` (the 核销 screen's free item), as if scanned. */
export function setFirstLineCode(code) {
  const tr = lineRows()[0];
  $('.code', tr).value = code;
  resolveLine(tr);
  changed();
}

/**
 * The lines as a quote request takes them: those that can be priced
 * already (a catalogue product, or a unit price typed; a free line not yet
 * described is priced under a placeholder), and the rows they are.
 */
export function quoteLines() {
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
  return { rows, lines };
}

/** Each line's amount from quote `q` (`rows` the lines it priced). */
export function showLineAmounts(q, rows) {
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
}

/** The lines as the sale takes them; a line that cannot be sold is
 * refused here (a local error naming it by its number). */
export function saleLines() {
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
  return lines;
}

/** No lines: one empty line, ready for a scan. */
export function resetLines() {
  clear($('#checkout-lines tbody'));
  addLine();
}

function lineIsEmpty(tr) {
  return !$('.code', tr).value.trim() && !$('.desc', tr).value.trim() && !$('.price', tr).value.trim();
}

export function focusLastCode() {
  const rows = lineRows();
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
      changed();
      tr.remove();
      renumberLines();
      changed();
      focusLastCode();
      return;
    }
  }
  changed();
  focusLastCode();
}

/** Enter in a line's field: from the code on to the next field, and from
 * the quantity to a new line (Enter never charges). */
export function lineEnter(el) {
  const tr = el.closest('tr.line');
  if (!tr) return;
  if (el.classList.contains('code')) onCodeEnter(tr);
  else if (el.classList.contains('desc')) $('.price', tr).focus();
  else if (el.classList.contains('price')) $('.qty', tr).select();
  else if (el.classList.contains('qty')) focusLastCode();
}

export function bindLines() {
  $('#checkout-add-line').addEventListener('click', () => { const tr = addLine(); $('.code', tr).focus(); });
  $('#checkout-lines').addEventListener('input', (ev) => {
    const tr = ev.target.closest('tr');
    if (!tr) return;
    if (ev.target.classList.contains('code') && tr.dataset.resolved) resolveLine(tr);
    changed();
  });
  $('#checkout-lines').addEventListener('change', (ev) => {
    const tr = ev.target.closest('tr');
    if (tr && ev.target.classList.contains('code')) { resolveLine(tr); changed(); }
  });
  $('#checkout-lines').addEventListener('click', (ev) => {
    const b = ev.target.closest('[data-field="remove"]');
    if (!b) return;
    b.closest('tr').remove();
    if (!lineRows().length) addLine();
    renumberLines();
    changed();
  });
}
