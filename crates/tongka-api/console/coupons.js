// The member page's coupons (优惠券): every coupon the member holds
// (`GET /members/{id}/coupons`), grouped usable / used / expired (one not
// yet valid sits with the usable ones, saying from when), each with its
// name, kind, benefit in words, window, uses left and where its uses are
// held now; and issuing one (`POST /members/{id}/coupons`, a template of
// the programme), its refusal shown next to the control in the language
// chosen. What a coupon is worth and whether it may be issued are the
// node's to say; this screen only shows what it answers.
import { state } from './state.js';
import { $, clear, h, toast } from './dom.js';
import { t } from './i18n.js';
import { ApiError, api, postOnce } from './api.js';
import { busy } from './feedback.js';
import {
  benefitText, heldText, kindLabel, refusalText, statusLabel, usesText, windowText,
} from './coupon_text.js';

const GROUPS = [
  ['usable', ['usable', 'not_yet_valid']],
  ['used', ['used']],
  ['expired', ['expired']],
];

/** The member's coupons, from the node; null when it cannot say. */
export async function fetchCoupons(id) {
  const r = await api('GET', `/api/v1/members/${encodeURIComponent(id)}/coupons`);
  return (r && r.coupons) || [];
}

/** Loads the coupons of member `id` into the member page (the latest
 * load wins). A node that cannot answer leaves the section saying so, not
 * the page broken. */
let loadSeq = 0;
export async function loadMemberCoupons(id) {
  const seq = ++loadSeq;
  let coupons = null;
  try {
    coupons = await fetchCoupons(id);
  } catch (e) {
    if (e instanceof ApiError && e.unauthorized) throw e;
  }
  if (seq !== loadSeq) return;
  state.memberCoupons = { member_id: id, coupons };
  renderMemberCoupons();
}

/** One coupon as a list item; `extra` goes at its end (a checkbox's off). */
export function couponItem(c, attrs, ...extra) {
  return h('div', { class: 'coupon-item', ...attrs },
    h('div', { class: 'coupon-head' },
      h('strong', { class: 'coupon-name', text: c.name || c.template }), ' ',
      h('span', { class: 'tag', text: kindLabel(c.kind) }), ' ',
      h('span', { class: 'coupon-benefit', 'data-test': 'coupon-benefit', text: benefitText(c) }),
      c.status !== 'usable' ? h('span', { class: `coupon-status status-${c.status}`, text: statusLabel(c.status) }) : null),
    h('div', { class: 'muted small' },
      h('span', { class: 'mono', text: c.code }), ' · ',
      h('span', { text: windowText(c) }), ' · ',
      h('span', { 'data-test': 'coupon-uses', text: usesText(c) }), ' · ',
      h('span', { 'data-test': 'coupon-held', text: heldText(c) })),
    ...extra);
}

// The templates as last read for the selects (HQ may change them while the
// console is open): read again when a select is opened; until then the
// programme read at sign-in. Kept apart from `state.programme`, which the
// programme form edits.
let templates = null;

/** The programme's coupon templates, as last read. */
export function couponTemplates() {
  return templates || (state.programme && state.programme.coupon_templates) || [];
}

/** Reads the templates again (the list read before stays when the node
 * cannot say). */
export async function refreshTemplates() {
  try {
    const p = await api('GET', '/api/v1/programme');
    templates = (p && p.coupon_templates) || [];
  } catch (e) { /* the list read before stays */ }
}

/**
 * Fills the select `sel` with the templates to pick from (keeping the one
 * picked) and enables `submit` when there are some. Redrawn only when
 * what it shows changed: an open select is not disturbed for nothing.
 */
