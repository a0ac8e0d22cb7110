// The 核销 (redeem) screen, driven by the scanner: one field takes the
// member code a keyboard-wedge scanner types (the text, then Enter), the
// node verifies it (`POST /member-codes/verify`: a forged or expired code
// is refused with its reason, shown here in the language chosen), and the
// screen shows the member and their usable coupons. Picking one and
// confirming opens the checkout with that member and coupon chosen (for
// an exchange coupon, with a line of its free item). The member's count
// and period cards are listed below the coupons and used right here, with
// no sale (verify_cards.js).
import { state } from './state.js';
import { $, clear, h } from './dom.js';
import { t } from './i18n.js';
import { levelName, maskPhone, money } from './format.js';
import { ApiError, api } from './api.js';
import { busy, clearError } from './feedback.js';
import { onShow } from './nav.js';
import { couponItem, fetchCoupons } from './coupons.js';
import { refusalText, usable } from './coupon_text.js';
import { checkoutFor } from './checkout.js';
import { loadProducts } from './checkout_lines.js';
import {
  bindVerifyCards, loadVerifyCards, renderVerifyCards, resetVerifyCards,
} from './verify_cards.js';

function renderVerifyError() {
  const box = $('#verify-error');
  const e = state.verifyError;
  box.hidden = !e;
  box.dataset.code = e ? e.code : '';
  $('#verify-error-message').textContent = e ? refusalText(e) : '';
  $('#verify-error-code').textContent = e ? e.code : '';
}

function memberHead(m) {
  return h('div', { class: 'row verify-member', 'data-test': 'verify-member-head', 'data-id': m.id },
    h('strong', { class: 'co-name', text: m.name }),
    h('span', { class: 'muted', text: maskPhone(m) }),
    h('span', { class: 'level-badge small', 'data-code': m.level && m.level.code, text: levelName(m.level) }),
    h('span', { class: 'muted', text: `${t('wallet.available_here')} ${money(m.available_here)}` }),
    h('span', { class: 'muted', text: `${t('wallet.points')} ${m.points ?? t('common.none')}` }),
    h('span', { class: 'muted small mono', text: m.id }));
}

function pickRow(c, code) {
  const radio = h('input', { type: 'radio', name: 'verify-coupon', value: code, 'data-code': code });
  radio.checked = state.verifyPick === code;
  if (!c) {
    return h('div', { class: 'coupon-item', 'data-test': 'verify-no-coupon' },
      h('label', { class: 'inline' }, radio, ' ', t('verify.no_coupon')));
  }
  const item = couponItem(c, { 'data-test': 'verify-coupon', 'data-code': code, 'data-picked': state.verifyPick === code ? '1' : '0' });
  item.prepend(h('label', { class: 'inline' }, radio));
  return item;
}

export function renderVerify() {
  renderVerifyError();
  const v = state.verify;
  $('#verify-empty').hidden = !!v;
  $('#verify-result').hidden = !v;
  const head = clear($('#verify-member'));
  const list = clear($('#verify-coupons'));
  renderVerifyCards();
  if (!v) { delete head.dataset.id; delete list.dataset.loaded; return; }
  head.dataset.id = v.member.id;
  head.append(memberHead(v.member));
  if (!v.coupons) { list.dataset.loaded = ''; return; }
  list.dataset.loaded = v.member.id;
  const ok = usable(v.coupons);
  if (!ok.length) list.append(h('p', { class: 'muted', 'data-test': 'verify-coupons-none', text: t('verify.coupons_none') }));
  for (const c of ok) list.append(pickRow(c, c.code));
  list.append(pickRow(null, ''));
}

/** A scanned (or typed) member code: verified, then the member's coupons. */
async function scan(ev) {
  ev.preventDefault();
  clearError();
  const input = $('#verify-code');
  const code = input.value.trim();
  state.verifyError = null;
  if (!code) {
    state.verifyError = { code: 'invalid_input', localKey: 'verify.code_required' };
    renderVerify();
    return;
  }
  await busy($('#verify-scan'), async () => {
    let m;
    try {
      m = await api('POST', '/api/v1/member-codes/verify', { body: { code } });
    } catch (e) {
      if (!(e instanceof ApiError) || e.unauthorized) throw e;
      state.verify = null;
      state.verifyError = { status: e.status, ...e.err };
      renderVerify();
      input.select();
      return;
    }
    input.value = '';
    state.verify = { member: m, coupons: null, cards: null };
    state.verifyPick = '';
    resetVerifyCards();
    renderVerify();
    // The cards load beside the coupons (the catalogue first, for the
    // names of their services); a failure to read them goes to the banner.
    const cards = loadProducts().then(() => loadVerifyCards(m.id, true));
    const coupons = await fetchCoupons(m.id);
    if (!state.verify || state.verify.member.id !== m.id) return;
    state.verify.coupons = coupons;
    const ok = usable(coupons);
    // One usable coupon: it is the one to redeem, unless the cashier says not.
    state.verifyPick = ok.length === 1 ? ok[0].code : '';
    renderVerify();
    await cards;
  });
  input.focus();
}

async function confirm() {
  const v = state.verify;
  if (!v) return;
  const code = state.verifyPick || null;
  const c = code && v.coupons ? v.coupons.find((x) => x.code === code) : null;
  const free = c && c.benefit && c.benefit.type === 'free_item' ? c.benefit.sku : null;
  state.verify = null;
  state.verifyPick = null;
  renderVerify();
  await checkoutFor(v.member, code, free);
}

export function bindVerify() {
  onShow('verify', () => { $('#verify-code').focus(); });
  $('#verify-form').addEventListener('submit', scan);
  $('#verify-coupons').addEventListener('change', (ev) => {
    if (ev.target.name !== 'verify-coupon') return;
    state.verifyPick = ev.target.value;
    renderVerify();
  });
  $('#verify-confirm').addEventListener('click', (ev) => busy(ev.currentTarget, confirm));
  bindVerifyCards();
}
