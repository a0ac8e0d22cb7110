// The reports screen (报表, for those who may see reports): pick a report
// (sales, liability, points, members with the dormant ones, stores,
// members or products ranked, coupons, cards), the stores, the days and
// the channel where the report takes one; the table is the report's JSON
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

// What `channel` means in each report (reports.rs, "Channels"): a tender
// kind; how a member joined; where points were issued. A report taking
// none says why under the form (the API refuses it, naming why).
const CHANNELS = {
  tender: { name: 'rep.channel', values: ['balance', 'cash', 'card', 'wechat', 'alipay'], label: tenderName },
  joined: { name: 'rep.channel.joined', values: ['store', 'import'], label: (v) => t(`rep.joined.${v}`) },
  issued: { name: 'rep.channel.issued', values: ['sale', 'import'], label: (v) => t(`rep.issued.${v}`) },
};

// Each report: its path and fixed query, the parameters it takes, its
// channel (or none), its columns (JSON field, kind, header key when it is
// not `rep.c.<field>`), and its rows as the exports write them: the JSON's
// rows, then its summaries labelled in the store column.
const SALES_FIGURES = [['sales', 'int'], ['sales_amount', 'money'], ['recharges', 'int'],
  ['recharged_principal', 'money'], ['recharged_bonus', 'money'], ['refunds', 'int'], ['refunded', 'money'],
  ['balance_spent_principal', 'money'], ['balance_spent_bonus', 'money'],
  ['balance_refunded_principal', 'money'], ['balance_refunded_bonus', 'money']];
const POINTS_FIGURES = ['issued', 'imported', 'redeemed', 'reversed', 'returned', 'expired', 'moved_in', 'moved_out', 'net']
  .map((f) => [f, 'int']);
const DAY_STORE = [['day', 'date'], ['store', 'text']];
const label = (key) => ({ label: key });
const withTotals = (r) => [...r.rows, { ...r.totals, store: label('rep.total') }];

const REPORTS = {
  sales: {
    path: 'sales', params: ['range', 'store'], channel: 'tender',
    columns: [...DAY_STORE, ...SALES_FIGURES],
    rows: withTotals,
  },
  liability: {
    path: 'liability', params: ['store'],
    columns: [['store', 'text'], ['principal', 'money'], ['bonus', 'money']],
    rows: (r) => [...r.stores, ...(r.chain ? [{ ...r.chain, store: label('rep.chain') }] : [])],
  },
  points: {
    path: 'points', params: ['range', 'store'], channel: 'issued',
    columns: [...DAY_STORE, ...POINTS_FIGURES, ['outstanding', 'int']],
    rows: (r) => [...r.rows, ...r.stores,
      ...(r.chain_outstanding === null ? [] : [{ store: label('rep.chain'), outstanding: r.chain_outstanding }])],
  },
  members: {
    path: 'members', params: ['range', 'store', 'dormant'], channel: 'joined',
    columns: [...DAY_STORE, ['new', 'int'], ['registered', 'int'], ['imported', 'int'], ['active', 'int']],
    rows: (r) => [...r.rows, { store: label('rep.total'), new: r.new, registered: r.registered, imported: r.imported }],
    // Dormant members (not in the files: their own small table here).
    more: (r) => renderDormant(r.dormant),
  },
  rankings: {
    path: 'rankings', query: { by: 'stores' }, params: ['range'], channel: 'tender',
    columns: [['rank', 'int'], ['store', 'text'], ['sales_amount', 'money'], ['sales', 'int'],
      ['refunded', 'money'], ['recharged_principal', 'money']],
    rows: (r) => r.stores,
  },
  rankings_members: {
    path: 'rankings', query: { by: 'members' }, params: ['range', 'store'],
    columns: [['rank', 'int'], ['member', 'text'], ['sales', 'int'], ['sold', 'money'], ['refunds', 'int'],
      ['refunded', 'money'], ['spent', 'money']],
    rows: (r) => r.members || [],
  },
  rankings_products: {
    path: 'rankings', query: { by: 'products' }, params: ['range', 'store'],
    columns: [['rank', 'int'], ['sku', 'text'], ['qty', 'qty'], ['sold', 'money'],
      ['returned_qty', 'qty'], ['returned', 'money', 'rep.c.returned_amount'],
      ['net_qty', 'qty'], ['net', 'money', 'rep.c.net_amount']],
    rows: (r) => r.products || [],
  },
  coupons: {
    path: 'coupons', params: ['range', 'store'],
    columns: [...DAY_STORE, ['issued', 'int', 'rep.c.coupons_issued'], ['uses_issued', 'int'], ['used', 'int'],
      ['returned', 'int', 'rep.c.uses_returned'], ['off', 'money'], ['net_uses', 'int']],
    rows: withTotals,
  },
  cards: {
    path: 'cards', params: ['range', 'store'],
    columns: [...DAY_STORE, ['sold', 'int', 'rep.c.cards_sold'], ['visits', 'int'],
      ['refunded', 'int', 'rep.c.cards_refunded'], ['kept', 'money']],
    rows: withTotals,
  },
};
const NUMERIC = ['money', 'int', 'qty'];

// What the screen holds: the last answer and the query it answered, the
// last refusal, the chain's nodes, the last file made.
const view = { answer: null, kind: null, error: null, nodes: null, file: null };

