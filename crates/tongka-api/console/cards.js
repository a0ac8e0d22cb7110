// The member page's count cards (次卡) and period cards (期卡): every card
// the member holds (`GET /members/{id}/cards`, newest first), grouped
// usable / used up / expired / refunded (one not yet valid sits with the
// usable ones, saying from when), each with its name, kind and plan (the
// daily cap of a period card), its services, its window, its visits used
// and left (count) or made today (period), and where its visits are held.
// Cards are sold at the checkout and used on the 核销 screen
// (verify_cards.js); this section only shows what the node answers.
import { state } from './state.js';
import { $, clear, h } from './dom.js';
import { t } from './i18n.js';
import { ApiError, api } from './api.js';
import {
  heldText, kindLabel, planBody, servicesText, statusLabel, usageText, windowText,
} from './card_text.js';

const GROUPS = [
  ['usable', ['usable', 'not_yet_valid']],
  ['used_up', ['used_up']],
  ['expired', ['expired']],
  ['refunded', ['refunded']],
];

/** The member's cards, from the node. */
export async function fetchCards(id) {
  const r = await api('GET', `/api/v1/members/${encodeURIComponent(id)}/cards`);
  return (r && r.cards) || [];
}

/** Loads the cards of member `id` into the member page (the latest load
 * wins). A node that cannot answer leaves the section saying so, not the
 * page broken. */
let loadSeq = 0;
export async function loadMemberCards(id) {
  const seq = ++loadSeq;
  let cards = null;
  try {
    cards = await fetchCards(id);
  } catch (e) {
    if (e instanceof ApiError && e.unauthorized) throw e;
  }
  if (seq !== loadSeq) return;
  state.memberCards = { member_id: id, cards };
  renderMemberCards();
}

/** One card as a list item; `extra` goes at its end (the 核销 screen's radio). */
export function cardItem(c, attrs, ...extra) {
  const counted = c.kind === 'count';
  return h('div', { class: 'coupon-item card-item', 'data-kind': c.kind, ...attrs },
    h('div', { class: 'coupon-head' },
      h('strong', { class: 'coupon-name', text: c.name || c.code }), ' ',
      h('span', { class: 'tag card-tag', text: kindLabel(c.kind) }), ' ',
      h('span', { 'data-test': 'card-plan', text: planBody(c) }),
      c.status !== 'usable' ? h('span', { class: `coupon-status status-${c.status}`, text: statusLabel(c.status) }) : null),
    h('div', { class: 'muted small' },
      h('span', { class: 'mono', text: c.code }), ' · ',
      h('span', { 'data-test': 'card-services', text: servicesText(c) }), ' · ',
      h('span', { 'data-test': 'card-window', text: windowText(c) })),
    h('div', { class: 'small' },
      h('strong', {
        'data-test': 'card-usage', 'data-left': counted ? c.left : null, 'data-today': c.visits_today,
        text: usageText(c),
      }),
      counted ? [' · ', h('span', { class: 'muted', 'data-test': 'card-held', text: heldText(c) })] : null),
    ...extra);
}

/** The cards section of the member page. */
export function renderMemberCards() {
  const box = clear($('#member-card-list'));
  const m = state.member;
  const mc = state.memberCards;
  if (!m || !mc || mc.member_id !== m.id) { delete box.dataset.loaded; return; }
  box.dataset.loaded = m.id;
  if (!mc.cards) { box.append(h('p', { class: 'muted', text: t('overview.unavailable') })); return; }
  if (!mc.cards.length) {
    box.append(h('p', { class: 'muted', 'data-test': 'member-cards-none', text: t('card.none') }));
    return;
  }
  for (const [group, statuses] of GROUPS) {
    // The usable first, then the ones not valid yet: the API's order kept within each.
    const list = statuses.flatMap((s) => mc.cards.filter((c) => c.status === s));
    box.append(h('h3', { class: 'coupon-group', text: `${t(`card.group.${group}`)} (${list.length})` }));
    const ul = h('div', { class: 'coupon-list', 'data-test': `member-cards-${group}` });
    if (!list.length) ul.append(h('p', { class: 'muted small', text: t('card.group_none') }));
    for (const c of list) {
      ul.append(cardItem(c, {
        'data-test': 'member-card', 'data-code': c.code, 'data-status': c.status,
        'data-held-here': c.held_here ? '1' : '0',
      }));
    }
    box.append(ul);
  }
}
