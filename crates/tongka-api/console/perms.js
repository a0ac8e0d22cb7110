// Who is signed in and what they may do here: the session the node gave
// (GET /sessions/current) and, from its `allowed` actions, the screens a
// principal does not see and the buttons they may not press. The API
// decides (a refusal is still shown, as any other); this only spares the
// cashier a button that can but fail, and says why on it.
//
// A control names the action it needs with `data-needs="merge_members"`;
// a tab (or anything) hidden without it with `data-hide-unless="audit"`.
// Screens draw their buttons whenever they like and other code enables
// them again (`busy`, a screen's own rules), so one observer keeps every
// such control disabled, with its reason as a title, for as long as the
// session lacks the action: no screen has to remember to ask.
import { state } from './state.js';
import { $$ } from './dom.js';
import { t } from './i18n.js';

/** May the principal signed in take `action` here? Before any session is
 * known (an older node without sessions) everything is allowed: the API
 * says no where it must. */
export function can(action) {
  const s = state.session;
  if (!s || !Array.isArray(s.allowed)) return true;
  return s.allowed.includes(action);
}

export function roleLabel(role) { return t(`role.${role}`); }

/** "收银员无权合并会员" / "a cashier may not merge members". */
export function deniedReason(action) {
  const staff = state.session && state.session.staff;
  const role = staff ? roleLabel(staff.role) : t('who.integration', { name: '' }).trim();
  return t('perm.denied', { role, action: t(`action.${action}`) });
}

/** The header's words for the principal: "张三 · 收银员", "集成令牌 admin". */
export function whoText() {
  const s = state.session;
  if (!s) return '';
  if (s.staff) return `${s.staff.name} · ${state.lang === 'zh' ? (s.staff.role_zh || roleLabel(s.staff.role)) : roleLabel(s.staff.role)}`;
  return t('who.integration', { name: s.integration || 'admin' });
}

function applyTo(el) {
  const action = el.dataset.needs;
  if (!can(action)) {
    const reason = deniedReason(action);
    if (!el.disabled) el.disabled = true;
    if (el.title !== reason) el.title = reason;
    if (el.dataset.denied !== action) el.dataset.denied = action;
  } else if (el.dataset.denied) {
    // The session changed and now allows it: give the control back.
    delete el.dataset.denied;
    el.removeAttribute('title');
    el.disabled = false;
  }
}

/** Hides what the principal may not see and disables what they may not use. */
export function applyPermissions() {
  for (const el of $$('[data-hide-unless]')) {
    const hide = !can(el.dataset.hideUnless);
    if (el.hidden !== hide) el.hidden = hide;
  }
  for (const el of $$('[data-needs]')) applyTo(el);
}

let observer = null;
/** Keeps the permissions applied to whatever the screens draw from now on. */
export function watchPermissions() {
  if (observer) return;
  observer = new MutationObserver(() => applyPermissions());
  // applyTo writes only what differs, so its own changes settle at once.
  observer.observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ['disabled'],
  });
}
