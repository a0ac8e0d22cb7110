// The programme's coupon templates (券模板) as HQ edits them: a list, one
// row per template, and an editor for one template at a time with every
// field of the API's shape. The templates are part of the programme form:
// they are sent with it, whole, by its one save (programme.js), and
// "undo changes" brings them back as they were. What a field means and
// which values are allowed is the API's to say (`invalid_coupon_template`,
// its message naming the field); here a draft only keeps what was typed,
// so a refusal loses nothing.
//
// A template nobody touched is sent back exactly as the API showed it, so
// that a save of the form can never change it by reading it back through
// the editor (a scope entry with a comma in it, say).
import { state } from './state.js';
import { $, $$, clear, h } from './dom.js';
import { t } from './i18n.js';
import { parseAmountInput } from './format.js';

// The benefit a kind must have (the core's rule, mirrored only to choose
// the benefit when the kind is picked; the API still decides).
const KIND_BENEFIT = { spend_off: 'amount_off', cash: 'amount_off', percent: 'percent', exchange: 'free_item' };

// The fields that must be whole numbers: sent as numbers, or refused here,
// since the API's JSON reader would answer with serde's words.
const WHOLE_FIELDS = { uses: 'coupon.bad_uses', days: 'coupon.bad_days', per_member_limit: 'coupon.bad_limit' };

function list(s) { return s.split(/[,，、]/).map((x) => x.trim()).filter(Boolean); }

/** The editor's strings for a template as the API shows it. */
function draftOf(c) {
  const b = c.benefit || {};
  const v = c.validity || {};
  const s = c.scope || {};
  const str = (x) => (x === null || x === undefined ? '' : String(x));
  return {
    id: str(c.id), name: str(c.name), kind: c.kind || 'cash',
    benefit: b.type || 'amount_off', off: str(b.off), rate: str(b.rate), max_off: str(b.max_off), sku: str(b.sku),
    validity: v.type || 'days_from_issue', days: str(v.days), from: str(v.from), to: str(v.to),
    skus: (s.skus || []).join(', '), categories: (s.categories || []).join(', '),
    stores: (s.stores || []).join(', '), levels: (s.levels || []).join(', '),
    uses: str(c.uses), min_spend: c.min_spend && c.min_spend !== '0.00' ? c.min_spend : '',
    per_member_limit: c.per_member_limit ? String(c.per_member_limit) : '',
  };
}

const NEW_DRAFT = {
  id: '', name: '', kind: 'cash', benefit: 'amount_off', off: '', rate: '', max_off: '', sku: '',
  validity: 'days_from_issue', days: '30', from: '', to: '',
  skus: '', categories: '', stores: '', levels: '', uses: '1', min_spend: '', per_member_limit: '',
};

/**
 * A draft as the API takes it, and the first field typed that is not a
 * whole number where one must be (or null). Amounts typed as "¥1,000"
 * are sent as "1000.00"; anything else as typed, for the API to refuse.
 */
function toTemplate(d) {
  let bad = null;
  const whole = (field, s, empty) => {
    const x = s.trim();
    if (!x && empty !== undefined) return empty;
    if (/^\d{1,9}$/.test(x)) return Number(x);
    if (!bad) bad = field;
    return x;
  };
  const amount = (s) => { const x = s.trim(); return parseAmountInput(x) || x; };
  const benefit = d.benefit === 'percent'
    ? { type: 'percent', rate: d.rate.trim(), ...(d.max_off.trim() ? { max_off: amount(d.max_off) } : {}) }
    : d.benefit === 'free_item' ? { type: 'free_item', sku: d.sku.trim() }
      : { type: 'amount_off', off: amount(d.off) };
  const validity = d.validity === 'dates'
    ? { type: 'dates', from: d.from.trim(), to: d.to.trim() }
    : { type: 'days_from_issue', days: whole('days', d.days) };
  const tpl = {
    id: d.id.trim(), name: d.name.trim(), kind: d.kind, benefit, validity,
    scope: { skus: list(d.skus), categories: list(d.categories), stores: list(d.stores), levels: list(d.levels) },
    uses: whole('uses', d.uses),
    min_spend: d.min_spend.trim() ? amount(d.min_spend) : '0.00',
    per_member_limit: whole('per_member_limit', d.per_member_limit, 0),
  };
  return { tpl, bad };
}

