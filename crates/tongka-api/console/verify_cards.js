// The 核销 screen's count and period cards: once a scanned member code
// names the member, their usable cards are listed; the cashier picks one,
// the service of the visit (a select of the card's services, when it is
// bound to some; the only one is chosen already), the visits (1 by
// default), and confirms: `POST /members/{id}/cards/{code}/visits`, sent
// with an Idempotency-Key by `postOnce` (a retry after an uncertain
// outcome reuses it, so the node replays the visit instead of making a
// second). The confirm button is disabled while the visit is on its way
// and the pick is cleared once it is made, so one click is one visit; the
// next visit is a new pick. The answer (visits left now, or made today)
// or the refusal (in the language chosen; where the visits are held when
// the stores holding them cannot be reached) is shown under the list.
import { state } from './state.js';
import { $, clear, h, toast } from './dom.js';
import { t } from './i18n.js';
import { ApiError, postOnce } from './api.js';
import { busy, clearError } from './feedback.js';
import { refusalText } from './coupon_text.js';
import { refusalExtra, serviceName, usableCards } from './card_text.js';
import { cardItem, fetchCards } from './cards.js';

/** The visits a cashier may type: a whole number 1 to 100 (the API's bound). */
const COUNT_RE = /^(100|[1-9]\d?)$/;

/** Forgets the card picked, its answer and its refusal (a new scan). */
export function resetVerifyCards() {
  state.verifyCard = {
    code: '', service: '', count: '1', result: null, error: null, sending: false,
  };
}

/** Reads the member's cards into the 核销 screen; `pick` the only usable one. */
export async function loadVerifyCards(memberId, pick) {
  const cards = await fetchCards(memberId);
  const v = state.verify;
  if (!v || v.member.id !== memberId) return;
  v.cards = cards;
  const ok = usableCards(cards);
  const vc = state.verifyCard;
  if (pick && ok.length === 1 && !vc.code) pickCard(ok[0]);
  if (vc.code && !ok.some((c) => c.code === vc.code)) vc.code = '';
  renderVerifyCards();
}

function pickCard(c) {
  const vc = state.verifyCard;
  vc.code = c ? c.code : '';
  const services = (c && c.services) || [];
  vc.service = services.length === 1 ? services[0] : '';
  vc.count = '1';
  vc.error = null;
}

function pickedCard() {
  const v = state.verify;
  const code = state.verifyCard && state.verifyCard.code;
  return v && v.cards && code ? v.cards.find((c) => c.code === code) || null : null;
}

function visitForm(c) {
  const vc = state.verifyCard;
  const services = c.services || [];
  const sel = services.length ? h('select', { id: 'verify-card-service', 'data-test': 'verify-card-service', class: 'grow' },
    h('option', { value: '', text: t('verify.card_service_pick') }),
    services.map((s) => h('option', { value: s, text: serviceName(s) }))) : null;
  if (sel) sel.value = vc.service;
  return h('div', { class: 'row verify-card-form', 'data-test': 'verify-card-form', 'data-code': c.code },
    sel ? h('label', { class: 'inline grow' }, h('span', { text: t('verify.card_service') }), ' ', sel) : null,
    h('label', { class: 'inline' }, h('span', { text: t('verify.card_count') }), ' ',
      h('input', {
        type: 'text', id: 'verify-card-count', 'data-test': 'verify-card-count', class: 'num short',
        inputmode: 'numeric', autocomplete: 'off', value: vc.count,
      })),
    h('button', {
      type: 'button', class: 'primary', id: 'verify-card-confirm', 'data-test': 'verify-card-confirm',
      disabled: vc.sending, 'data-busy': vc.sending ? '1' : null, text: t('verify.card_confirm'),
    }));
}

function resultBox(r) {
  const c = r.card;
  const left = c.kind === 'count'
    ? h('strong', { 'data-test': 'verify-card-left', 'data-value': c.left, text: t('verify.card_left', { left: c.left }) })
    : h('strong', { 'data-test': 'verify-card-today', 'data-value': c.visits_today, text: t('verify.card_today', { today: c.visits_today }) });
  return h('div', { class: 'result', 'data-test': 'verify-card-result', 'data-code': c.code, 'data-count': r.count },
    h('span', { text: t('verify.card_done', { count: r.count, name: c.name || c.code }) }), ' · ', left);
}

