// The staff page (员工, for those who may manage staff): the accounts
// (login, name, role, stores, disabled, a login two accounts claim), adding
// one, editing its name, role and stores, disabling or enabling it and
// resetting its password. A store manager is offered only the cashier and
// store manager roles and their own stores; the API holds the same rule.
// Refusals are shown next to the form, on the field the API names.
import { state } from './state.js';
import { $, $$, clear, h, toast } from './dom.js';
import { t } from './i18n.js';
import { ApiError, api } from './api.js';
import { busy, clearError } from './feedback.js';
import { onShow } from './nav.js';
import { refusalText } from './coupon_text.js';
import { ROLES } from './i18n_staff.js';
import { roleLabel } from './perms.js';
import { chainNodes } from './nodes.js';

const FIELDS = ['login', 'name', 'role', 'stores', 'password'];

function me() { return state.session && state.session.staff; }

/** The roles this principal may give: a store manager, only the till's. */
function rolesOffered() {
  const m = me();
  return m && m.role === 'store_manager' ? ['cashier', 'store_manager'] : ROLES;
}

/** The stores this principal may give: a store manager, only their own. */
function storesOffered() {
  const m = me();
  if (m && m.role === 'store_manager') return [...(m.stores || [])];
  return state.staffNodes || [];
}

async function loadStaff() {
  const [list, nodes] = await Promise.all([api('GET', '/api/v1/staff'), chainNodes()]);
  state.staffList = (list && list.staff) || [];
  state.staffNodes = nodes;
  renderStaff();
}

export function renderStaff() {
  renderStaffList();
  renderStaffForm();
}

function renderStaffList() {
  const body = clear($('#staff-table tbody'));
  const list = state.staffList || [];
  $('#staff-none').hidden = !state.staffList || list.length > 0;
  for (const s of list) {
    const status = [s.disabled ? t('staff.disabled') : t('staff.active')];
    body.append(h('tr', {
      'data-test': 'staff-row', 'data-id': s.id, 'data-login': s.login, 'data-role': s.role,
      'data-disabled': s.disabled ? 'true' : 'false', class: s.disabled ? 'muted' : null,
    },
    h('td', { class: 'mono', 'data-test': 'staff-login', text: s.login }),
    h('td', { 'data-test': 'staff-name', text: s.name }),
    h('td', { 'data-test': 'staff-role', text: state.lang === 'zh' ? (s.role_zh || roleLabel(s.role)) : roleLabel(s.role) }),
    h('td', { class: 'mono', 'data-test': 'staff-stores', text: (s.stores || []).join(', ') || t('common.none') }),
    h('td', { 'data-test': 'staff-status' }, status.join(''),
      s.login_conflict ? h('span', { class: 'badge warn', 'data-test': 'staff-conflict', text: t('staff.conflict') }) : null),
    h('td', { class: 'actions-cell' },
      h('button', { type: 'button', 'data-test': 'staff-edit', 'data-needs': 'manage_staff', text: t('staff.edit'), onclick: () => editStaff(s.id) }),
      h('button', {
        type: 'button', 'data-test': 'staff-toggle', 'data-needs': 'manage_staff',
        text: t(s.disabled ? 'staff.enable' : 'staff.disable'),
        onclick: (ev) => busy(ev.currentTarget, () => toggleDisabled(s)),
      }))));
  }
}

function editing() {
  return state.staffEditing ? (state.staffList || []).find((s) => s.id === state.staffEditing) : null;
}

function renderStaffForm() {
  const s = editing();
  $('#staff-form-title').textContent = s ? t('staff.editing', { login: s.login }) : t('staff.add');
  $('#staff-submit').textContent = t(s ? 'staff.submit_edit' : 'staff.submit_add');
  $('#staff-f-password-label').textContent = t(s ? 'staff.reset_password' : 'staff.password');
  $('#staff-cancel').hidden = !s;
  $('#staff-f-login').readOnly = !!s;
  const role = $('#staff-f-role');
  const keepRole = role.value;
  clear(role);
  for (const r of rolesOffered()) role.append(h('option', { value: r, text: roleLabel(r) }));
  if (rolesOffered().includes(keepRole)) role.value = keepRole;
  // The stores: those offered, and any the account already has.
  const box = $('#staff-f-stores');
  const checked = new Set($$('input[type=checkbox]', box).filter((c) => c.checked).map((c) => c.value));
  clear(box);
  const stores = [...new Set([...storesOffered(), ...(s ? s.stores || [] : [])])];
  if (!stores.length) box.append(h('span', { class: 'muted small', text: t('staff.no_stores') }));
  for (const n of stores) {
    const cb = h('input', { type: 'checkbox', value: n, 'data-test': `staff-store-${n}` });
    cb.checked = checked.has(n);
    box.append(h('label', { class: 'inline' }, cb, ` ${n}`));
  }
  renderStaffError();
}

