// The reports screen (报表, for those who may see reports): pick a report
// (sales, liability, points, members, rankings), the stores, the days and,
// for sales, a tender kind; the table is the report's JSON
// (GET /reports/<name>), laid out as its CSV and Excel exports are
// (reports/tables.rs: same columns, same summary rows), under a line that
// says how fresh the figures are. The download buttons fetch the same
// report with `format=csv|xlsx` and the token (a plain link could not send
// it), and hand the file over as a Blob behind an <a download> link, kept
// on the screen in case the browser did not save it by itself.
import { state } from './state.js';
import { $, $$, clear, h } from './dom.js';
import { I18N, t } from './i18n.js';
import { fmtTime, money, tenderName } from './format.js';
import { ApiError, api } from './api.js';
import { busy, clearError } from './feedback.js';
import { onShow } from './nav.js';
import { refusalText } from './coupon_text.js';
import { chainNodes } from './nodes.js';
import { REPORTS_I18N } from './i18n_reports.js';

Object.assign(I18N.zh, REPORTS_I18N.zh);
Object.assign(I18N.en, REPORTS_I18N.en);

const CHANNELS = ['balance', 'cash', 'card', 'wechat', 'alipay'];

// Each report: the query parameters it takes, its columns (JSON field,
// kind), and its rows as the exports write them: the JSON's rows, then
// its summaries labelled in the store column.
const SALES_FIGURES = [['sales', 'int'], ['sales_amount', 'money'], ['recharges', 'int'],
  ['recharged_principal', 'money'], ['recharged_bonus', 'money'], ['refunds', 'int'], ['refunded', 'money'],
  ['balance_spent_principal', 'money'], ['balance_spent_bonus', 'money'],
  ['balance_refunded_principal', 'money'], ['balance_refunded_bonus', 'money']];
const POINTS_FIGURES = ['issued', 'redeemed', 'reversed', 'returned', 'expired', 'moved_in', 'moved_out', 'net']
  .map((f) => [f, 'int']);
const label = (key) => ({ label: key });

const REPORTS = {
  sales: {
    params: ['range', 'store', 'channel'],
    columns: [['day', 'date'], ['store', 'text'], ...SALES_FIGURES],
    rows: (r) => [...r.rows, { ...r.totals, store: label('rep.total') }],
  },
  liability: {
    params: ['store'],
    columns: [['store', 'text'], ['principal', 'money'], ['bonus', 'money']],
    rows: (r) => [...r.stores, ...(r.chain ? [{ ...r.chain, store: label('rep.chain') }] : [])],
  },
  points: {
    params: ['range', 'store'],
    columns: [['day', 'date'], ['store', 'text'], ...POINTS_FIGURES, ['outstanding', 'int']],
    rows: (r) => [...r.rows, ...r.stores,
      ...(r.chain_outstanding === null ? [] : [{ store: label('rep.chain'), outstanding: r.chain_outstanding }])],
  },
  members: {
    params: ['range', 'store'],
    columns: [['day', 'date'], ['store', 'text'], ['new', 'int'], ['active', 'int']],
    rows: (r) => [...r.rows, { store: label('rep.total'), new: r.new }],
  },
  rankings: {
    params: ['range'],
    columns: [['rank', 'int'], ['store', 'text'], ['sales_amount', 'money'], ['sales', 'int'],
      ['refunded', 'money'], ['recharged_principal', 'money']],
    rows: (r) => r.stores,
  },
};

// What the screen holds: the last answer and the query it answered, the
// last refusal, the chain's nodes, the last file made.
const view = { answer: null, kind: null, error: null, nodes: null, file: null };

function isoDay(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

function kind() { return $('#reports-kind').value || 'sales'; }

/** The query of the report chosen, in `format` (json: none). */
function query(format) {
  const k = kind();
  const takes = REPORTS[k].params;
  const q = new URLSearchParams();
  if (takes.includes('range')) {
    for (const [name, sel] of [['from', '#reports-from'], ['to', '#reports-to']]) {
      const v = $(sel).value.trim();
      if (v) q.set(name, v);
    }
  }
  if (takes.includes('store') && $('#reports-store').value) q.set('store', $('#reports-store').value);
  if (takes.includes('channel') && $('#reports-channel').value) q.set('channel', $('#reports-channel').value);
  if (format) { q.set('format', format); q.set('lang', state.lang === 'en' ? 'en' : 'zh'); }
  const s = q.toString();
  return `/api/v1/reports/${k}${s ? `?${s}` : ''}`;
}

async function load() {
  view.error = null;
  const k = kind();
  try {
    view.answer = await api('GET', query(null));
    view.kind = k;
  } catch (e) {
    if (!(e instanceof ApiError) || e.unauthorized) throw e;
    view.error = { status: e.status, ...e.err };
    view.answer = null;
  }
  renderReports();
}

/** The file name a download answer gives (RFC 5987 `filename*` first). */
function fileName(res, fallback) {
  const cd = res.headers.get('Content-Disposition') || '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
  if (star) { try { return decodeURIComponent(star[1]); } catch (e) { /* the plain one */ } }
  const plain = /filename="([^"]+)"/i.exec(cd);
  return plain ? plain[1] : fallback;
}

