// The programme screen: HQ (or a node of no chain) edits the membership
// programme (recharge offers, levels, points, paying with points); a
// chain's store views it. The coupon templates are part of the form
// (coupons_admin.js edits them) and are sent with it. The API's refusals
// are shown next to the form, on the very field when the API names it.
import { state } from './state.js';
import { $, $$, clear, h, toast } from './dom.js';
import { t } from './i18n.js';
import { parseAmountInput } from './format.js';
import { ApiError, api, sendOnce } from './api.js';
import { busy, clearError } from './feedback.js';
import { onShow } from './nav.js';
import { renderNodeBadge } from './auth.js';
import { renderRechargeOffers, renderRechargePreview } from './members.js';
import { renderPointsRow } from './checkout.js';
import {
  bindCoupons, fillCoupons, isCouponError, openRefused, readCoupons, renderCoupons,
} from './coupons_admin.js';

async function loadProgrammeScreen() {
  const [p, hl, sync] = await Promise.allSettled([
    api('GET', '/api/v1/programme'), api('GET', '/api/v1/health'), api('GET', '/api/v1/sync/status'),
  ]);
  if (p.status === 'rejected') throw p.reason;
  state.programme = p.value;
  if (hl.status === 'fulfilled') { state.health = hl.value; renderNodeBadge(); }
  const role = state.health && state.health.role;
  const peers = sync.status === 'fulfilled' ? (sync.value.peers || []) : null;
  // HQ authors the chain's programme; a node of no chain (no peers) its
  // own. Should this guess be wrong the API says so (programme_hq_only).
  state.progEditable = !state.progLocked && (role === 'hq' || (peers !== null && peers.length === 0));
  state.progError = null;
  state.progDirty = false;
  fillProgrammeForm(state.programme);
  renderRechargeOffers();
  renderRechargePreview();
}

function progInput(cls, value, field, attrs) {
  return h('input', { type: 'text', class: cls, 'data-field': field, value: value == null ? '' : String(value), autocomplete: 'off', spellcheck: 'false', ...(attrs || {}) });
}

function addOfferRow(o) {
  const x = o || {};
  const tr = h('tr', { class: 'prog-offer' },
    h('td', { class: 'num' }, progInput('num', x.threshold, 'threshold', { inputmode: 'decimal', placeholder: '1000.00' })),
    h('td', { class: 'num' }, progInput('num', x.bonus, 'bonus', { inputmode: 'decimal', placeholder: '100.00' })),
    h('td', null, progInput('mono', (x.coupons || []).join(', '), 'coupons', { placeholder: 'cash5, welcome' })),
    h('td', null, h('button', { type: 'button', class: 'icon-btn prog-edit', 'data-field': 'remove', 'data-i18n-title': 'common.remove', title: t('common.remove'), text: '×' })));
  $('#prog-offers-table tbody').append(tr);
  return tr;
}

function addLevelRow(l) {
  const x = l || {};
  const tr = h('tr', { class: 'prog-level' },
    h('td', null, progInput('mono', x.code, 'code', { maxlength: 32 })),
    h('td', null, progInput('', x.name_zh, 'name_zh', { maxlength: 32 })),
    h('td', null, progInput('', x.name_en, 'name_en', { maxlength: 32 })),
    h('td', { class: 'num' }, progInput('num', x.min_principal, 'min_principal', { inputmode: 'decimal' })),
    h('td', { class: 'num' }, progInput('num', x.rate, 'rate', { inputmode: 'decimal', placeholder: '0.95' })),
    h('td', null, h('button', { type: 'button', class: 'icon-btn prog-edit', 'data-field': 'remove', 'data-i18n-title': 'common.remove', title: t('common.remove'), text: '×' })));
  $('#prog-levels-table tbody').append(tr);
  return tr;
}

function renumberProgramme() {
  $$('#prog-offers-table tbody tr').forEach((tr, i) => {
    for (const el of $$('[data-field]', tr)) el.setAttribute('data-test', `prog-offer-${el.dataset.field}-${i}`);
  });
  $$('#prog-levels-table tbody tr').forEach((tr, i) => {
    for (const el of $$('[data-field]', tr)) el.setAttribute('data-test', `prog-level-${el.dataset.field}-${i}`);
  });
  syncProgrammeReadonly();
}