function renderStaffError() {
  const e = state.staffError;
  const box = $('#staff-error');
  box.hidden = !e;
  box.dataset.code = e ? e.code : '';
  $('#staff-error-message').textContent = e ? refusalText(e) : '';
  $('#staff-error-code').textContent = e ? e.code : '';
  for (const f of FIELDS) {
    const el = f === 'stores' ? $('#staff-f-stores') : $(`#staff-f-${f}`);
    el.classList.toggle('invalid', !!(e && e.field === f));
  }
}

function fillForm(s) {
  $('#staff-f-login').value = s ? s.login : '';
  $('#staff-f-name').value = s ? s.name : '';
  $('#staff-f-password').value = '';
  state.staffError = null;
  renderStaffForm();
  if (s) $('#staff-f-role').value = s.role;
  const mine = new Set(s ? s.stores || [] : []);
  for (const cb of $$('#staff-f-stores input[type=checkbox]')) cb.checked = mine.has(cb.value);
}

function editStaff(id) {
  clearError();
  state.staffEditing = id;
  fillForm(editing());
  $('#staff-f-name').focus();
}

function stopEditing() {
  state.staffEditing = null;
  fillForm(null);
}

function readForm() {
  return {
    login: $('#staff-f-login').value.trim().toLowerCase(),
    name: $('#staff-f-name').value.trim(),
    role: $('#staff-f-role').value,
    stores: $$('#staff-f-stores input[type=checkbox]').filter((c) => c.checked).map((c) => c.value),
    password: $('#staff-f-password').value,
  };
}

function refused(e) {
  if (!(e instanceof ApiError) || e.unauthorized) throw e;
  state.staffError = { status: e.status, ...e.err };
  renderStaffError();
}

async function submitStaff() {
  clearError();
  state.staffError = null;
  renderStaffError();
  const f = readForm();
  const s = editing();
  try {
    if (!s) {
      const made = await api('POST', '/api/v1/staff', { body: f });
      toast(t('staff.added', { name: made.name }));
      fillForm(null);
    } else {
      // Only what changed: each field is its own last-writer-wins patch,
      // so an untouched field never overwrites another till's edit.
      const patch = {};
      if (f.name !== s.name) patch.name = f.name;
      if (f.role !== s.role) patch.role = f.role;
      if (f.stores.slice().sort().join(',') !== (s.stores || []).slice().sort().join(',')) patch.stores = f.stores;
      if (f.password) patch.password = f.password;
      if (!Object.keys(patch).length) { toast(t('staff.nothing')); return; }
      const saved = await api('PATCH', `/api/v1/staff/${encodeURIComponent(s.id)}`, { body: patch });
      toast(t('staff.saved', { name: saved.name }));
      state.staffEditing = null;
      fillForm(null);
    }
  } catch (e) {
    refused(e);
    return;
  }
  await loadStaff();
}

async function toggleDisabled(s) {
  clearError();
  try {
    const saved = await api('PATCH', `/api/v1/staff/${encodeURIComponent(s.id)}`, { body: { disabled: !s.disabled } });
    toast(t(saved.disabled ? 'staff.disabled_done' : 'staff.enabled_done', { name: saved.name }));
  } catch (e) {
    refused(e);
    return;
  }
  await loadStaff();
}

export function bindStaff() {
  onShow('staff', () => busy($('#staff-refresh'), loadStaff));
  $('#staff-refresh').addEventListener('click', () => { clearError(); busy($('#staff-refresh'), loadStaff); });
  $('#staff-cancel').addEventListener('click', stopEditing);
  $('#staff-form').addEventListener('submit', (ev) => { ev.preventDefault(); busy($('#staff-submit'), submitStaff); });
}
