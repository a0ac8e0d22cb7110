// The live dashboard (数据大屏, GET /api/v1/dashboard), for those who may
// see reports: big numbers (members, today's sales and recharges, stored
// value and points owed), two charts over the last 30 chain days, each
// store's figures today with its sync state (已连接 / 断开自 hh:mm, lag,
// newest op held), and today's ranking. HQ is not a store (it sells
// nothing): its link is shown apart in the header (总部：已连接 / 断开自 …;
// on HQ itself, 本节点), from the answer's `hq`. Shown, it takes the whole window
// (the console's top bar is hidden; 退出大屏 brings it back); `#dashboard`
// in the address opens it at start, for a screen on the wall.
//
// It refreshes by itself every REFRESH_MS while shown, by polling with the
// bearer token (an EventSource cannot send one), one request at a time,
// and stops when another screen is shown. Every figure is the API's own
// string (mirrored in `data-value` for the browser test); the charts are
// drawn by ECharts, vendored in the binary (`console/vendor/README.md`)
// and loaded as a classic script the first time the dashboard is shown.
// Amounts become numbers only to be plotted: nothing is summed here.
import { state } from './state.js';
import { $, clear, h } from './dom.js';
import { I18N, t } from './i18n.js';
import { money } from './format.js';
import { ApiError, api } from './api.js';
import { onShow, showTab } from './nav.js';
import { refusalText } from './coupon_text.js';
import { DASHBOARD_I18N } from './i18n_dashboard.js';

// The dashboard's words join the one dictionary (before the first render:
// app.js renders once every module is loaded).
Object.assign(I18N.zh, DASHBOARD_I18N.zh);
Object.assign(I18N.en, DASHBOARD_I18N.en);

const REFRESH_MS = 3000;
const TAB = 'dashboard';

// What this screen shows; kept here rather than in state.js (no other
// screen reads it).
const dash = { data: null, error: null, charts: null, chartsFailed: false };
let timer = null;
let running = false;
let back = null; // the screen shown before the dashboard, for 退出大屏
let echartsLoad = null;

/** ECharts (`window.echarts`), loading /console/echarts.min.js once. */
function loadECharts() {
  if (window.echarts) return Promise.resolve(window.echarts);
  if (!echartsLoad) {
    echartsLoad = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = '/console/echarts.min.js';
      s.onload = () => (window.echarts ? resolve(window.echarts) : reject(new Error('echarts')));
      s.onerror = () => { echartsLoad = null; reject(new Error('echarts')); };
      document.head.append(s);
    });
  }
  return echartsLoad;
}

// ---------------------------------------------------------------------------
// Refreshing
// ---------------------------------------------------------------------------
function stop() {
  if (timer) { clearTimeout(timer); timer = null; }
  running = false;
}

async function load() {
  if (state.tab !== TAB) { leave(); return; }
  try {
    dash.data = await api('GET', '/api/v1/dashboard');
    dash.error = null;
  } catch (e) {
    if (!(e instanceof ApiError) || e.unauthorized) { stop(); return; }
    dash.error = { status: e.status, ...e.err };
  }
  if (state.tab !== TAB) { leave(); return; }
  renderDashboard();
  timer = setTimeout(() => { load().catch(() => stop()); }, REFRESH_MS);
}

function start() {
  stop();
  running = true;
  // Nothing a previous principal saw stays.
  dash.data = null;
  dash.error = null;
  document.body.classList.add('dash-full');
  try { history.replaceState(null, '', `${location.pathname}${location.search}#dashboard`); } catch (e) { /* ignore */ }
  skeleton();
  renderDashboard();
  loadECharts()
    .then(() => { drawCharts(); })
    .catch(() => { dash.chartsFailed = true; renderDashboard(); });
  load().catch(() => stop());
}

/** Another screen is shown (or the principal signed out): the console's
 * layout again, and no more polling. */
function leave() {
  stop();
  document.body.classList.remove('dash-full');
  if (location.hash === '#dashboard') {
    try { history.replaceState(null, '', location.pathname + location.search); } catch (e) { /* ignore */ }
  }
}

function exit() {
  if (document.fullscreenElement && document.exitFullscreen) document.exitFullscreen().catch(() => {});
  leave();
  const tab = back && back !== TAB ? $(`.tab[data-tab="${back}"]`) : null;
  const first = Array.from(document.querySelectorAll('.tab')).find((b) => !b.hidden && b.dataset.tab !== TAB);
  showTab(tab && !tab.hidden ? back : (first ? first.dataset.tab : 'members'));
}

