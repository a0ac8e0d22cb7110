// A count card (次卡) or period card (期卡), in words, as the member page,
// the 核销 screen, the catalogue and the receipt show it: its kind and
// plan (次卡 10 次 / 期卡 30 天, the daily cap), its services, its window,
// its visits used and left (count) or made today (period), and where its
// visits are held (本店 for this node). Everything reads the API's CardView
// or a product's `card` plan as it comes: nothing is computed but the
// days of a window, for a card whose view does not say them.
import { state } from './state.js';
import { I18N, t } from './i18n.js';

/** The refusal codes of a card visit or a card sale. */
export const CARD_CODES = new Set([
  'card_not_found', 'card_refunded', 'card_used_up', 'card_held_elsewhere',
  'card_not_yet_valid', 'card_expired', 'card_not_applicable', 'card_daily_cap',
  'invalid_visit_count', 'invalid_card_code', 'card_needs_member', 'invalid_card_qty',
]);

export function kindLabel(kind) {
  return I18N.zh[`card.kind.${kind}`] ? t(`card.kind.${kind}`) : String(kind || '');
}

/** Days from `from` to `to`, both included ("2026-01-01", "2026-01-30" → 30). */
function daysOf(from, to) {
  const a = Date.parse(`${from}T00:00:00Z`);
  const b = Date.parse(`${to}T00:00:00Z`);
  if (Number.isNaN(a) || Number.isNaN(b)) return null;
  return Math.round((b - a) / 86400000) + 1;
}

/** The plan without its kind: 10 次 / 30 天 · 每天最多 1 次. `p` is a
 * product's `card` plan or a CardView (whose period days come from its window). */
export function planBody(p) {
  if (!p) return '';
  if (p.kind === 'count') return t('card.count_plan', { visits: p.visits ?? '?' });
  const days = p.days ?? (p.valid_from && p.valid_to ? daysOf(p.valid_from, p.valid_to) : null);
  const plan = t('card.period_plan', { days: days ?? '?' });
  const cap = p.daily_cap ? t('card.daily_cap', { cap: p.daily_cap }) : t('card.no_cap');
  return `${plan} · ${cap}`;
}

/** The plan in words with its kind: 次卡 10 次 / 期卡 30 天 · 每天最多 1 次. */
export function planText(p) {
  return p ? t('card.plan', { kind: kindLabel(p.kind), plan: planBody(p) }) : '';
}

/** The services the card covers, or 不限. */
export function servicesText(p) {
  const list = (p && p.services) || [];
  if (!list.length) return t('card.services_any');
  return t('card.services', { list: list.map(serviceName).join(state.lang === 'zh' ? '、' : ', ') });
}

/** A service (a sku) by the catalogue's name when it has one. */
export function serviceName(sku) {
  const p = (state.products || []).find((x) => x.sku === sku);
  return p && p.name ? `${p.name} (${sku})` : sku;
}

/** The card's window; one not yet valid says from when. */
export function windowText(c) {
  const w = c.valid_to ? t('card.window', { from: c.valid_from || '?', to: c.valid_to })
    : t('card.window_open', { from: c.valid_from || '?' });
  return c.status === 'not_yet_valid' ? `${w} · ${t('card.from', { from: c.valid_from })}` : w;
}

/** Visits used and left (count card) or made today (period card). */
export function usageText(c) {
  if (c.kind === 'count') return t('card.left', { left: c.left ?? '?', visits: c.visits ?? '?', used: c.used ?? '?' });
  const today = c.visits_today ?? 0;
  return c.daily_cap ? t('card.today_cap', { today, cap: c.daily_cap }) : t('card.today', { today });
}

/** The store names of `held_at`, 本店 for this node. */
export function storesText(heldAt, withCounts) {
  const here = state.health && state.health.node;
  const sep = state.lang === 'zh' ? '、' : ', ';
  return (heldAt || []).map((x) => {
    const store = typeof x === 'string' ? x : x.store;
    const where = store === here ? t('card.here') : store;
    return withCounts && typeof x === 'object' && x.visits !== undefined ? `${where} ×${x.visits}` : where;
  }).join(sep);
}

/** Where a count card's visits are held now. A period card has no counted visits. */
export function heldText(c) {
  const where = storesText(c.held_at, true);
  return t('card.held', { where: where || t('card.held_none') });
}

export function statusLabel(status) {
  return I18N.zh[`card.status.${status}`] ? t(`card.status.${status}`) : String(status || '');
}

/** The cards a member may use today, in the order the API lists them. */
export function usableCards(cards) {
  return (cards || []).filter((c) => c.status === 'usable');
}

/** A refusal's extra words: where a card's visits are held when the
 * stores holding them cannot be reached (the API's `held_at`). */
export function refusalExtra(err) {
  if (!err || err.code !== 'card_held_elsewhere') return '';
  // The error's details are strings: `held_at` is the stores' names, comma-separated.
  const list = Array.isArray(err.held_at) ? err.held_at : String(err.held_at || '').split(',').filter(Boolean);
  return list.length ? t('verify.card_held_at', { where: storesText(list, true) }) : '';
}

/** A catalogue product as the checkout's picker offers it: its name and
 * price, and for a card product its kind and plan (次卡 10 次). */
export function productLabel(p, price) {
  const base = `${p.name} ${price}`;
  return p.card ? `${base} · ${planText(p.card)}` : base;
}

/** The codes of the cards a sale's line sold (`line.card.cards`), each as
 * the receipt prints it (卡 k-store-1-3). */
export function lineCardCodes(line) {
  return (line && line.card && line.card.cards) || [];
}
