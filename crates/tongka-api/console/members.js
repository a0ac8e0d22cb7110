// The members screen: find members (by phone or card number, or by the
// member code a scanner types) and register them; a member's details,
// balance, points and history; the member's code (会员码) as a QR code that
// refreshes itself; editing the profile; recharging, with the programme's
// offers and the level reached previewed; the member's coupons (coupons.js)
// and count and period cards (cards.js).
import { state } from './state.js';
import { $, clear, h, toast } from './dom.js';
import { I18N, t } from './i18n.js';
import {
  fenStr, fmtTime, genderName, levelName, maskPhone, money, parseAmountInput, rateText, toFen,
} from './format.js';
import { api, postOnce } from './api.js';
import { busy, clearError, localError, showError } from './feedback.js';
import { openOrderFromElsewhere } from './orders.js';
import { bindMemberCoupons, loadMemberCoupons, renderMemberCoupons } from './coupons.js';
import { loadMemberCards, renderMemberCards } from './cards.js';

/** A list of members found, each a button that `pick`s it. */
export function renderMemberList(box, list, pick) {
  clear(box);
  if (!list) return;
  if (list.length === 0) {
    box.append(h('p', { class: 'muted', 'data-test': 'no-results', text: t('members.no_results') }));
    return;
  }
  const ul = h('ul', { class: 'member-list' });
  for (const m of list) {
    ul.append(h('li', null, h('button', {
      type: 'button', class: 'member-item', 'data-test': 'member-result', 'data-id': m.id,
      onclick: () => pick(m),
    },
    h('span', { class: 'mi-name', text: m.name }),
    h('span', { class: 'mi-phone', text: maskPhone(m) }),
    m.card_no ? h('span', { class: 'mi-card', text: m.card_no }) : null,
    h('span', { class: 'level-badge small', 'data-code': m.level && m.level.code, text: levelName(m.level) }),
    h('span', { class: 'mi-balance money', text: money(m.balance) }))));
  }
  box.append(ul);
}

export function renderSearchResults() {
  renderMemberList($('#member-results'), state.results.members, (m) => openMember(m.id, m));
}

/**
 * Whether `q` is a scanned member code (`TK1.…`, in either case: a
 * keyboard-wedge scanner with Caps Lock on types it in small letters).
 */
export function isMemberCode(q) { return /^tk1\./i.test(q.trim()); }

/**
 * The members `q` finds: by `phone` or `card_no`, or, for `code`, the one
 * member a scanned code names (verified by the node: a forged or expired
 * code is refused with its reason).
 */
export async function searchMembers(by, q) {
  if (by === 'code') {
    const m = await api('POST', '/api/v1/member-codes/verify', { body: { code: q } });
    return m ? [m] : [];
  }
  const r = await api('GET', `/api/v1/members?${by}=${encodeURIComponent(q)}`);
  return (r && r.members) || [];
}

/** How to search for `q`: `code` for a member code, else phone or card. */
export function guessBy(q, sel) {
  if (isMemberCode(q)) return 'code';
  // An 11-digit mobile number is a phone; anything else a card number.
  if (/^1[3-9]\d{9}$/.test(q)) sel.value = 'phone';
  else if (sel.value === 'phone' && !/^\d{1,11}$/.test(q)) sel.value = 'card_no';
  return sel.value;
}

// ---------------------------------------------------------------------------
// Members: detail, history
// ---------------------------------------------------------------------------
export async function openMember(id, preview, keepResult) {
  clearError();
  if (!keepResult) state.rechargeResult = null;
  if (preview) { state.member = preview; state.history = null; state.phoneShown = false; renderMember(); }
  const coupons = loadMemberCoupons(id).catch(() => {}); // a 401 shows the login box itself
  const cards = loadMemberCards(id).catch(() => {});
  const [m, hist] = await Promise.all([
    api('GET', `/api/v1/members/${encodeURIComponent(id)}`),
    api('GET', `/api/v1/members/${encodeURIComponent(id)}/history`).catch((e) => { if (e.unauthorized) throw e; return null; }),
  ]);
  if (!state.member || state.member.id !== m.id) { state.phoneShown = false; state.rechargeResult = null; }
  state.member = m;
  state.history = hist ? (hist.entries || []) : null;
  $('#edit-form').hidden = true;
  renderMember();
  renderRechargePreview();
  await Promise.all([coupons, cards]);
}

function setMoney(el, s) {
  el.textContent = money(s);
  if (s === null || s === undefined) delete el.dataset.value; else el.dataset.value = String(s);
}