// ---------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------

/** The parts that stay (the charts keep their elements); built once. */
function skeleton() {
  const root = $('#dashboard-root');
  if (!root || root.dataset.built) return;
  root.dataset.built = 'true';
  root.append(
    h('header', { class: 'dash-head' },
      h('h1', { class: 'dash-title', id: 'dash-title', 'data-test': 'dash-title' }),
      h('span', { class: 'dash-node', id: 'dash-node', 'data-test': 'dash-node' }),
      h('span', { class: 'dash-updated', id: 'dash-updated', 'data-test': 'dash-updated' }),
      h('span', { class: 'dash-node', id: 'dash-hq', 'data-test': 'dash-hq' }),
      h('span', { class: 'dash-actions' },
        h('button', { type: 'button', class: 'dash-btn', id: 'dash-fullscreen', 'data-test': 'dash-fullscreen',
          onclick: () => { const el = document.documentElement; if (el.requestFullscreen) el.requestFullscreen().catch(() => {}); } }),
        h('button', { type: 'button', class: 'dash-btn', id: 'dash-lang', 'data-test': 'dash-lang',
          onclick: () => { const tg = $('#lang-toggle'); if (tg) tg.click(); } }),
        h('button', { type: 'button', class: 'dash-btn', id: 'dash-exit', 'data-test': 'dash-exit', onclick: exit }))),
    h('div', { class: 'dash-error', id: 'dash-error', 'data-test': 'dash-error', role: 'alert', hidden: true }),
    h('section', { class: 'dash-kpis', id: 'dash-kpis', 'data-test': 'dash-kpis' }),
    h('section', { class: 'dash-charts' },
      h('div', { class: 'dash-card' }, h('h2', { id: 'dash-trend-title' }),
        h('div', { class: 'dash-chart', id: 'dash-chart-trend', 'data-test': 'dash-chart-trend' })),
      h('div', { class: 'dash-card' }, h('h2', { id: 'dash-stores-title' }),
        h('div', { class: 'dash-chart', id: 'dash-chart-stores', 'data-test': 'dash-chart-stores' }))),
    h('p', { class: 'dash-note', id: 'dash-charts-note', 'data-test': 'dash-charts-note', hidden: true }),
    h('section', { class: 'dash-bottom' },
      h('div', { class: 'dash-card' }, h('h2', { id: 'dash-table-title' }), h('div', { id: 'dash-table', class: 'table-wrap' })),
      h('div', { class: 'dash-card' }, h('h2', { id: 'dash-ranking-title' }), h('ol', { id: 'dash-ranking', class: 'dash-ranking', 'data-test': 'dash-ranking' }))),
  );
}

const pad2 = (n) => String(n).padStart(2, '0');

/** An RFC 3339 time → "hh:mm:ss" (or "hh:mm") on this screen's clock;
 * with the month and day when not today. */
function clock(iso, seconds) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso || '');
  const time = `${pad2(d.getHours())}:${pad2(d.getMinutes())}${seconds ? `:${pad2(d.getSeconds())}` : ''}`;
  const now = new Date();
  const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return sameDay ? time : `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${time}`;
}

function kpi(test, label, value, display, sub) {
  return h('div', { class: 'dash-kpi', 'data-test': test, 'data-value': String(value) },
    h('div', { class: 'dash-kpi-label', text: label }),
    h('div', { class: 'dash-kpi-value', 'data-test': `${test}-value`, text: display }),
    sub ? h('div', { class: 'dash-kpi-sub', text: sub }) : null);
}

function syncText(sync) {
  switch (sync.state) {
    case 'this_node': return t('dash.sync_this_node');
    case 'connected': return t('dash.sync_connected');
    case 'partitioned': return sync.partitioned_since
      ? t('dash.sync_partitioned', { time: clock(sync.partitioned_since, false) }) : t('dash.sync_never');
    default: return t('dash.sync_not_a_peer');
  }
}

/** HQ's link (a chain has one HQ; none known: nothing shown). */
function hqLinks(hq) {
  return (hq || []).map((x) => h('span', {
    'data-test': 'dash-hq-link', 'data-node': x.node, 'data-sync': x.sync.state,
    'data-partitioned-since': x.sync.partitioned_since || null,
  },
  h('span', { class: `dot ${x.sync.state === 'partitioned' ? 'bad' : 'ok'}` }),
  t('dash.hq', { node: x.node, state: syncText(x.sync) }),
  x.sync.lag_ops ? ` · ${t('dash.hq_lag', { n: x.sync.lag_ops })}` : ''));
}