/** Takes the templates as the API shows them, none open (drawn by
 * `renderCoupons`). */
export function fillCoupons(templates) {
  state.progCoupons = (templates || []).map((c) => ({ orig: c, draft: draftOf(c), touched: false }));
  state.couponOpen = null;
}

/**
 * The templates to send, and `sent` (the entries in the order sent, to
 * find the one a refusal names); or a local refusal of the first draft
 * with a field that must be a whole number and is not.
 */
export function readCoupons() {
  const templates = [];
  for (const [i, e] of state.progCoupons.entries()) {
    if (!e.touched) { templates.push(e.orig); continue; }
    const { tpl, bad } = toTemplate(e.draft);
    if (bad) {
      return { error: { code: 'invalid_input', localKey: WHOLE_FIELDS[bad], vars: { n: i + 1 }, coupon: e } };
    }
    templates.push(tpl);
  }
  return { templates, sent: state.progCoupons.slice() };
}

/** The entry a refusal is about: by the API's `field`, or a local one's. */
function refusedEntry(e) {
  if (!e) return null;
  if (e.coupon) return e.coupon;
  const m = /^coupon_templates\[(\d+)\]/.exec(e.field || '');
  return m && state.progSentCoupons ? state.progSentCoupons[Number(m[1])] || null : null;
}

/** Whether a refusal of the programme is about its coupon templates. */
export function isCouponError(e) {
  return !!e && (e.code === 'invalid_coupon_template' || !!refusedEntry(e));
}

/** After a refusal: the editor opens on the template it names. */
export function openRefused() {
  const i = state.progCoupons.indexOf(refusedEntry(state.progError));
  if (i >= 0) { state.couponOpen = i; renderCoupons(); }
  $('#coupon-error').scrollIntoView({ block: 'nearest' });
}

function summary(c) {
  const b = c.benefit || {};
  const min = c.min_spend && c.min_spend !== '0.00' ? c.min_spend : null;
  const benefit = b.type === 'amount_off'
    ? (min ? t('coupon.off_min', { off: b.off, min }) : t('coupon.off', { off: b.off }))
    : b.type === 'percent'
      ? (b.max_off ? t('coupon.percent_max', { rate: b.rate, max: b.max_off }) : t('coupon.percent', { rate: b.rate }))
      : t('coupon.free_item', { sku: b.sku });
  const v = c.validity || {};
  const valid = v.type === 'dates' ? t('coupon.dates', { from: v.from, to: v.to }) : t('coupon.days', { days: v.days });
  return { benefit, valid };
}

/** One template's row: what it is, and (to HQ) edit and remove. */
function couponRow(e, i) {
  const c = e.touched ? toTemplate(e.draft).tpl : e.orig;
  const { benefit, valid } = summary(c);
  const tr = h('tr', { class: 'prog-coupon', 'data-test': 'prog-coupon', 'data-index': i, 'data-id': c.id },
    h('td', { class: 'mono', text: c.id }),
    h('td', { text: c.name }),
    h('td', { text: t('coupon.kind.' + c.kind) }),
    h('td', { text: benefit }),
    h('td', { text: valid }),
    h('td', { class: 'num', text: String(c.uses) }),
    h('td', { class: 'prog-edit nowrap' },
      h('button', { type: 'button', class: 'link-btn', 'data-act': 'edit', 'data-test': `prog-coupon-edit-${i}`, text: t('coupon.edit') }),
      h('button', { type: 'button', class: 'icon-btn', 'data-act': 'remove', 'data-test': `prog-coupon-remove-${i}`, title: t('common.remove'), text: '×' })));
  if (state.couponOpen === i) tr.classList.add('open');
  if (refusedEntry(state.progError) === e) tr.classList.add('invalid');
  return tr;
}

