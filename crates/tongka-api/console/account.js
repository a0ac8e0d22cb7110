// "修改密码 / change my password", for any signed-in staff member (the
// header's button): PATCH /staff/{own id} with the new password and the
// current one. A changed password ends the account's sessions, this one
// too, so the console signs in again with the new password at once.
import { state } from './state.js';
import { $, toast } from './dom.js';
import { t } from './i18n.js';
import { ApiError, api } from './api.js';
import { busy, clearError } from './feedback.js';
import { onShow } from './nav.js';
import { refusalText } from './coupon_text.js';
import { setToken, start } from './auth.js';

function renderMyPasswordError() {
  const e = state.myPasswordError;
  const box = $('#mypw-error');
  box.hidden = !e;
  box.dataset.code = e ? e.code : '';
  $('#mypw-error-message').textContent = e ? refusalText(e) : '';
  $('#mypw-error-code').textContent = e ? e.code : '';
}

async function changeMyPassword() {
  clearError();
  const me = state.session && state.session.staff;
  const current = $('#mypw-current').value;
  const password = $('#mypw-new').value;
  state.myPasswordError = null;
  if (!me) state.myPasswordError = { code: 'invalid_input', localKey: 'mypw.only_staff' };
  else if (password !== $('#mypw-new2').value) state.myPasswordError = { code: 'password_mismatch', localKey: 'first.mismatch' };
  renderMyPasswordError();
  if (state.myPasswordError) return;
  try {
    // `anon`: should the change end this session before the answer, the
    // sign-in below still runs instead of the sign-in page.
    await api('PATCH', `/api/v1/staff/${encodeURIComponent(me.id)}`, { body: { password, current_password: current }, anon: true });
    const s = await api('POST', '/api/v1/sessions', { body: { login: me.login, password }, token: null, anon: true });
    setToken(s.token, 'session');
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    state.myPasswordError = { status: e.status, ...e.err };
    renderMyPasswordError();
    return;
  }
  for (const id of ['#mypw-current', '#mypw-new', '#mypw-new2']) $(id).value = '';
  toast(t('mypw.done'));
  await start();
}

export function renderAccount() { renderMyPasswordError(); }

export function bindAccount() {
  onShow('account', () => { state.myPasswordError = null; renderMyPasswordError(); $('#mypw-current').focus(); });
  $('#mypw-form').addEventListener('submit', (ev) => { ev.preventDefault(); busy($('#mypw-submit'), changeMyPassword); });
}