function storeTable(stores) {
  if (!stores.length) return h('p', { class: 'dash-note', text: t('dash.no_stores') });
  const th = (k, num) => h('th', { class: num ? 'num' : null, text: t(k) });
  const td = (v, test, value) => h('td', { class: 'num', 'data-test': test, 'data-value': value === undefined ? null : String(value), text: String(v) });
  return h('table', { class: 'table dash-table', 'data-test': 'dash-stores' },
    h('thead', null, h('tr', null, th('dash.store'), th('dash.sales', true), th('dash.sales_amount', true), th('dash.recharged', true),
      th('dash.new', true), th('dash.active', true), th('dash.sync'), th('dash.lag', true), th('dash.newest'))),
    h('tbody', null, stores.map((s) => h('tr', {
      'data-test': 'dash-store', 'data-store': s.store, 'data-sync': s.sync.state,
      'data-partitioned-since': s.sync.partitioned_since || null,
    },
    h('td', { class: 'mono', text: s.store }),
    td(s.today.sales, 'dash-store-sales', s.today.sales),
    td(money(s.today.sales_amount), 'dash-store-sales-amount', s.today.sales_amount),
    td(money(s.today.recharged_principal), 'dash-store-recharged', s.today.recharged_principal),
    td(s.today.new_members, 'dash-store-new', s.today.new_members),
    td(s.today.active_members, 'dash-store-active', s.today.active_members),
    h('td', { 'data-test': 'dash-sync' },
      h('span', { class: `dot ${s.sync.state === 'partitioned' ? 'bad' : 'ok'}` }), ' ', syncText(s.sync)),
    td(s.sync.lag_ops === null ? '—' : s.sync.lag_ops, 'dash-lag', s.sync.lag_ops === null ? undefined : s.sync.lag_ops),
    h('td', { class: 'small', 'data-test': 'dash-newest', text: s.sync.newest_op ? `#${s.sync.newest_op.seq} · ${clock(s.sync.newest_op.at, true)}` : t('dash.none') })))));
}

export function renderDashboard() {
  const root = $('#dashboard-root');
  if (!root || !root.dataset.built) return;
  const d = dash.data;
  $('#dash-title').textContent = t('dash.title');
  $('#dash-fullscreen').textContent = t('dash.fullscreen');
  $('#dash-lang').textContent = t('dash.lang');
  $('#dash-exit').textContent = t('dash.exit');
  $('#dash-trend-title').textContent = t('dash.trend');
  $('#dash-stores-title').textContent = t('dash.by_store');
  $('#dash-table-title').textContent = t('dash.stores');
  $('#dash-ranking-title').textContent = t('dash.ranking');
  const err = dash.error;
  const box = $('#dash-error');
  box.hidden = !err;
  box.textContent = err ? `${refusalText(err)} (${err.code})` : '';
  const note = $('#dash-charts-note');
  note.hidden = !dash.chartsFailed;
  note.textContent = dash.chartsFailed ? t('dash.charts_unavailable') : '';
  const updated = $('#dash-updated');
  if (!d) {
    updated.textContent = t('dash.loading');
    return;
  }
  root.dataset.at = d.at;
  $('#dash-node').textContent = `${d.node} · ${t(d.scope === 'chain' ? 'dash.scope_chain' : 'dash.scope_stores')}`;
  updated.dataset.at = d.at;
  updated.textContent = `${t('dash.updated', { time: clock(d.at, true) })} · ${t('dash.refresh_every', { s: REFRESH_MS / 1000 })}`;
  clear($('#dash-hq')).append(...hqLinks(d.hq));

  clear($('#dash-kpis')).append(
    kpi('dash-members-total', t('dash.members_total'), d.members.total, String(d.members.total)),
    kpi('dash-members-new', t('dash.members_new'), d.members.new_today, String(d.members.new_today)),
    kpi('dash-members-active', t('dash.members_active'), d.members.active_today, String(d.members.active_today)),
    kpi('dash-sales-amount', t('dash.sales_today'), d.sales_today.amount, money(d.sales_today.amount),
      t('dash.sales_count', { n: d.sales_today.count })),
    kpi('dash-recharged', t('dash.recharges_today'), d.recharges_today.principal, money(d.recharges_today.principal),
      t('dash.recharges_bonus', { bonus: money(d.recharges_today.bonus), n: d.recharges_today.count })),
    kpi('dash-outstanding', t('dash.outstanding'), d.outstanding.principal, money(d.outstanding.principal),
      t('dash.outstanding_bonus', { bonus: money(d.outstanding.bonus) })),
    kpi('dash-points', t('dash.points'), d.outstanding.points, String(d.outstanding.points)),
  );
  // The counts behind the sub-lines, for the test.
  $('[data-test="dash-sales-amount"]').dataset.count = String(d.sales_today.count);
  const rc = $('[data-test="dash-recharged"]');
  rc.dataset.count = String(d.recharges_today.count);
  rc.dataset.bonus = d.recharges_today.bonus;
  $('[data-test="dash-outstanding"]').dataset.bonus = d.outstanding.bonus;

  clear($('#dash-table')).append(storeTable(d.stores));
  clear($('#dash-ranking')).append(...d.ranking.map((r) => h('li', {
    'data-test': 'dash-rank', 'data-store': r.store, 'data-rank': String(r.rank), 'data-value': r.sales_amount,
  },
  h('span', { class: 'dash-rank-no', text: String(r.rank) }),
  h('span', { class: 'mono dash-rank-store', text: r.store }),
  h('span', { class: 'dash-rank-amount', text: `${money(r.sales_amount)} · ${t('dash.sales_count', { n: r.sales })}` }))));
  if (!d.ranking.length) $('#dash-ranking').append(h('li', { class: 'dash-note', text: t('dash.none') }));
  drawCharts();
}