/** The benefit's and validity's own fields, for the types chosen. */
function syncEditorFields() {
  const ed = $('#coupon-editor');
  const b = $('#coupon-benefit-type').value;
  const v = $('#coupon-validity-type').value;
  for (const el of $$('[data-for-benefit]', ed)) el.hidden = el.dataset.forBenefit !== b;
  for (const el of $$('[data-for-validity]', ed)) el.hidden = el.dataset.forValidity !== v;
}

/** The list, the editor (on the template open, to HQ) and the refusal. */
export function renderCoupons() {
  const entries = state.progCoupons || [];
  if (!state.progEditable) state.couponOpen = null;
  const tb = clear($('#prog-coupons-table tbody'));
  entries.forEach((e, i) => tb.append(couponRow(e, i)));
  $('#prog-coupons-none').hidden = entries.length > 0;
  const ed = $('#coupon-editor');
  const open = state.couponOpen === null ? null : entries[state.couponOpen];
  ed.hidden = !open;
  if (open) {
    ed.dataset.index = String(state.couponOpen);
    $('#coupon-editor-title').textContent = t('coupon.editing', { n: state.couponOpen + 1, id: open.draft.id || t('coupon.new') });
    for (const el of $$('[data-cf]', ed)) el.value = open.draft[el.dataset.cf];
    syncEditorFields();
  } else {
    delete ed.dataset.index;
  }
  renderCouponError();
}

/** A refusal about the templates, next to them, in the language chosen. */
export function renderCouponError() {
  const box = $('#coupon-error');
  const e = state.progError;
  if (!isCouponError(e)) { box.hidden = true; delete box.dataset.code; return; }
  const msg = e.localKey ? t(e.localKey, e.vars)
    : state.lang === 'zh' ? (e.message_zh || e.message || t('err.http', { status: e.status }))
      : (e.message || e.message_zh || t('err.http', { status: e.status }));
  $('#coupon-error-message').textContent = msg;
  $('#coupon-error-code').textContent = e.code || '';
  box.dataset.code = e.code || '';
  box.hidden = false;
  $('#prog-coupons').classList.add('invalid');
}

/** What was typed into the editor goes to its template's draft. */
function editorInput(ev) {
  const i = state.couponOpen;
  const e = i === null ? null : state.progCoupons[i];
  if (!e) return;
  if (ev.target.dataset.cf === 'kind' && KIND_BENEFIT[ev.target.value]) {
    $('#coupon-benefit-type').value = KIND_BENEFIT[ev.target.value];
  }
  for (const el of $$('[data-cf]', $('#coupon-editor'))) e.draft[el.dataset.cf] = el.value;
  e.touched = true;
  syncEditorFields();
  const old = $(`#prog-coupons-table tbody tr[data-index="${i}"]`);
  if (old) old.replaceWith(couponRow(e, i));
  $('#coupon-editor-title').textContent = t('coupon.editing', { n: i + 1, id: e.draft.id || t('coupon.new') });
}

export function bindCoupons() {
  $('#prog-add-coupon').addEventListener('click', () => {
    if (!state.progEditable) return;
    state.progDirty = true;
    state.progCoupons.push({ orig: null, draft: { ...NEW_DRAFT }, touched: true });
    state.couponOpen = state.progCoupons.length - 1;
    renderCoupons();
    $('#coupon-id').focus();
  });
  $('#prog-coupons-table tbody').addEventListener('click', (ev) => {
    const b = ev.target.closest('[data-act]');
    if (!b || !state.progEditable) return;
    const i = Number(b.closest('tr').dataset.index);
    if (b.dataset.act === 'edit') {
      state.couponOpen = i;
      renderCoupons();
      $('#coupon-name').focus();
      return;
    }
    state.progDirty = true;
    state.progCoupons.splice(i, 1);
    if (state.couponOpen === i) state.couponOpen = null;
    else if (state.couponOpen !== null && state.couponOpen > i) state.couponOpen -= 1;
    renderCoupons();
  });
  $('#coupon-editor').addEventListener('input', editorInput);
  $('#coupon-editor').addEventListener('change', editorInput);
  $('#coupon-done').addEventListener('click', () => { state.couponOpen = null; renderCoupons(); });
}