async function download(format) {
  view.error = null;
  const path = query(format);
  let res;
  try {
    res = await fetch(path, {
      headers: { Authorization: `Bearer ${state.token}` }, cache: 'no-store', credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, { code: 'network_error' });
  }
  if (!res.ok) {
    // A refusal is JSON, as any other; 401 goes through `api` to sign out.
    if (res.status === 401) { await api('GET', path); return; }
    let err;
    try { err = (await res.json()).error; } catch (e) { err = null; }
    view.error = { status: res.status, ...(err || { code: `http_${res.status}` }) };
    renderReports();
    return;
  }
  const blob = await res.blob();
  if (view.file) URL.revokeObjectURL(view.file.url);
  view.file = { url: URL.createObjectURL(blob), name: fileName(res, `${kind()}.${format}`), format, size: blob.size };
  renderReports();
  $('#reports-file').click();
}

function renderControls() {
  const k = kind();
  const takes = REPORTS[k].params;
  for (const l of $$('.reports-range')) l.hidden = !takes.includes('range');
  $('#reports-store-label').hidden = !takes.includes('store');
  $('#reports-channel-label').hidden = !takes.includes('channel');
  const pick = $('#reports-kind');
  for (const o of pick.options) o.textContent = t(`rep.k.${o.value}`);
  const stores = $('#reports-store');
  const keep = stores.value;
  clear(stores);
  stores.append(h('option', { value: '', text: t('rep.all_stores') }));
  for (const n of view.nodes || []) stores.append(h('option', { value: n, text: n }));
  if ((view.nodes || []).includes(keep)) stores.value = keep;
  const ch = $('#reports-channel');
  const was = ch.value;
  clear(ch);
  ch.append(h('option', { value: '', text: t('rep.all_channels') }));
  for (const c of CHANNELS) ch.append(h('option', { value: c, text: tenderName(c) }));
  ch.value = was;
}

function cell(row, [field, type]) {
  const v = row[field];
  const attrs = { 'data-field': field, class: type === 'money' || type === 'int' ? 'num' : null };
  if (v === undefined || v === null) return h('td', { ...attrs, 'data-value': '' });
  if (v && typeof v === 'object' && v.label) return h('td', { ...attrs, 'data-label': v.label, text: t(v.label) });
  return h('td', { ...attrs, 'data-value': String(v), text: type === 'money' ? money(v) : String(v) });
}

function renderFreshness(f) {
  const p = $('#reports-fresh');
  if (!f) { p.textContent = ''; return; }
  const list = (f.newest || []).map((n) => t('rep.fresh_one', { store: n.store, seq: n.seq, at: fmtTime(n.at) }));
  p.textContent = list.length ? t('rep.fresh', { list: list.join(state.lang === 'zh' ? '；' : '; ') }) : t('rep.fresh_none');
}

export function renderReports() {
  if (!$('#reports-body')) return;
  renderControls();
  const err = view.error;
  const box = $('#reports-error');
  box.hidden = !err;
  box.dataset.code = err ? err.code : '';
  box.textContent = err ? `${refusalText(err)} (${err.code})` : '';
  const link = $('#reports-file');
  link.hidden = !view.file;
  if (view.file) {
    link.href = view.file.url;
    link.download = view.file.name;
    link.dataset.format = view.file.format;
    link.dataset.name = view.file.name;
    link.textContent = t('rep.save_again', { name: view.file.name });
  }
  const root = clear($('#reports-body'));
  const r = view.answer;
  renderFreshness(r && r.freshness);
  if (!r) return;
  const spec = REPORTS[view.kind];
  const rows = spec.rows(r);
  root.dataset.kind = view.kind;
  root.append(h('h3', { 'data-test': 'reports-heading', text: t(`rep.k.${view.kind}`) }));
  if ((r.rows || r.stores || []).length === 0) root.append(h('p', { class: 'muted', 'data-test': 'reports-none', text: t('rep.none') }));
  root.append(
    h('div', { class: 'table-wrap' },
      h('table', { class: 'table', 'data-test': 'reports-table' },
        h('thead', null, h('tr', null, spec.columns.map(([f, type]) => h('th', {
          class: type === 'money' || type === 'int' ? 'num' : null, 'data-field': f, text: t(`rep.c.${f}`),
        })))),
        h('tbody', null, rows.map((row) => h('tr', {
          'data-test': 'reports-row',
          'data-store': typeof row.store === 'string' ? row.store : '',
          'data-day': row.day || '',
          'data-summary': typeof row.store === 'object' && row.store ? row.store.label : null,
        }, spec.columns.map((c) => cell(row, c))))))),
  );
}

export function bindReports() {
  const to = new Date();
  const from = new Date(to.getTime() - 29 * 86400000);
  $('#reports-from').value = isoDay(from);
  $('#reports-to').value = isoDay(to);
  onShow('reports', () => busy($('#reports-show'), async () => {
    if (!view.nodes) view.nodes = await chainNodes();
    await load();
  }));
  $('#reports-kind').addEventListener('change', () => {
    view.answer = null; view.error = null;
    renderReports();
    busy($('#reports-show'), load);
  });
  $('#reports-form').addEventListener('submit', (ev) => {
    ev.preventDefault(); clearError(); busy($('#reports-show'), load);
  });
  for (const format of ['csv', 'xlsx']) {
    $(`#reports-${format}`).addEventListener('click', () => {
      clearError(); busy($(`#reports-${format}`), () => download(format));
    });
  }
}
