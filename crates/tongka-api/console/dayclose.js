// The day close and shift handover screen (日结 / 交班): what a close would
// record now (GET /closes/preview: totals by tender since this store's
// previous close of the kind), the opening float and the cash counted
// typed in, over or short shown live, the close confirmed (POST /closes,
// one key per action), its printable slip (GET /closes/{id}/receipt), and
// the closes made before. A cashier closes a shift, a store manager or the
// owner the day (`close_shift`, `close_day`, perms.js). The live sum is
// in integer fen from the node's expected cash; the close records the
// node's own figures.
import { state } from './state.js';
import { $, clear, h, toast } from './dom.js';
import { I18N, t } from './i18n.js';
import { fenStr, fmtTime, money, parseAmountInput, tenderName, toFen } from './format.js';
import { api, postOnce } from './api.js';
import { busy, localError, showError } from './feedback.js';
import { onShow } from './nav.js';
import { DAYCLOSE_I18N } from './i18n_dayclose.js';

Object.assign(I18N.zh, DAYCLOSE_I18N.zh);
Object.assign(I18N.en, DAYCLOSE_I18N.en);

function kind() { return $('#close-kind').value === 'day' ? 'day' : 'shift'; }

/** The float typed, as an amount ("0.00" when empty); null when bad. */
function floatTyped() {
  const raw = $('#close-float').value.trim();
  return raw ? parseAmountInput(raw) : '0.00';
}

async function loadPreview() {
  state.closePreview = null;
  state.closePreviewError = null;
  try {
    state.closePreview = await api('GET', `/api/v1/closes/preview?kind=${kind()}`);
  } catch (e) {
    state.closePreviewError = e;
  }
  renderDayclose();
}

async function loadCloses() {
  const r = await api('GET', '/api/v1/closes?limit=50');
  state.closes = (r && r.closes) || [];
  renderCloses();
}

async function load() {
  await Promise.all([loadPreview(), loadCloses()]);
}

function kv(label, value, test, raw) {
  return h('div', { class: 'kv-row' }, h('dt', { text: label }),
    h('dd', { class: 'money', 'data-test': test, 'data-value': raw, text: value }));
}

/** Expected cash with the float typed, and counted − expected, in fen. */
function live(p) {
  const fl = floatTyped();
  const counted = parseAmountInput($('#close-counted').value);
  const expected = fl === null ? null : toFen(p.expected_cash) + toFen(fl);
  const diff = expected === null || counted === null ? null : toFen(counted) - expected;
  return { expected, diff };
}

function resultKey(diff) {
  if (diff === null) return null;
  if (diff > 0n) return 'over';
  if (diff < 0n) return 'short';
  return 'even';
}

