// Signing in: the token comes from the address's fragment (`#token=…`,
// taken out of the address at once) or from the login box, and is kept
// in localStorage; a 401 from any call brings the login box back.
import { state } from './state.js';
import { $, $$ } from './dom.js';
import { t } from './i18n.js';
import { ApiError, api, whenUnauthorized } from './api.js';
import { busy, renderError, showError } from './feedback.js';
import { showTab } from './nav.js';
import { renderRechargeOffers } from './members.js';

const LS_TOKEN = 'tongka.console.token';

/** The token kept from an earlier visit, if any. */
export function restoreToken() {
  try { state.token = localStorage.getItem(LS_TOKEN); } catch (e) { state.token = null; }
}

export function takeTokenFromHash() {
  const raw = location.hash.replace(/^#/, '');
  if (!raw) return false;
  const params = new URLSearchParams(raw);
  const tok = params.get('token');
  if (!tok) return false;
  setToken(tok);
  params.delete('token');
  const rest = params.toString();
  history.replaceState(null, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
  return true;
}

export function setToken(tok) {
  state.token = tok || null;
  try {
    if (tok) localStorage.setItem(LS_TOKEN, tok); else localStorage.removeItem(LS_TOKEN);
  } catch (e) { /* private mode: keep it in memory */ }
}

function onUnauthorized() {
  setToken(null);
  showLogin('auth.invalid');
}

export function showLogin(msgKey) {
  state.loginMessage = msgKey || null;
  document.body.dataset.auth = 'login';
  $('#login').hidden = false;
  $('#tabs').hidden = true;
  $('#logout').hidden = true;
  for (const p of $$('.panel')) p.hidden = true;
  $('#toast').hidden = true;
  state.lastError = null;
  renderError();
  renderNodeBadge();
  renderLoginMessage();
  const inp = $('#login-token');
  inp.value = '';
  inp.focus();
}

export function renderLoginMessage() {
  const el = $('#login-message');
  el.hidden = !state.loginMessage;
  el.textContent = state.loginMessage ? t(state.loginMessage) : '';
  el.classList.toggle('info', state.loginMessage === 'auth.logged_out');
}

export async function start() {
  document.body.dataset.auth = 'checking';
  try {
    // An authenticated read: proves the token and gives the programme.
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
  document.body.dataset.auth = 'app';
  $('#login').hidden = true;
  $('#tabs').hidden = false;
  $('#logout').hidden = false;
  renderRechargeOffers();
  showTab(state.tab);
}

export function renderNodeBadge() {
  const el = $('#node-badge');
  const hl = state.health;
  el.hidden = !hl || document.body.dataset.auth !== 'app';
  if (hl) el.textContent = `${hl.node || ''}${hl.role ? ` · ${hl.role}` : ''}`;
}

export function bindAuth() {
  whenUnauthorized(onUnauthorized);
  $('#logout').addEventListener('click', () => { setToken(null); showLogin('auth.logged_out'); });
  $('#login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const tok = $('#login-token').value.trim();
    if (!tok) { state.loginMessage = 'auth.required'; renderLoginMessage(); return; }
    setToken(tok);
    state.loginMessage = null;
    renderLoginMessage();
    busy($('#login-submit'), start);
  });
  window.addEventListener('hashchange', () => { if (takeTokenFromHash()) start(); });
}