function fillProgrammeForm(p) {
  clear($('#prog-offers-table tbody'));
  clear($('#prog-levels-table tbody'));
  if (p) {
    for (const o of p.recharge_offers || []) addOfferRow(o);
    for (const l of p.levels || []) addLevelRow(l);
  }
  fillCoupons(p && p.coupon_templates);
  $('#prog-points-per-yuan').value = p ? String(p.points_per_yuan) : '';
  const d = p && p.points_deduction;
  $('#prog-deduction-on').checked = !!d;
  $('#prog-deduction-rate').value = d ? String(d.points_per_yuan) : '';
  $('#prog-deduction-cap').value = d ? String(d.cap) : '';
  $('#prog-deduction-min').value = d ? String(d.min_points) : '';
  $('#prog-negative-stock').value = (p && p.negative_stock) || 'allow';
  const form = $('#programme-form');
  form.dataset.loaded = p ? '1' : '';
  renumberProgramme();
  renderProgrammeError();
}

function syncProgrammeReadonly() {
  const form = $('#programme-form');
  const ro = !state.progEditable;
  if (ro) form.dataset.readonly = '1'; else delete form.dataset.readonly;
  $('#programme-readonly').hidden = !ro || !form.dataset.loaded;
  $('#programme-hint').hidden = ro;
  for (const el of $$('input', form)) el.readOnly = ro;
  $('#prog-deduction-on').disabled = ro;
}

/** The form as the API takes it; `rows` maps each sent item to its row. */
function readProgrammeForm() {
  const val = (tr, f) => $(`[data-field="${f}"]`, tr).value.trim();
  // A typed "¥1,000" is sent as "1000.00"; anything else as typed, for
  // the API to refuse with its own message.
  const amount = (s) => parseAmountInput(s) || s;
  const rows = { offers: [], levels: [] };
  const offers = [];
  for (const tr of $$('#prog-offers-table tbody tr')) {
    const th = val(tr, 'threshold');
    const bonus = val(tr, 'bonus');
    const coupons = val(tr, 'coupons').split(/[,，、]/).map((x) => x.trim()).filter(Boolean);
    if (!th && !bonus && !coupons.length) continue;
    offers.push({ threshold: amount(th), bonus: amount(bonus), coupons });
    rows.offers.push(tr);
  }
  const levels = [];
  for (const tr of $$('#prog-levels-table tbody tr')) {
    const l = {
      code: val(tr, 'code'), name_zh: val(tr, 'name_zh'), name_en: val(tr, 'name_en'),
      min_principal: amount(val(tr, 'min_principal')), rate: val(tr, 'rate'),
    };
    if (!l.code && !l.name_zh && !l.name_en && !l.min_principal && !l.rate) continue;
    levels.push(l);
    rows.levels.push(tr);
  }
  const body = { recharge_offers: offers, levels, points_per_yuan: $('#prog-points-per-yuan').value.trim() };
  // Sent as typed (a whole number is sent as a number), for the API to
  // refuse with its own code and message.
  const whole = (s) => (/^\d{1,12}$/.test(s) ? Number(s) : s);
  body.points_deduction = $('#prog-deduction-on').checked ? {
    points_per_yuan: whole($('#prog-deduction-rate').value.trim()),
    cap: $('#prog-deduction-cap').value.trim(),
    min_points: whole($('#prog-deduction-min').value.trim() || '0'),
  } : null;
  body.negative_stock = $('#prog-negative-stock').value;
  const coupons = readCoupons();
  if (coupons.error) return { error: coupons.error };
  body.coupon_templates = coupons.templates;
  rows.coupons = coupons.sent;
  return { body, rows };
}

// Which part of the form an API refusal is about.
const PROG_ERROR_SECTIONS = {
  programme_levels_order: ['levels'], programme_level_rate: ['levels'], programme_level_names: ['levels'],
  programme_offers_order: ['offers'], programme_points_rate: ['points'], programme_too_many: ['offers', 'levels'],
  programme_deduction_rate: ['deduction'], programme_deduction_cap: ['deduction'], programme_deduction_minimum: ['deduction'],
};