// --- the member's code (会员码) ---
// Shown on the member page for the member to scan with a phone, or for a
// cashier to test the scanner; fetched afresh before it expires (at three
// quarters of its window), while it is open and the same member is shown.
let codeTimer = null;
let codeFor = null;

function closeMemberCode() {
  clearTimeout(codeTimer);
  codeTimer = null;
  codeFor = null;
  $('#member-code-box').hidden = true;
}

async function showMemberCode() {
  const m = state.member;
  if (!m) return;
  clearTimeout(codeTimer);
  const c = await api('GET', `/api/v1/members/${encodeURIComponent(m.id)}/code`);
  if (!state.member || state.member.id !== m.id) return;
  codeFor = m.id;
  const box = $('#member-code-box');
  box.hidden = false;
  const img = $('#member-code-img');
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(c.svg)}`;
  img.alt = c.code;
  const text = $('#member-code-text');
  text.textContent = c.code;
  text.dataset.code = c.code;
  $('#member-code-expires').textContent = t('code.expires', { time: fmtTime(c.expires_at), s: c.valid_for_s });
  const again = Math.max(1, Math.floor(c.valid_for_s * 0.75)) * 1000;
  codeTimer = setTimeout(() => {
    if (codeFor !== m.id || !state.member || state.member.id !== m.id) return;
    showMemberCode().catch(showError);
  }, again);
}

export function renderMember() {
  const m = state.member;
  if (codeFor && (!m || m.id !== codeFor)) closeMemberCode();
  $('#member-empty').hidden = !!m;
  $('#member-detail').hidden = !m;
  if (!m) return;
  $('#member-name').textContent = m.name;
  const lv = $('#member-level');
  lv.textContent = m.level ? `${levelName(m.level)}${m.level.rate ? ` · ${rateText(m.level.rate)}` : ''}` : t('common.none');
  lv.dataset.code = (m.level && m.level.code) || '';
  $('#member-id').textContent = `${t('member.id')} ${m.id}`;
  setMoney($('#member-balance'), m.balance);
  setMoney($('#member-principal'), m.principal);
  setMoney($('#member-bonus'), m.bonus);
  setMoney($('#member-available'), m.available_here);
  const partial = toFen(m.available_here) !== null && toFen(m.balance) !== null && toFen(m.available_here) !== toFen(m.balance);
  $('#member-available-hint').hidden = !partial;
  const pts = $('#member-points');
  pts.textContent = m.points === undefined || m.points === null ? t('common.none') : String(m.points);
  pts.dataset.value = String(m.points);
  $('#member-visits').textContent = m.visits === undefined ? t('common.none') : String(m.visits);

  const dl = clear($('#member-profile'));
  const row = (label, ...val) => dl.append(h('div', { class: 'kv-row' }, h('dt', { text: label }), h('dd', null, ...val)));
  row(t('field.phone'),
    h('span', { 'data-test': 'member-phone', text: state.phoneShown ? m.phone : maskPhone(m) }), ' ',
    m.phone ? h('button', {
      type: 'button', class: 'link-btn', 'data-test': 'member-phone-reveal',
      text: state.phoneShown ? t('common.hide') : t('common.show'),
      onclick: () => { state.phoneShown = !state.phoneShown; renderMember(); },
    }) : null);
  row(t('field.card_no'), h('span', { 'data-test': 'member-card', text: m.card_no || t('common.none') }));
  row(t('field.gender'), genderName(m.gender));
  row(t('field.birthday'), m.birthday || t('common.none'));
  row(t('member.cumulative_principal'), money(m.cumulative_principal));
  row(t('member.cumulative_spent'), money(m.cumulative_spent));
  row(t('member.home_store'), m.home_store || t('common.none'));
  row(t('member.created_at'), fmtTime(m.created_at));
  if (m.tags && m.tags.length) row(t('field.tags'), ...m.tags.map((x) => h('span', { class: 'tag', text: x })));
  if (m.notes) row(t('field.notes'), m.notes);

  renderRechargeResult();
  renderHistory();
  renderMemberCoupons();
  renderMemberCards();
}

function renderHistory() {
  const tb = clear($('#member-history tbody'));
  const list = state.history;
  if (!list) return;
  if (!list.length) {
    tb.append(h('tr', null, h('td', { colspan: 8, class: 'muted', text: t('history.empty') })));
    return;
  }
  for (const e of list) {
    const ref = e.ref ? (/^o-/.test(e.ref)
      ? h('button', { type: 'button', class: 'link-btn', text: e.ref, onclick: () => openOrderFromElsewhere(e.ref) })
      : e.ref) : t('common.none');
    tb.append(h('tr', { 'data-test': 'history-row', 'data-kind': e.kind },
      h('td', { class: 'nowrap', text: fmtTime(e.at) }),
      h('td', { text: I18N.zh[`kind.${e.kind}`] ? t(`kind.${e.kind}`) : e.kind }),
      // The store, and who did it there (a staff member's name, or admin).
      h('td', null, e.store || t('common.none'),
        e.actor_name ? h('div', { class: 'small muted', 'data-test': 'history-actor', text: e.actor_name }) : null),
      h('td', { class: 'num money', text: e.amount == null ? t('common.none') : money(e.amount) }),
      h('td', { class: 'num money', text: e.principal == null ? t('common.none') : money(e.principal) }),
      h('td', { class: 'num money', text: e.bonus == null ? t('common.none') : money(e.bonus) }),
      h('td', { class: 'num', text: e.points ? String(e.points) : t('common.none') }),
      h('td', { class: 'mono small' }, ref)));
  }
}

async function registerMember(ev) {
  ev.preventDefault();
  clearError();
  const f = ev.currentTarget;
  const body = { phone: $('#register-phone').value.trim(), name: $('#register-name').value.trim() };
  const bday = $('#register-birthday').value;
  const gender = $('#register-gender').value;
  const card = $('#register-card').value.trim();
  if (bday) body.birthday = bday;
  if (gender) body.gender = gender;
  if (card) body.card_no = card;
  await busy($('#register-submit'), async () => {
    const m = await postOnce('register', '/api/v1/members', body);
    f.reset();
    toast(t('register.done', { name: m.name }));
    state.rechargeResult = null;
    await openMember(m.id, m);
    $('#recharge-amount').focus();
  });
}

async function doSearchMembers(ev) {
  ev.preventDefault();
  clearError();
  const q = $('#member-search-q').value.trim();
  if (!q) { showError(localError('members.query_required')); return; }
  const by = guessBy(q, $('#member-search-by'));
  await busy($('#member-search-submit'), async () => {
    const list = await searchMembers(by, q);
    state.results.members = list;
    renderSearchResults();
    if (list.length === 1) await openMember(list[0].id, list[0]);
  });
}

// --- edit profile ---
function openEdit() {
  const m = state.member;
  if (!m) return;
  $('#edit-phone').value = m.phone || '';
  $('#edit-name').value = m.name || '';
  $('#edit-birthday').value = m.birthday || '';
  $('#edit-gender').value = m.gender || '';
  $('#edit-card').value = m.card_no || '';
  $('#edit-tags').value = (m.tags || []).join(', ');
  $('#edit-notes').value = m.notes || '';
  $('#edit-form').hidden = false;
  $('#edit-name').focus();
}

async function saveEdit(ev) {
  ev.preventDefault();
  clearError();
  const m = state.member;
  if (!m) return;
  const patch = {};
  const phone = $('#edit-phone').value.trim();
  const name = $('#edit-name').value.trim();
  const bday = $('#edit-birthday').value || null;
  const gender = $('#edit-gender').value || null;
  const card = $('#edit-card').value.trim() || null;
  const tags = $('#edit-tags').value.split(/[,，、]/).map((x) => x.trim()).filter(Boolean);
  const notes = $('#edit-notes').value;
  if (phone !== (m.phone || '')) patch.phone = phone;
  if (name !== (m.name || '')) patch.name = name;
  if (bday !== (m.birthday || null)) patch.birthday = bday;
  if (gender !== (m.gender || null)) patch.gender = gender;
  if (card !== (m.card_no || null)) patch.card_no = card;
  if (JSON.stringify(tags) !== JSON.stringify(m.tags || [])) patch.tags = tags;
  if (notes !== (m.notes || '')) patch.notes = notes;
  if (!Object.keys(patch).length) { $('#edit-form').hidden = true; toast(t('edit.nothing')); return; }
  await busy($('#edit-submit'), async () => {
    const updated = await api('PATCH', `/api/v1/members/${encodeURIComponent(m.id)}`, { body: patch });
    toast(t('edit.done'));
    $('#edit-form').hidden = true;
    await openMember(updated.id || m.id, updated);
  });
}

// --- recharge ---
function offerFor(fen) {
  const offers = (state.programme && state.programme.recharge_offers) || [];
  let best = null;
  for (const o of offers) {
    const th = toFen(o.threshold);
    if (th !== null && fen >= th && (!best || th > toFen(best.threshold))) best = o;
  }
  return best;
}

function levelFor(cumFen) {
  const levels = (state.programme && state.programme.levels) || [];
  let best = null;
  for (const l of levels) {
    const min = toFen(l.min_principal);
    if (min !== null && cumFen >= min && (!best || min > toFen(best.min_principal))) best = l;
  }
  return best;
}

export function renderRechargeOffers() {
  const box = clear($('#recharge-offers'));
  const offers = (state.programme && state.programme.recharge_offers) || [];
  if (!offers.length) return;
  box.append(h('span', { class: 'muted', text: t('recharge.offers') }));
  for (const o of offers) {
    box.append(h('button', {
      type: 'button', class: 'chip', 'data-test': 'recharge-offer', 'data-threshold': o.threshold,
      text: t('recharge.offer', { threshold: money(o.threshold), bonus: money(o.bonus) }),
      onclick: () => { $('#recharge-amount').value = fenStr(toFen(o.threshold)); renderRechargePreview(); $('#recharge-amount').focus(); },
    }));
  }
}

export function renderRechargePreview() {
  const box = clear($('#recharge-preview'));
  const amount = parseAmountInput($('#recharge-amount').value);
  if (!amount || toFen(amount) <= 0n) return;
  const fen = toFen(amount);
  const offer = offerFor(fen);
  const bonusFen = offer ? toFen(offer.bonus) : 0n;
  let text = t('recharge.preview', { amount: money(amount), bonus: money(fenStr(bonusFen)), total: money(fenStr(fen + bonusFen)) });
  const m = state.member;
  const cum = m ? toFen(m.cumulative_principal) : null;
  if (cum !== null) {
    const lv = levelFor(cum + fen);
    if (lv) text += t('recharge.preview_level', { cum: money(fenStr(cum + fen)), level: levelName(lv), rate: rateText(lv.rate) });
  }
  box.append(h('span', { 'data-test': 'recharge-bonus', 'data-value': fenStr(bonusFen), text }));
}

function renderRechargeResult() {
  const box = $('#recharge-result');
  const r = state.rechargeResult;
  box.hidden = !r || !state.member || r.member_id !== state.member.id;
  if (box.hidden) return;
  box.textContent = t('recharge.done', {
    principal: money(r.principal), bonus: money(r.bonus), balance: money(r.wallet && r.wallet.balance),
  });
}

async function recharge(ev) {
  ev.preventDefault();
  clearError();
  const m = state.member;
  if (!m) return;
  const amount = parseAmountInput($('#recharge-amount').value);
  if (!amount || toFen(amount) <= 0n) { showError(localError('recharge.invalid', null, 'invalid_amount')); return; }
  const body = { amount, tender: $('#recharge-tender').value };
  await busy($('#recharge-submit'), async () => {
    const r = await postOnce('recharge', `/api/v1/members/${encodeURIComponent(m.id)}/recharges`, body);
    state.rechargeResult = { ...r, member_id: r.member_id || m.id };
    if (state.member && state.member.id === m.id && r.wallet) {
      const w = r.wallet;
      state.member = {
        ...state.member,
        balance: w.balance, principal: w.principal, bonus: w.bonus,
        available_here: w.available_here !== undefined ? w.available_here : state.member.available_here,
        points: w.points !== undefined ? w.points : state.member.points,
        level: r.level || state.member.level,
      };
      renderMember();
    }
    $('#recharge-amount').value = '';
    renderRechargePreview();
    // The result box under the form says it; no toast over the member's name.
    await openMember(m.id, null, true);
  });
}

export function bindMembers() {
  $('#member-search-form').addEventListener('submit', doSearchMembers);
  $('#register-form').addEventListener('submit', registerMember);
  $('#member-edit').addEventListener('click', openEdit);
  $('#edit-cancel').addEventListener('click', () => { $('#edit-form').hidden = true; });
  $('#edit-form').addEventListener('submit', saveEdit);
  $('#member-refresh').addEventListener('click', () => { if (state.member) busy($('#member-refresh'), () => openMember(state.member.id)); });
  $('#member-code').addEventListener('click', () => busy($('#member-code'), showMemberCode));
  $('#member-code-close').addEventListener('click', closeMemberCode);
  $('#recharge-form').addEventListener('submit', recharge);
  $('#recharge-amount').addEventListener('input', renderRechargePreview);
  bindMemberCoupons((id) => openMember(id, null, true));
}