/** The charts, from the last answer (set again on every refresh). */
function drawCharts() {
  const d = dash.data;
  const ec = window.echarts;
  if (!ec || state.tab !== TAB) return;
  const trendEl = $('#dash-chart-trend');
  const storesEl = $('#dash-chart-stores');
  if (!trendEl || !storesEl) return;
  if (!dash.charts) {
    dash.charts = { trend: ec.init(trendEl, 'dark'), stores: ec.init(storesEl, 'dark') };
    window.addEventListener('resize', () => {
      if (dash.charts && state.tab === TAB) { dash.charts.trend.resize(); dash.charts.stores.resize(); }
    });
  } else {
    dash.charts.trend.resize();
    dash.charts.stores.resize();
  }
  if (!d) return;
  const days = d.series.days.map((x) => x.slice(5));
  const num = (v) => Number(v);
  const yuan = (v) => (typeof v === 'number' ? `¥${v.toFixed(2)}` : String(v));
  const base = {
    backgroundColor: 'transparent',
    animation: false,
    tooltip: { trigger: 'axis', valueFormatter: yuan },
    grid: { left: 56, right: 16, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: days },
    yAxis: { type: 'value' },
  };
  dash.charts.trend.setOption({
    ...base,
    legend: { top: 0, data: [t('dash.trend_sales'), t('dash.trend_recharged')] },
    series: [
      { name: t('dash.trend_sales'), type: 'bar', data: d.series.sales_amount.map(num) },
      { name: t('dash.trend_recharged'), type: 'line', data: d.series.recharged_principal.map(num) },
    ],
  }, { replaceMerge: ['series'] });
  dash.charts.stores.setOption({
    ...base,
    legend: { top: 0, type: 'scroll', data: d.series.stores.map((s) => s.store) },
    series: d.series.stores.map((s) => ({
      name: s.store, type: 'bar', stack: 'sales', data: s.sales_amount.map(num),
    })),
  }, { replaceMerge: ['series', 'legend'] });
}

export function bindDashboard() {
  // Its own style sheet, beside the console's.
  document.head.append(h('link', { rel: 'stylesheet', href: '/console/dashboard.css' }));
  onShow(TAB, () => {
    if (!running) start();
  });
  // Remember the screen shown before, for 退出大屏.
  // (Captured before the tab's own handler shows it.)
  document.addEventListener('click', (e) => {
    const b = e.target instanceof Element ? e.target.closest('.tab') : null;
    if (b && b.dataset.tab === TAB && state.tab !== TAB) back = state.tab;
  }, true);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.tab === TAB && !document.fullscreenElement) exit();
  });
  // `#dashboard` in the address: the dashboard is the screen shown at start
  // (the token's fragment, `#token=…&dashboard`, too).
  const asked = () => /^#(?:.*&)?dashboard(?:[=&]|$)/.test(location.hash);
  if (asked()) state.tab = TAB;
  // And typed into the address of an open console.
  window.addEventListener('hashchange', () => {
    const tab = $(`.tab[data-tab="${TAB}"]`);
    if (asked() && state.tab !== TAB && document.body.dataset.auth === 'app' && tab && !tab.hidden) {
      back = state.tab;
      showTab(TAB);
    }
  });
}
