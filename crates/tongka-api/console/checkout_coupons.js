// The checkout's coupon lines: with a member chosen, the member's usable
// coupons as checkboxes and a field that takes a coupon code scanned or
// typed; the codes chosen go as `coupon_codes` in the quote and in the
// sale (checkout.js asks `couponCodes()`). What each coupon takes off and
// the order's `coupon_off` come from the node's quote, like every figure
// of the sale; a refusal about the coupons (`coupon_unavailable_here`,
// `coupon_below_minimum`, …) is shown next to them, in the language
// chosen, with the coupon it names marked. Which coupons combine and
// whether one applies are the node's rules, never guessed here.
import { state } from './state.js';
import { $, clear, h } from './dom.js';
import { t } from './i18n.js';
import { money, toFen } from './format.js';
import { ApiError } from './api.js';
import { fetchCoupons, couponItem } from './coupons.js';
import { isCouponRefusal, looksLikeCouponCode, refusalText, usable } from './coupon_text.js';

let requote = () => {};

/** The codes to send with the sale: the chosen ones, with a member only. */
export function couponCodes() {
  return state.coMember ? state.coChosen.slice() : [];
}

/**
 * The member `m` was chosen at the checkout (null: a walk-in): loads their
 * coupons; `preselect` (codes) are chosen at once, as the 核销 screen asks.
 * Another member's choice is dropped.
 */
export async function loadCheckoutCoupons(m, preselect) {
  const same = m && state.coCoupons && state.coCoupons.member_id === m.id;
  if (!same) {
    state.coChosen = [];
    state.coCouponRefusal = null;
    state.coCouponQuote = null;
    state.coCoupons = m ? { member_id: m.id, coupons: null } : null;
  }
  for (const code of preselect || []) if (!state.coChosen.includes(code)) state.coChosen.push(code);
  renderCheckoutCoupons();
  requote();
  if (!m) return;
  let coupons = null;
  try {
    coupons = await fetchCoupons(m.id);
  } catch (e) {
    if (e instanceof ApiError && e.unauthorized) return;
  }
  if (!state.coMember || state.coMember.id !== m.id) return;
  state.coCoupons = { member_id: m.id, coupons };
  renderCheckoutCoupons();
}

/** After a sale or a clear: nothing chosen, nothing refused. */
export function resetCheckoutCoupons() {
  state.coChosen = [];
  state.coCouponRefusal = null;
  state.coCouponQuote = null;
  if (!state.coMember) state.coCoupons = null;
  renderCheckoutCoupons();
}

/** What the last quote (or refusal) said about the coupons. */
export function showCouponQuote(q, refusal) {
  state.coCouponQuote = q && state.coChosen.length ? { coupons: q.coupons || [], coupon_off: q.coupon_off } : null;
  state.coCouponRefusal = refusal && isCouponRefusal(refusal.err) ? { status: refusal.status, ...refusal.err } : null;
  renderCheckoutCoupons();
}

/** A refusal of the sale itself, about its coupons, goes next to them too. */
export function showCouponRefusal(e) {
  if (e instanceof ApiError && isCouponRefusal(e.err)) {
    state.coCouponRefusal = { status: e.status, ...e.err };
    renderCheckoutCoupons();
  }
}

function offOf(code) {
  const q = state.coCouponQuote;
  const u = q && q.coupons.find((c) => c.code === code);
  return u ? u.off : null;
}

function row(c, code) {
  const chosen = state.coChosen.includes(code);
  const off = chosen ? offOf(code) : null;
  const refused = state.coCouponRefusal && state.coCouponRefusal.coupon === code;
  const box = h('input', { type: 'checkbox', class: 'co-coupon-check', 'data-code': code, 'data-test': 'checkout-coupon-check' });
  box.checked = chosen;
  const offEl = off !== null
    ? h('span', { class: 'money strong', 'data-test': 'checkout-coupon-off', 'data-value': off, text: t('co.coupon_line_off', { off: `-${money(off)}` }) })
    : null;
  const attrs = {
    'data-test': 'checkout-coupon', 'data-code': code, 'data-chosen': chosen ? '1' : '0',
    class: `coupon-item co-coupon${refused ? ' invalid' : ''}`,
  };
  if (c) {
    const item = couponItem(c, attrs, offEl);
    item.prepend(h('label', { class: 'inline' }, box));
    return item;
  }
  // A code typed that is not among the member's usable coupons: sent as
  // typed, for the node to take or refuse.
  return h('div', attrs, h('label', { class: 'inline' }, box, ' ', h('span', { class: 'mono', text: code })), ' ', offEl);
}

export function renderCheckoutCoupons() {
  const sec = $('#checkout-coupons');
  const m = state.coMember;
  sec.hidden = !m;
  const list = clear($('#checkout-coupon-list'));
  const off = $('#checkout-quote-coupon-off');
  const q = state.coCouponQuote;
  const shownOff = m && q && toFen(q.coupon_off) !== null ? q.coupon_off : null;
  $('#checkout-quote-coupon-label').hidden = shownOff === null;
  off.textContent = shownOff === null ? '' : `-${money(shownOff)}`;
  if (shownOff === null) delete off.dataset.value; else off.dataset.value = shownOff;
  const err = $('#checkout-coupon-error');
  const r = m ? state.coCouponRefusal : null;
  err.hidden = !r;
  err.dataset.code = r ? r.code : '';
  $('#checkout-coupon-error-message').textContent = r ? refusalText(r) : '';
  $('#checkout-coupon-error-code').textContent = r ? r.code : '';
  if (!m) { delete list.dataset.loaded; return; }
  const mine = state.coCoupons && state.coCoupons.member_id === m.id ? state.coCoupons.coupons : null;
  const shown = usable(mine);
  for (const c of shown) list.append(row(c, c.code));
  // Codes chosen that are not usable now (typed, or used up since): shown
  // with what the member's list says of them, if anything.
  for (const code of state.coChosen) {
    if (!shown.some((c) => c.code === code)) list.append(row((mine || []).find((c) => c.code === code) || null, code));
  }
  if (mine && !list.childElementCount) {
    list.append(h('p', { class: 'muted small', 'data-test': 'checkout-coupons-none', text: t('co.coupons_none') }));
  }
  list.dataset.loaded = mine ? m.id : '';
}

function setChosen(code, on) {
  const i = state.coChosen.indexOf(code);
  if (on && i < 0) state.coChosen.push(code);
  if (!on && i >= 0) state.coChosen.splice(i, 1);
  state.coCouponRefusal = null;
  renderCheckoutCoupons();
  requote();
}

/** The code scanned or typed into the coupon field: chosen, if shaped as one. */
function addTyped() {
  const input = $('#checkout-coupon-code');
  const code = input.value.trim();
  if (!code) return;
  if (!looksLikeCouponCode(code)) {
    state.coCouponRefusal = { code: 'invalid_coupon_code', localKey: 'co.coupon_bad' };
    renderCheckoutCoupons();
    return;
  }
  input.value = '';
  setChosen(code, true);
}

/** `again` asks for a new quote (checkout.js's). */
export function bindCheckoutCoupons(again) {
  requote = again;
  $('#checkout-coupon-list').addEventListener('change', (ev) => {
    const el = ev.target;
    if (el.classList.contains('co-coupon-check')) setChosen(el.dataset.code, el.checked);
  });
  $('#checkout-coupon-add').addEventListener('click', addTyped);
  $('#checkout-coupon-code').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.isComposing) { ev.preventDefault(); addTyped(); }
  });
}
