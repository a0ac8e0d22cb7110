// Being signed in: the token (a staff session's, from the sign-in page, or
// an integration's admin token, from the address's fragment `#token=…`,
// taken out of the address at once, or the token tab) is kept in
// localStorage with its kind and sent as Bearer; the session the node
// answers for it (GET /sessions/current) says who it is and what they may
// do. A 401 from any call brings the sign-in page back, with the reason.
import { state } from './state.js';
import { $, $$ } from './dom.js';
import { t } from './i18n.js';
import { ApiError, api, whenUnauthorized } from './api.js';
import { busy, renderError, showError } from './feedback.js';
import { showTab } from './nav.js';
import { renderRechargeOffers } from './members.js';
import { refusalText } from './coupon_text.js';
import { applyPermissions, whoText } from './perms.js';
import { showSignIn } from './signin.js';

const LS_TOKEN = 'tongka.console.token';
const LS_KIND = 'tongka.console.token_kind';

/** The token kept from an earlier visit, if any. */
export function restoreToken() {
  try {
    state.token = localStorage.getItem(LS_TOKEN);
    state.tokenKind = localStorage.getItem(LS_KIND) || 'token';
  } catch (e) { state.token = null; }
}

export function takeTokenFromHash() {
  const raw = location.hash.replace(/^#/, '');
  if (!raw) return false;
  const params = new URLSearchParams(raw);
  const tok = params.get('token');
  if (!tok) return false;
  setToken(tok, 'token');
  params.delete('token');
  const rest = params.toString();
  history.replaceState(null, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
  return true;
}

/** Keeps `tok`; `kind` is 'session' (a staff sign-in) or 'token' (an
 * integration's admin token). */
export function setToken(tok, kind) {
  state.token = tok || null;
  state.tokenKind = tok ? (kind || 'token') : null;
  try {
    if (tok) { localStorage.setItem(LS_TOKEN, tok); localStorage.setItem(LS_KIND, state.tokenKind); } else { localStorage.removeItem(LS_TOKEN); localStorage.removeItem(LS_KIND); }
  } catch (e) { /* private mode: keep it in memory */ }
}

function onUnauthorized(err) {
  const kind = state.tokenKind;
  setToken(null);
  state.session = null;
  // An ended session says why in the node's words; a token that is not
  // (or no longer) one says so on the tab it was typed in.
  if (err && err.code === 'session_expired') showLogin({ ...err.err, status: 401 }, 'staff');
  else if (kind === 'session') showLogin('signin.session_gone', 'staff');
  else showLogin('auth.invalid', 'token');
}

/** The sign-in page; `msg` is a dictionary key or an API error body;
 * `tab` the tab to show ('staff' or 'token', default: the last used). */
export function showLogin(msg, tab) {
  state.loginMessage = typeof msg === 'string' ? msg : null;
  state.loginError = msg && typeof msg === 'object' ? msg : null;
  document.body.dataset.auth = 'login';
  $('#login').hidden = false;
  $('#tabs').hidden = true;
  $('#logout').hidden = true;
  $('#who').hidden = true;
  $('#my-password').hidden = true;
  for (const p of $$('.panel')) p.hidden = true;
  $('#toast').hidden = true;
  state.lastError = null;
  // Nothing the last principal saw stays for the next one.
  Object.assign(state, {
    staffList: null, staffEditing: null, staffError: null, auditEntries: null, auditNext: null,
    consistency: null, consistencyError: null,
    auditStaff: null, auditError: null, refundApproval: null, myPasswordError: null,
  });
  renderError();
  renderNodeBadge();
  renderLoginMessage();
  showSignIn(tab || state.loginTab || 'staff');
}

export function renderLoginMessage() {
  const el = $('#login-message');
  const e = state.loginError;
  el.hidden = !state.loginMessage && !e;
  el.textContent = e ? refusalText(e) : (state.loginMessage ? t(state.loginMessage) : '');
  el.dataset.code = e ? e.code : '';
  el.classList.toggle('info', state.loginMessage === 'auth.logged_out');
}

/** Who the token is: the session, or null on a node without sessions. */
async function loadSession() {
  try {
    return await api('GET', '/api/v1/sessions/current');
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

export async function start() {
  document.body.dataset.auth = 'checking';
  try {
    state.session = await loadSession();
    // An authenticated read: gives the programme.
    state.programme = await api('GET', '/api/v1/programme');
  } catch (e) {
    if (e instanceof ApiError && e.unauthorized) return;
    state.programme = null;
    if (e instanceof ApiError && e.status === 0) showError(e);
  }
  showApp();
  api('GET', '/api/v1/health').then((hl) => { state.health = hl; renderNodeBadge(); }).catch(() => {});
}

export function showApp() {
  state.loginMessage = null;
  state.loginError = null;
  document.body.dataset.auth = 'app';
  $('#login').hidden = true;
  $('#tabs').hidden = false;
  $('#logout').hidden = false;
  renderWho();
  applyPermissions();
  renderRechargeOffers();
  // The screen last shown, unless this principal may not see it.
  const tab = $(`.tab[data-tab="${state.tab}"]`);
  const first = $$('.tab').find((b) => !b.hidden);
  showTab(tab && !tab.hidden ? state.tab : (first ? first.dataset.tab : 'members'));
}

/** The header: who is signed in (name and role, or the integration). */
export function renderWho() {
  const el = $('#who');
  const s = state.session;
  const shown = !!s && document.body.dataset.auth === 'app';
  el.hidden = !shown;
  el.textContent = shown ? whoText() : '';
  el.dataset.principal = s ? s.principal : '';
  el.dataset.staff = s && s.staff ? s.staff.id : '';
  $('#my-password').hidden = !shown || !s.staff;
}

export function renderNodeBadge() {
  const el = $('#node-badge');
  const hl = state.health;
  const s = state.session;
  const node = (s && s.node) || (hl && hl.node) || '';
  const role = (s && s.node_role) || (hl && hl.role) || '';
  el.hidden = !node || document.body.dataset.auth !== 'app';
  el.textContent = `${node}${role ? ` · ${role}` : ''}`;
}

async function signOut() {
  // Ends the session at the node too; for an admin token nothing ends
  // there, and a node that cannot be reached still forgets it here.
  if (state.tokenKind === 'session') await api('DELETE', '/api/v1/sessions/current', { anon: true }).catch(() => {});
  setToken(null);
  state.session = null;
  showLogin('auth.logged_out');
}

export function bindAuth() {
  whenUnauthorized(onUnauthorized);
  $('#logout').addEventListener('click', () => busy($('#logout'), signOut));
  $('#my-password').addEventListener('click', () => showTab('account'));
  $('#login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const tok = $('#login-token').value.trim();
    if (!tok) { state.loginMessage = 'auth.required'; state.loginError = null; renderLoginMessage(); return; }
    setToken(tok, 'token');
    state.loginTab = 'token';
    state.loginMessage = null;
    state.loginError = null;
    renderLoginMessage();
    busy($('#login-submit'), start);
  });
  window.addEventListener('hashchange', () => { if (takeTokenFromHash()) start(); });
}
