// A coupon a member holds, in words, as the member page, the checkout and
// the 核销 screen show it: its kind, its benefit (减 ¥5 / 8.5折 / 兑换 …),
// its window, its uses left and where those uses are held now. Also the
// one way a coupon refusal of the API is worded (the API's own zh or en
// message, in the language chosen), and which refusals are about coupons.
// Everything here reads the API's CouponView as it comes: amounts are its
// decimal strings, never computed.
import { state } from './state.js';
import { I18N, t } from './i18n.js';
import { money, rateText } from './format.js';

/** The refusal codes that are about the coupons of a sale. */
export const COUPON_CODES = new Set([
  'coupon_not_found', 'coupon_used', 'coupon_unavailable_here', 'coupon_expired',
  'coupon_not_yet_valid', 'coupon_not_applicable', 'coupon_below_minimum',
  'coupon_not_combinable', 'coupon_repeated', 'too_many_coupons',
  'coupon_without_member', 'invalid_coupon_code',
]);

/** Whether an API refusal (its error body) is about coupons. */
export function isCouponRefusal(err) {
  return !!err && (COUPON_CODES.has(err.code) || /^coupon_codes/.test(err.field || ''));
}

/** The API's message of a refusal, in the language chosen. */
export function refusalText(err) {
  if (!err) return '';
  if (err.code === 'network_error') return t('err.network_error');
  if (err.localKey) return t(err.localKey, err.vars);
  const msg = state.lang === 'zh' ? (err.message_zh || err.message) : (err.message || err.message_zh);
  return msg || t('err.http', { status: err.status });
}

export function kindLabel(kind) {
  return I18N.zh[`coupon.kind.${kind}`] ? t(`coupon.kind.${kind}`) : String(kind || '');
}

/** The name of the product `sku`, when the catalogue is loaded and has it. */
function productName(sku) {
  const p = (state.products || []).find((x) => x.sku === sku);
  return p ? `${p.name} (${sku})` : sku;
}

/** What the coupon takes off, in words: 减 ¥5.00, 8.5折, 兑换 sku. */
export function benefitText(c) {
  const b = c.benefit || {};
  let s;
  if (b.type === 'amount_off') s = t('mc.off', { off: money(b.off) });
  else if (b.type === 'percent') {
    s = b.max_off ? t('mc.rate_max', { rate: rateText(b.rate), max: money(b.max_off) })
      : t('mc.rate', { rate: rateText(b.rate) });
  } else if (b.type === 'free_item') s = t('mc.free', { item: productName(b.sku) });
  else s = String(b.type || '');
  const min = c.min_spend && !/^0+(\.0+)?$/.test(String(c.min_spend)) ? c.min_spend : null;
  if (!min) return s;
  const m = t('mc.min', { min: money(min) });
  return state.lang === 'zh' ? `${s}（${m}）` : `${s} (${m})`;
}

/** The coupon's window; one not yet valid says from when. */
export function windowText(c) {
  const w = t('mc.window', { from: c.valid_from || '?', to: c.valid_to || '?' });
  return c.status === 'not_yet_valid' ? `${w} · ${t('mc.from', { from: c.valid_from })}` : w;
}

export function usesText(c) {
  return t('mc.uses', { left: c.left ?? '?', uses: c.uses ?? '?' });
}

/** Where the coupon's uses are held now: 本店 for this node. */
export function heldText(c) {
  const here = state.health && state.health.node;
  const parts = (c.held_at || []).map((x) => {
    const where = (x.store === here || (!here && c.held_here && (c.held_at || []).length === 1)) ? t('mc.here') : x.store;
    return `${where} ×${x.uses}`;
  });
  return t('mc.held', { where: parts.length ? parts.join(state.lang === 'zh' ? '、' : ', ') : t('mc.held_none') });
}

export function statusLabel(status) {
  return I18N.zh[`mc.status.${status}`] ? t(`mc.status.${status}`) : String(status || '');
}

/** The coupons a member may present today, in the order the API lists them. */
export function usable(coupons) {
  return (coupons || []).filter((c) => c.status === 'usable');
}

/** Whether `s` is shaped as a coupon code (`c-<node>-<n>`); the node says
 * whether it is one. */
export function looksLikeCouponCode(s) {
  return /^c-[A-Za-z0-9_-]+-\d+$/.test(String(s || '').trim());
}
