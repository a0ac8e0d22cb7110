// The overview screen: this node (name, role, version), the ledger's
// totals as this node knows them, and replication (peers, version
// vector, state hash).
import { state } from './state.js';
import { $, clear, h } from './dom.js';
import { I18N, t } from './i18n.js';
import { MONEY_RE, money } from './format.js';
import { api } from './api.js';
import { busy, showError } from './feedback.js';
import { onShow } from './nav.js';
import { renderNodeBadge } from './auth.js';

const LEDGER_ORDER = ['members', 'recharges', 'recharged_principal', 'recharged_bonus', 'orders', 'sales',
  'spent_principal', 'spent_bonus', 'refunds', 'refunded', 'refunded_principal', 'refunded_bonus',
  'outstanding_principal', 'outstanding_bonus', 'points_issued', 'points_reversed'];

async function loadOverview() {
  const [hl, ledger, sync] = await Promise.allSettled([
    api('GET', '/api/v1/health'), api('GET', '/api/v1/ledger/summary'), api('GET', '/api/v1/sync/status'),
  ]);
  const val = (r) => (r.status === 'fulfilled' ? r.value : null);
  const failed = [hl, ledger, sync].find((r) => r.status === 'rejected' && !(r.reason && r.reason.unauthorized));
  if (failed) showError(failed.reason);
  if (document.body.dataset.auth !== 'app') return;
  state.overview = { health: val(hl), ledger: val(ledger), sync: val(sync) };
  if (state.overview.health) { state.health = state.overview.health; renderNodeBadge(); }
  renderOverview();
}

export function renderOverview() {
  const ov = state.overview;
  const hbox = clear($('#overview-health'));
  const lbox = clear($('#overview-ledger'));
  const sbox = clear($('#overview-sync'));
  if (!ov) return;
  const kv = (dl, label, val, test) => dl.append(h('div', { class: 'kv-row' }, h('dt', { text: label }), h('dd', { 'data-test': test, text: val })));
  if (ov.health) {
    kv(hbox, t('overview.node'), ov.health.node, 'health-node');
    kv(hbox, t('overview.role'), ov.health.role, 'health-role');
    kv(hbox, t('overview.version'), ov.health.version, 'health-version');
  } else kv(hbox, t('overview.node'), t('overview.unavailable'));
  if (ov.ledger) {
    const keys = [...LEDGER_ORDER.filter((k) => k in ov.ledger), ...Object.keys(ov.ledger).filter((k) => !LEDGER_ORDER.includes(k))];
    for (const k of keys) {
      const v = ov.ledger[k];
      if (v !== null && typeof v === 'object') continue;
      const isMoney = typeof v === 'string' && MONEY_RE.test(v);
      kv(lbox, I18N.zh[`ledger.${k}`] ? t(`ledger.${k}`) : k, isMoney ? money(v) : String(v), `ledger-${k}`);
    }
    // The coupons' totals (uses issued, used, given back, outstanding; what they took off).
    for (const [k, v] of Object.entries(ov.ledger.coupons || {})) {
      const isMoney = typeof v === 'string' && MONEY_RE.test(v);
      kv(lbox, I18N.zh[`ledger.coupons.${k}`] ? t(`ledger.coupons.${k}`) : `coupons.${k}`, isMoney ? money(v) : String(v), `ledger-coupons-${k}`);
    }
    // The cards' totals (sold, visits, refunded; the used part kept on refunds).
    for (const [k, v] of Object.entries(ov.ledger.cards || {})) {
      const isMoney = typeof v === 'string' && MONEY_RE.test(v);
      kv(lbox, I18N.zh[`ledger.cards.${k}`] ? t(`ledger.cards.${k}`) : `cards.${k}`, isMoney ? money(v) : String(v), `ledger-cards-${k}`);
    }
  } else kv(lbox, t('overview.ledger'), t('overview.unavailable'));
  if (ov.sync) {
    const s = ov.sync;
    const peers = s.peers || [];
    sbox.append(h('h4', { text: t('overview.peers') }));
    if (!peers.length) sbox.append(h('p', { class: 'muted', text: t('overview.no_peers') }));
    else {
      sbox.append(h('table', { class: 'table', 'data-test': 'sync-peers' },
        h('thead', null, h('tr', null, h('th', { text: t('overview.node') }), h('th', { text: '' }), h('th', { class: 'num', text: t('overview.lag') }))),
        h('tbody', null, peers.map((p) => h('tr', { 'data-test': 'sync-peer', 'data-node': p.node },
          h('td', { text: p.node }),
          h('td', null, h('span', { class: `dot ${p.connected ? 'ok' : 'bad'}` }), p.connected ? t('overview.connected') : t('overview.disconnected')),
          h('td', { class: 'num', text: p.lag_ops == null ? t('common.none') : String(p.lag_ops) }))))));
    }
    const vv = s.version_vector;
    sbox.append(h('h4', { text: t('overview.vv') }));
    if (vv && typeof vv === 'object') {
      const dl = h('dl', { class: 'kv compact', 'data-test': 'sync-vv' });
      for (const [node, n] of Object.entries(vv)) kv(dl, node, typeof n === 'object' ? JSON.stringify(n) : String(n));
      sbox.append(dl);
    } else sbox.append(h('p', { class: 'mono small', text: vv == null ? t('common.none') : String(vv) }));
    sbox.append(h('h4', { text: t('overview.hash') }), h('p', { class: 'mono small hash', 'data-test': 'sync-hash', text: s.state_hash || t('common.none') }));
  } else sbox.append(h('p', { class: 'muted', text: t('overview.unavailable') }));
}

export function bindOverview() {
  onShow('overview', loadOverview);
  $('#overview-refresh').addEventListener('click', () => busy($('#overview-refresh'), loadOverview));
}