export function templateSelect(sel, submit) {
  const list = couponTemplates();
  // The words depend on the language and, for a free item, the catalogue.
  const sig = `${state.lang}\n${(state.products || []).length}\n${JSON.stringify(list)}`;
  if (sel.dataset.sig === sig) return;
  sel.dataset.sig = sig;
  const keep = sel.value;
  clear(sel);
  sel.disabled = list.length === 0;
  submit.disabled = list.length === 0;
  sel.append(h('option', { value: '', text: list.length ? t('mc.issue_pick') : t('mc.issue_none') }));
  for (const tpl of list) {
    sel.append(h('option', { value: tpl.id, text: `${tpl.name} · ${kindLabel(tpl.kind)} · ${benefitText(tpl)}` }));
  }
  if (list.some((x) => x.id === keep)) sel.value = keep;
}

function templateOptions() {
  templateSelect($('#coupon-issue-template'), $('#coupon-issue-submit'));
}

function renderIssueError() {
  const box = $('#coupon-issue-error');
  const e = state.couponIssueError;
  const shown = e && state.member && e.member_id === state.member.id;
  box.hidden = !shown;
  box.dataset.code = shown ? e.code : '';
  $('#coupon-issue-error-message').textContent = shown ? refusalText(e) : '';
  $('#coupon-issue-error-code').textContent = shown ? e.code : '';
}

/** The coupons section of the member page. */
export function renderMemberCoupons() {
  templateOptions();
  renderIssueError();
  const box = clear($('#member-coupon-list'));
  const m = state.member;
  const mc = state.memberCoupons;
  if (!m || !mc || mc.member_id !== m.id) { delete box.dataset.loaded; return; }
  box.dataset.loaded = m.id;
  if (!mc.coupons) { box.append(h('p', { class: 'muted', text: t('overview.unavailable') })); return; }
  if (!mc.coupons.length) {
    box.append(h('p', { class: 'muted', 'data-test': 'member-coupons-none', text: t('mc.none') }));
    return;
  }
  for (const [group, statuses] of GROUPS) {
    // The usable first, then the ones not valid yet: the API's order kept within each.
    const list = statuses.flatMap((s) => mc.coupons.filter((c) => c.status === s));
    box.append(h('h3', { class: 'coupon-group', text: `${t(`mc.group.${group}`)} (${list.length})` }));
    const ul = h('div', { class: 'coupon-list', 'data-test': `member-coupons-${group}` });
    if (!list.length) ul.append(h('p', { class: 'muted small', text: t('mc.group_none') }));
    for (const c of list) {
      ul.append(couponItem(c, {
        'data-test': 'member-coupon', 'data-code': c.code, 'data-status': c.status,
        'data-held-here': c.held_here ? '1' : '0',
      }));
    }
    box.append(ul);
  }
}

async function issueCoupon(ev, refresh) {
  ev.preventDefault();
  const m = state.member;
  const template = $('#coupon-issue-template').value;
  if (!m) return;
  state.couponIssueError = null;
  if (!template) {
    state.couponIssueError = { member_id: m.id, code: 'invalid_input', localKey: 'mc.issue_pick' };
    renderIssueError();
    return;
  }
  renderIssueError();
  await busy($('#coupon-issue-submit'), async () => {
    let c;
    try {
      c = await postOnce('coupon-issue', `/api/v1/members/${encodeURIComponent(m.id)}/coupons`, { template });
    } catch (e) {
      // A refusal goes next to the control; a lost answer to the banner
      // (the same click again reuses its key).
      if (!(e instanceof ApiError) || e.unauthorized || e.uncertain) throw e;
      state.couponIssueError = { member_id: m.id, status: e.status, ...e.err };
      renderIssueError();
      return;
    }
    toast(t('mc.issued', { name: c.name || c.code }));
    await refresh(m.id);
  });
}

/** `refresh(id)` reloads the member page (the coupons and the history). */
export function bindMemberCoupons(refresh) {
  $('#coupon-issue-form').addEventListener('submit', (ev) => issueCoupon(ev, refresh));
  $('#coupon-issue-template').addEventListener('change', () => { state.couponIssueError = null; renderIssueError(); });
  $('#coupon-issue-template').addEventListener('focus', () => refreshTemplates().then(templateOptions));
}
