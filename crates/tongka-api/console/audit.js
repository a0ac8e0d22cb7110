// The audit screen (审计日志, for those who may see it): every money
// movement and rule change, newest first, filtered by staff, store, kind
// and dates; "更多 / more" follows the answer's `next` cursor. The staff
// filter is a list of the accounts when this principal may read them,
// else a typed staff id.
import { state } from './state.js';
import { $, clear, h } from './dom.js';
import { I18N, t } from './i18n.js';
import { fmtTime, money } from './format.js';
import { ApiError, api } from './api.js';
import { busy, clearError } from './feedback.js';
import { onShow } from './nav.js';
import { refusalText } from './coupon_text.js';
import { AUDIT_KINDS } from './i18n_staff.js';
import { can } from './perms.js';
import { chainNodes } from './nodes.js';

const PAGE = 50;

function kindLabel(kind) {
  return I18N.zh[`audit.kind.${kind}`] ? t(`audit.kind.${kind}`) : String(kind || '');
}

/** A staff id's name, from the staff list when it is loaded. */
function staffName(id) {
  if (!id) return '';
  const s = (state.auditStaff || []).find((x) => x.id === id);
  return s ? s.name : id;
}

async function loadFilters() {
  const [nodes, staff] = await Promise.all([
    chainNodes(),
    can('manage_staff') ? api('GET', '/api/v1/staff').then((r) => r.staff || []).catch(() => null) : Promise.resolve(null),
  ]);
  state.auditNodes = nodes;
  state.auditStaff = staff;
  renderFilters();
}

function options(sel, list) {
  const keep = sel.value;
  clear(sel);
  sel.append(h('option', { value: '', text: t('audit.any') }));
  for (const [value, text] of list) sel.append(h('option', { value, text }));
  if (list.some(([v]) => v === keep)) sel.value = keep;
}

function renderFilters() {
  const staff = state.auditStaff;
  const pick = $('#audit-staff-select');
  pick.hidden = !staff;
  $('#audit-staff-text').hidden = !!staff;
  const label = (s) => (state.lang === 'zh' ? `${s.name}（${s.login}）` : `${s.name} (${s.login})`);
  if (staff) options(pick, [...staff.map((s) => [s.id, label(s)]), ['admin', 'admin']]);
  options($('#audit-store'), (state.auditNodes || []).map((n) => [n, n]));
  options($('#audit-kind'), AUDIT_KINDS.map((k) => [k, kindLabel(k)]));
}

function query(before) {
  const q = new URLSearchParams();
  const staff = state.auditStaff ? $('#audit-staff-select').value : $('#audit-staff-text').value.trim();
  if (staff) q.set('staff', staff);
  for (const [k, sel] of [['store', '#audit-store'], ['kind', '#audit-kind'], ['from', '#audit-from'], ['to', '#audit-to']]) {
    const v = $(sel).value.trim();
    if (v) q.set(k, v);
  }
  if (before) q.set('before', before);
  q.set('limit', String(PAGE));
  return q.toString();
}

/** The first page (`more` false) or the next one, after those shown. */
async function loadAudit(more) {
  state.auditError = null;
  renderAuditError();
  let r;
  try {
    r = await api('GET', `/api/v1/audit?${query(more ? state.auditNext : null)}`);
  } catch (e) {
    if (!(e instanceof ApiError) || e.unauthorized) throw e;
    state.auditError = { status: e.status, ...e.err };
    renderAuditError();
    return;
  }
  state.auditEntries = more ? [...(state.auditEntries || []), ...(r.entries || [])] : (r.entries || []);
  state.auditNext = r.next || null;
  renderAudit();
}

function renderAuditError() {
  const e = state.auditError;
  const box = $('#audit-error');
  box.hidden = !e;
  box.dataset.code = e ? e.code : '';
  $('#audit-error-message').textContent = e ? refusalText(e) : '';
  $('#audit-error-code').textContent = e ? e.code : '';
}

export function renderAudit() {
  if (state.auditNodes) renderFilters();
  renderAuditError();
  const body = clear($('#audit-table tbody'));
  const list = state.auditEntries;
  $('#audit-none').hidden = !list || list.length > 0;
  $('#audit-more').hidden = !state.auditNext;
  for (const e of list || []) {
    // A name the node did not resolve (it gave the id) is looked up in
    // the staff list, when this principal may read it.
    const named = (id, name) => (name && name !== id ? name : staffName(id));
    const approver = e.approved_by ? named(e.approved_by, e.approved_by_name) : null;
    body.append(h('tr', {
      'data-test': 'audit-row', 'data-op': e.op, 'data-kind': e.kind, 'data-by': e.by,
      'data-approved-by': e.approved_by || '',
    },
    h('td', { text: fmtTime(e.at) }),
    h('td', { class: 'mono', text: e.store || '' }),
    h('td', { 'data-test': 'audit-who' }, h('span', { 'data-test': 'audit-by', text: named(e.by, e.by_name) || '' }),
      approver ? h('div', { class: 'small muted', 'data-test': 'audit-approved', text: t('audit.approved_by', { name: approver }) }) : null),
    h('td', { text: kindLabel(e.kind) }),
    h('td', { class: 'mono', text: e.member || '' }),
    h('td', { class: 'num', 'data-value': e.amount || '', text: e.amount ? money(e.amount) : '' }),
    h('td', { text: state.lang === 'zh' ? (e.summary_zh || e.summary || '') : (e.summary || e.summary_zh || '') })));
  }
}

export function bindAudit() {
  onShow('audit', () => busy($('#audit-search'), async () => {
    await loadFilters();
    await loadAudit(false);
  }));
  $('#audit-form').addEventListener('submit', (ev) => { ev.preventDefault(); clearError(); busy($('#audit-search'), () => loadAudit(false)); });
  $('#audit-more').addEventListener('click', () => busy($('#audit-more'), () => loadAudit(true)));
}