function isoDay(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

function kind() {
  const k = $('#reports-kind').value;
  return REPORTS[k] ? k : 'sales';
}

/** The query of the report chosen, in `format` (json: none). */
function query(format) {
  const k = kind();
  const spec = REPORTS[k];
  const takes = spec.params;
  const q = new URLSearchParams(spec.query || {});
  if (takes.includes('range')) {
    for (const [name, sel] of [['from', '#reports-from'], ['to', '#reports-to']]) {
      const v = $(sel).value.trim();
      if (v) q.set(name, v);
    }
  }
  if (takes.includes('store') && $('#reports-store').value) q.set('store', $('#reports-store').value);
  if (spec.channel && $('#reports-channel').value) q.set('channel', $('#reports-channel').value);
  const dormant = $('#reports-dormant-days').value.trim();
  if (takes.includes('dormant') && dormant) q.set('dormant_days', dormant);
  if (format) { q.set('format', format); q.set('lang', state.lang === 'en' ? 'en' : 'zh'); }
  const s = q.toString();
  return `/api/v1/reports/${spec.path}${s ? `?${s}` : ''}`;
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
  $('#reports-dormant-label').hidden = !takes.includes('dormant');
  const pick = $('#reports-kind');
  for (const o of pick.options) o.textContent = t(`rep.k.${o.value}`);
  renderChannel(k);
  const stores = $('#reports-store');
  const keep = stores.value;
  clear(stores);
  stores.append(h('option', { value: '', text: t('rep.all_stores') }));
  for (const n of view.nodes || []) stores.append(h('option', { value: n, text: n }));
  if ((view.nodes || []).includes(keep)) stores.value = keep;
}

/** The channel picker of report `k`: its values, its name; or, for a
 * report whose figures record no channel, a line saying why. Under a
 * channel, a line says which figures it leaves at 0. */
function renderChannel(k) {
  const spec = REPORTS[k];
  const kindOf = spec.channel ? CHANNELS[spec.channel] : null;
  $('#reports-channel-label').hidden = !kindOf;
  const ch = $('#reports-channel');
  const was = ch.value;
  clear(ch);
  ch.append(h('option', { value: '', text: t('rep.all_channels') }));
  for (const c of (kindOf ? kindOf.values : [])) ch.append(h('option', { value: c, text: kindOf.label(c) }));
  ch.value = kindOf && kindOf.values.includes(was) ? was : '';
  if (kindOf) {
    const name = $('#reports-channel-name');
    name.dataset.i18n = kindOf.name;
    name.textContent = t(kindOf.name);
  }
  const note = $('#reports-channel-note');
  const key = !kindOf ? `rep.no_channel.${k}` : (ch.value ? `rep.channel_note.${k}` : null);
  const shown = key && I18N.zh[key] ? key : null;
  note.hidden = !shown;
  note.dataset.note = shown || '';
  note.textContent = shown ? t(shown) : '';
}

function cell(row, [field, type]) {
  const v = row[field];
  const attrs = { 'data-field': field, class: NUMERIC.includes(type) ? 'num' : null };
  if (v === undefined || v === null) return h('td', { ...attrs, 'data-value': '' });
  if (v && typeof v === 'object' && v.label) return h('td', { ...attrs, 'data-label': v.label, text: t(v.label) });
  return h('td', { ...attrs, 'data-value': String(v), text: type === 'money' ? money(v) : String(v) });
}

/** Dormant members as of the report's `to`: per store, then the chain's
 * (none counted under a channel: the API's `chain` null, no stores). */
function renderDormant(d) {
  if (!d) return null;
  const rows = [...d.stores, ...(d.chain === null ? [] : [{ store: label('rep.chain'), dormant: d.chain }])];
  const columns = [['store', 'text'], ['dormant', 'int']];
  return h('div', { 'data-test': 'reports-dormant' },
    h('h4', { text: t('rep.dormant_title', { as_of: d.as_of, days: d.days, by: d.last_seen_by }) }),
    rows.length === 0
      ? h('p', { class: 'muted', 'data-test': 'reports-dormant-none', text: t('rep.dormant_none') })
      : table(columns, rows, 'reports-dormant-row'));
}

/** A table of `rows` under `columns`, each row tagged `test`. */
function table(columns, rows, test) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'table', 'data-test': test === 'reports-row' ? 'reports-table' : `${test}s` },
      h('thead', null, h('tr', null, columns.map(([f, type, key]) => h('th', {
        class: NUMERIC.includes(type) ? 'num' : null, 'data-field': f, text: t(key || `rep.c.${f}`),
      })))),
      h('tbody', null, rows.map((row) => h('tr', {
        'data-test': test,
        'data-store': typeof row.store === 'string' ? row.store : '',
        'data-day': row.day || '',
        'data-id': row.member || row.sku || null,
        'data-summary': typeof row.store === 'object' && row.store ? row.store.label : null,
      }, columns.map((c) => cell(row, c)))))));
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
  root.dataset.channel = r.channel || '';
  root.append(h('h3', { 'data-test': 'reports-heading', text: t(`rep.k.${view.kind}`) }));
  // Summary rows (totals, the chain) are not data: with none else, say so.
  if (rows.every((row) => typeof row.store === 'object' && row.store)) {
    root.append(h('p', { class: 'muted', 'data-test': 'reports-none', text: t('rep.none') }));
  }
  root.append(table(spec.columns, rows, 'reports-row'));
  if (spec.more) root.append(spec.more(r));
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
  $('#reports-channel').addEventListener('change', () => renderChannel(kind()));
  $('#reports-form').addEventListener('submit', (ev) => {
    ev.preventDefault(); clearError(); busy($('#reports-show'), load);
  });
  for (const format of ['csv', 'xlsx']) {
    $(`#reports-${format}`).addEventListener('click', () => {
      clearError(); busy($(`#reports-${format}`), () => download(format));
    });
  }
}