export function renderProgrammeError() {
  const box = $('#programme-error');
  const e = state.progError;
  for (const s of $$('.prog-section')) s.classList.remove('invalid');
  for (const el of $$('#programme-form input[aria-invalid]')) el.removeAttribute('aria-invalid');
  // The rows and the editor of the coupon templates, with a refusal about
  // them shown there rather than here.
  renderCoupons();
  if (!e || isCouponError(e)) { box.hidden = true; delete box.dataset.code; return; }
  const msg = state.lang === 'zh' ? (e.message_zh || e.message || t('err.http', { status: e.status }))
    : (e.message || e.message_zh || t('err.http', { status: e.status }));
  $('#programme-error-message').textContent = msg;
  $('#programme-error-code').textContent = e.code || '';
  box.dataset.code = e.code || '';
  box.hidden = false;
  for (const s of PROG_ERROR_SECTIONS[e.code] || []) $(`.prog-section[data-section="${s}"]`).classList.add('invalid');
  // "recharge_offers[1].bonus", "levels[0].min_principal": the very field.
  const m = /^(recharge_offers|levels)\[(\d+)\]\.(\w+)$/.exec(e.field || '');
  const rows = state.progSentRows;
  if (m && rows) {
    const tr = (m[1] === 'levels' ? rows.levels : rows.offers)[Number(m[2])];
    const el = tr && $(`[data-field="${m[3]}"]`, tr);
    if (el) { el.setAttribute('aria-invalid', 'true'); el.closest('.prog-section').classList.add('invalid'); }
  }
}

async function saveProgramme(ev) {
  ev.preventDefault();
  clearError();
  if (!state.progEditable) return;
  const { body, rows, error } = readProgrammeForm();
  state.progError = error || null;
  state.progSentRows = rows || null;
  state.progSentCoupons = rows ? rows.coupons : null;
  renderProgrammeError();
  if (error) { openRefused(); return; }
  await busy([$('#programme-save'), $('#programme-reset')], async () => {
    let p;
    try {
      p = await sendOnce('programme', 'PUT', '/api/v1/programme', body);
    } catch (e) {
      // A refusal of the programme is shown next to the form, the rest
      // (network, server) in the banner.
      if (!(e instanceof ApiError) || e.unauthorized || e.status === 0 || e.status >= 500) throw e;
      state.progError = { status: e.status, ...e.err };
      if (e.code === 'programme_hq_only') {
        // The node is a chain's store after all: show the programme as it is.
        state.progLocked = true;
        state.progEditable = false;
        fillProgrammeForm(state.programme);
      }
      renderProgrammeError();
      if (isCouponError(state.progError)) openRefused();
      else $('#programme-error').scrollIntoView({ block: 'nearest' });
      return;
    }
    state.programme = p;
    renderPointsRow();
    state.progDirty = false;
    fillProgrammeForm(p);
    const form = $('#programme-form');
    form.dataset.saved = String(Number(form.dataset.saved || 0) + 1);
    renderRechargeOffers();
    renderRechargePreview();
    toast(t('prog.saved'));
  });
}

export function bindProgramme() {
  onShow('programme', () => { if (!state.progDirty) busy($('#programme-reload'), loadProgrammeScreen); });
  $('#programme-form').addEventListener('submit', saveProgramme);
  $('#programme-form').addEventListener('input', () => { state.progDirty = true; });
  $('#programme-reload').addEventListener('click', () => { clearError(); busy($('#programme-reload'), loadProgrammeScreen); });
  $('#programme-reset').addEventListener('click', () => {
    state.progError = null;
    state.progDirty = false;
    fillProgrammeForm(state.programme);
  });
  $('#prog-add-offer').addEventListener('click', () => { state.progDirty = true; const tr = addOfferRow(); renumberProgramme(); $('input', tr).focus(); });
  $('#prog-add-level').addEventListener('click', () => { state.progDirty = true; const tr = addLevelRow(); renumberProgramme(); $('input', tr).focus(); });
  for (const tb of [$('#prog-offers-table tbody'), $('#prog-levels-table tbody')]) {
    tb.addEventListener('click', (ev) => {
      const b = ev.target.closest('[data-field="remove"]');
      if (!b || !state.progEditable) return;
      state.progDirty = true;
      b.closest('tr').remove();
      renumberProgramme();
    });
  }
  bindCoupons();
}