function errorBox(e) {
  const extra = refusalExtra(e);
  return h('div', { class: 'form-error', role: 'alert', 'data-test': 'verify-card-error', 'data-code': e.code },
    h('span', { 'data-test': 'verify-card-error-message', text: refusalText(e) }), ' ',
    extra ? h('span', { 'data-test': 'verify-card-held-at', text: extra }) : null, ' ',
    h('code', { text: e.code }));
}

/** The cards part of the 核销 screen. */
export function renderVerifyCards() {
  const box = clear($('#verify-cards'));
  const v = state.verify;
  if (!state.verifyCard) resetVerifyCards();
  const vc = state.verifyCard;
  if (!v || !v.cards) { delete box.dataset.loaded; return; }
  box.dataset.loaded = v.member.id;
  const ok = usableCards(v.cards);
  if (!ok.length) box.append(h('p', { class: 'muted', 'data-test': 'verify-cards-none', text: t('verify.cards_none') }));
  for (const c of ok) {
    const on = vc.code === c.code;
    const radio = h('input', { type: 'radio', name: 'verify-card', value: c.code, 'data-code': c.code });
    radio.checked = on;
    const item = cardItem(c, { 'data-test': 'verify-card', 'data-code': c.code, 'data-picked': on ? '1' : '0' });
    item.prepend(h('label', { class: 'inline' }, radio));
    box.append(item);
  }
  const c = pickedCard();
  if (c) box.append(visitForm(c));
  if (vc.error) box.append(errorBox(vc.error));
  if (vc.result) box.append(resultBox(vc.result));
}

/** The visit confirmed: checked here for what the cashier may have left
 * out, then sent once. */
async function confirmVisit(btn) {
  const v = state.verify;
  const vc = state.verifyCard;
  const c = pickedCard();
  if (!v || !c) return;
  clearError(); // a lost answer's banner goes once the visit is sent again
  vc.result = null;
  const local = (key) => { vc.error = { code: 'invalid_input', localKey: key }; renderVerifyCards(); };
  const count = vc.count.trim();
  if (!COUNT_RE.test(count)) { local('verify.card_bad_count'); return; }
  if ((c.services || []).length && !vc.service) { local('verify.card_service_required'); return; }
  vc.error = null;
  const body = { count: Number(count) };
  if (vc.service) body.service = vc.service;
  const member = v.member.id;
  if (vc.sending) return;
  // Also kept in the state: a redraw while the visit is on its way (the
  // language switched) draws the button disabled too.
  vc.sending = true;
  await busy(btn, async () => {
    let r;
    try {
      r = await postOnce('card-visit', `/api/v1/members/${encodeURIComponent(member)}/cards/${encodeURIComponent(c.code)}/visits`, body);
    } catch (e) {
      // A refusal goes under the card; a lost answer to the banner (the
      // same click again reuses its key).
      vc.sending = false;
      if (!(e instanceof ApiError) || e.unauthorized || e.uncertain) { renderVerifyCards(); throw e; }
      if (state.verify === v) { vc.error = { status: e.status, ...e.err }; renderVerifyCards(); }
      return;
    }
    vc.sending = false;
    if (state.verify !== v) return;
    // Made: the pick is cleared, so the next visit is a new pick.
    pickCard(null);
    vc.result = r;
    toast(t('verify.card_done', { count: r.count, name: r.card.name || r.card.code }));
    const i = v.cards.findIndex((x) => x.code === r.card.code);
    if (i >= 0) v.cards[i] = r.card;
    renderVerifyCards();
    await loadVerifyCards(member, false).catch(() => {});
  });
}

export function bindVerifyCards() {
  const box = $('#verify-cards');
  box.addEventListener('change', (ev) => {
    const vc = state.verifyCard;
    if (ev.target.name === 'verify-card') {
      const c = ((state.verify && state.verify.cards) || []).find((x) => x.code === ev.target.value);
      pickCard(c);
      vc.result = null;
      renderVerifyCards();
    } else if (ev.target.id === 'verify-card-service') {
      vc.service = ev.target.value;
      vc.error = null;
      renderVerifyCards();
    }
  });
  box.addEventListener('input', (ev) => {
    if (ev.target.id === 'verify-card-count') state.verifyCard.count = ev.target.value;
  });
  // Called at once on the click, so the button is disabled before a
  // second click can reach it.
  box.addEventListener('click', (ev) => {
    const btn = ev.target.closest('#verify-card-confirm');
    if (btn) confirmVisit(btn);
  });
  box.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' || ev.isComposing || ev.target.id !== 'verify-card-count') return;
    ev.preventDefault();
    const btn = $('#verify-card-confirm');
    if (btn && !btn.disabled) confirmVisit(btn);
  });
}
