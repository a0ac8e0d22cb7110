// The sign-in page: a staff member's login and password (POST /sessions),
// the integration token's tab (the admin token, as before staff accounts),
// and, while the node has no staff account (GET /setup says `first_run`),
// creating the first admin with the node's admin token, who is then signed
// in. Refusals are shown on the page, next to the form, zh or en.
import { state } from './state.js';
import { $, $$ } from './dom.js';
import { ApiError, api } from './api.js';
import { busy } from './feedback.js';
import { refusalText } from './coupon_text.js';
import { renderLoginMessage, setToken, start } from './auth.js';

const FORMS = { staff: '#staff-login-form', token: '#login-form', first: '#first-admin-form' };

/** Shows the sign-in page's tab `tab` ('staff', 'token' or 'first'). */
export function showSignIn(tab) {
  state.loginTab = tab in FORMS ? tab : 'staff';
  for (const [name, sel] of Object.entries(FORMS)) $(sel).hidden = name !== state.loginTab;
  for (const b of $$('.login-tab')) {
    const on = b.dataset.loginTab === state.loginTab || (b.dataset.loginTab === 'staff' && state.loginTab === 'first');
    b.classList.toggle('active', on);
    b.setAttribute('aria-selected', on ? 'true' : 'false');
  }
  renderFirstError();
  renderFirstRun();
  const focus = { staff: '#staff-login', token: '#login-token', first: '#first-token' }[state.loginTab];
  const inp = $(focus);
  if (state.loginTab === 'token') inp.value = '';
  inp.focus();
  checkSetup();
}

/** Asks the node whether it has any staff account yet. */
async function checkSetup() {
  try {
    state.setup = await api('GET', '/api/v1/setup', { token: null, anon: true });
  } catch (e) {
    state.setup = null; // an older node, or unreachable: nothing to offer
  }
  renderFirstRun();
}

function renderFirstRun() {
  const offer = $('#first-run');
  offer.hidden = !(state.setup && state.setup.first_run) || state.loginTab !== 'staff';
}

function renderFirstError() {
  const box = $('#first-error');
  const e = state.firstError;
  box.hidden = !e;
  box.dataset.code = e ? e.code : '';
  $('#first-error-message').textContent = e ? refusalText(e) : '';
  $('#first-error-code').textContent = e ? e.code : '';
}

function apiErr(e) {
  return e instanceof ApiError ? { status: e.status, ...e.err } : { code: 'client_error', message: String(e) };
}

/** Signs `login` in; the session's token is kept and the console starts. */
async function signIn(login, password) {
  const s = await api('POST', '/api/v1/sessions', { body: { login, password }, token: null, anon: true });
  setToken(s.token, 'session');
  state.session = s;
  await start();
}

async function staffSignIn() {
  const login = $('#staff-login').value.trim().toLowerCase();
  const password = $('#staff-password').value;
  state.loginMessage = null;
  state.loginError = null;
  if (!login || !password) { state.loginMessage = 'signin.required'; renderLoginMessage(); return; }
  renderLoginMessage();
  try {
    await signIn(login, password);
    $('#staff-password').value = '';
  } catch (e) {
    state.loginError = apiErr(e);
    renderLoginMessage();
  }
}

async function createFirstAdmin() {
  const token = $('#first-token').value.trim();
  const login = $('#first-login').value.trim().toLowerCase();
  const name = $('#first-name').value.trim();
  const password = $('#first-password').value;
  state.firstError = null;
  if (!token) state.firstError = { code: 'invalid_input', localKey: 'first.token_required' };
  else if (password !== $('#first-password2').value) state.firstError = { code: 'password_mismatch', localKey: 'first.mismatch' };
  renderFirstError();
  if (state.firstError) return;
  try {
    // The admin token proves the caller runs this node; it is not kept.
    await api('POST', '/api/v1/setup/first-admin', { body: { login, name, password }, token, anon: true });
    await signIn(login, password);
    for (const id of ['#first-token', '#first-password', '#first-password2']) $(id).value = '';
    state.setup = null;
  } catch (e) {
    state.firstError = apiErr(e);
    renderFirstError();
  }
}

export function renderSignIn() {
  renderFirstError();
  renderFirstRun();
}

export function bindSignIn() {
  for (const b of $$('.login-tab')) {
    b.addEventListener('click', () => {
      state.loginMessage = null;
      state.loginError = null;
      renderLoginMessage();
      showSignIn(b.dataset.loginTab);
    });
  }
  $('#staff-login-form').addEventListener('submit', (ev) => { ev.preventDefault(); busy($('#staff-login-submit'), staffSignIn); });
  $('#first-run-open').addEventListener('click', () => { state.firstError = null; showSignIn('first'); });
  $('#first-back').addEventListener('click', () => showSignIn('staff'));
  $('#first-admin-form').addEventListener('submit', (ev) => { ev.preventDefault(); busy($('#first-submit'), createFirstAdmin); });
}