export function renderDayclose() {
  const box = $('#close-preview');
  if (!box) return;
  clear(box);
  const confirm = $('#close-confirm');
  confirm.dataset.needs = kind() === 'day' ? 'close_day' : 'close_shift';
  const p = state.closePreview;
  if (!p) {
    const e = state.closePreviewError;
    if (e) {
      box.append(h('p', { class: 'form-error', 'data-test': 'close-preview-error', 'data-code': e.code,
        text: state.lang === 'zh' ? (e.err.message_zh || e.err.message) : (e.err.message || e.code) }));
    }
    return;
  }
  box.append(h('p', { class: 'muted', 'data-test': 'close-period',
    text: t('close.period', { from: fmtTime(p.from), to: fmtTime(p.to) }) }));
  box.append(h('p', { class: 'muted small', text: t('close.ops', { n: p.ops, a: p.seq_from, b: p.seq_to }) }));
  box.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-test': 'close-tenders' },
    h('thead', null, h('tr', null, ['close.tender', 'close.sales', 'close.sold', 'close.recharged', 'close.refunded', 'close.net']
      .map((k, i) => h('th', { class: i ? 'num' : null, text: t(k) })))),
    h('tbody', null, p.tenders.map((x) => h('tr', { 'data-test': 'close-tender', 'data-tender': x.tender, 'data-net': x.net },
      h('td', { text: tenderName(x.tender) }),
      h('td', { class: 'num', text: String(x.sales) }),
      h('td', { class: 'num money', 'data-test': 'close-tender-sold', text: money(x.sold) }),
      h('td', { class: 'num money', text: money(x.recharged) }),
      h('td', { class: 'num money', text: money(x.refunded) }),
      h('td', { class: 'num money strong', text: money(x.net) })))))));
  const { expected, diff } = live(p);
  const r = resultKey(diff);
  box.append(h('dl', { class: 'totals' },
    kv(t('close.orders'), String(p.orders), 'close-orders', p.orders),
    kv(t('close.sales_total'), money(p.sales), 'close-sales', p.sales),
    kv(t('close.recharges'), `${p.recharges} · ${money(p.recharged)}`, 'close-recharged', p.recharged),
    kv(t('close.bonus'), money(p.recharged_bonus), 'close-bonus', p.recharged_bonus),
    kv(t('close.refunds'), `${p.refunds} · ${money(p.refunded)}`, 'close-refunded', p.refunded),
    kv(t('close.expected'), expected === null ? '—' : money(fenStr(expected)), 'close-expected',
      expected === null ? '' : fenStr(expected)),
    h('div', { class: 'kv-row grand' }, h('dt', { text: t('close.difference') }),
      h('dd', { class: `money ${r === 'short' ? 'danger' : ''}`, 'data-test': 'close-difference',
        'data-value': diff === null ? '' : fenStr(diff), 'data-result': r || '',
        text: diff === null ? '—' : `${money(fenStr(diff))} ${t(`close.${r}`)}` }))));
  box.append(h('p', { class: 'muted small', text: t('close.rule') }));
}

function renderSlip() {
  const s = state.closeSlip;
  $('#close-slip').hidden = !s;
  $('#close-slip-text').textContent = s || '';
}

async function showSlip(id) {
  state.closeSlip = await api('GET', `/api/v1/closes/${encodeURIComponent(id)}/receipt`, { text: true });
  renderSlip();
}

export function renderCloses() {
  const body = $('#close-list tbody');
  if (!body) return;
  clear(body);
  const list = state.closes || [];
  $('#close-none').hidden = list.length > 0;
  for (const c of list) {
    body.append(h('tr', { 'data-test': 'close-row', 'data-id': c.id, 'data-kind': c.kind, 'data-difference': c.difference },
      h('td', { text: c.day }),
      h('td', { text: state.lang === 'zh' ? c.kind_zh : c.kind }),
      h('td', { class: 'mono', text: c.store }),
      h('td', { class: 'num money', text: money(c.expected_cash) }),
      h('td', { class: 'num money', text: money(c.counted_cash) }),
      h('td', { class: 'num money', text: `${money(c.difference)} ${t(`close.${c.result}`)}` }),
      h('td', { class: 'mono small', text: c.by || '' }),
      h('td', { class: 'small', text: c.at ? fmtTime(c.at) : '' }),
      h('td', null, h('button', { type: 'button', 'data-test': 'close-print-row', text: t('close.print'),
        onclick: (ev) => busy(ev.currentTarget, () => showSlip(c.id)) }))));
  }
}

export function bindDayclose() {
  onShow('dayclose', () => { busy(null, load); });
  $('#close-kind').addEventListener('change', () => busy(null, loadPreview));
  $('#close-refresh').addEventListener('click', (ev) => busy(ev.currentTarget, load));
  for (const id of ['#close-float', '#close-counted']) $(id).addEventListener('input', renderDayclose);
  $('#close-print').addEventListener('click', () => window.print());
  $('#close-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const counted = parseAmountInput($('#close-counted').value);
    if (counted === null) { showError(localError('close.need_counted')); return; }
    const fl = floatTyped();
    if (fl === null) { showError(localError('close.bad_float')); return; }
    const note = $('#close-note').value.trim();
    const body = { kind: kind(), opening_float: fl, counted_cash: counted, ...(note ? { note } : {}) };
    busy($('#close-confirm'), async () => {
      const c = await postOnce(`close-${body.kind}`, '/api/v1/closes', body);
      toast(t('close.done', { kind: state.lang === 'zh' ? c.kind_zh : c.kind, id: c.id }));
      $('#close-counted').value = '';
      $('#close-note').value = '';
      await showSlip(c.id);
      await load();
    });
  });
}
