// The error banner and busy buttons: every refusal, found here or by the
// API, is shown in the one banner with its machine code; `busy` runs a
// user action with its buttons disabled and sends what it throws there.
import { state } from './state.js';
import { I18N, t } from './i18n.js';
import { $ } from './dom.js';
import { MONEY_RE, money } from './format.js';
import { ApiError } from './api.js';

/** Runs a user action with its button disabled; errors go to the banner. */
export async function busy(btn, fn) {
  const btns = Array.isArray(btn) ? btn : [btn];
  if (btns.some((b) => b && b.dataset.busy)) return undefined;
  for (const b of btns) if (b) { b.dataset.busy = '1'; b.disabled = true; b.classList.add('busy'); }
  document.body.dataset.busy = String(Number(document.body.dataset.busy || 0) + 1);
  try {
    return await fn();
  } catch (e) {
    showError(e);
    return undefined;
  } finally {
    for (const b of btns) if (b) { delete b.dataset.busy; b.disabled = false; b.classList.remove('busy'); }
    const n = Number(document.body.dataset.busy || 1) - 1;
    if (n > 0) document.body.dataset.busy = String(n); else delete document.body.dataset.busy;
  }
}

// ---------------------------------------------------------------------------
// Error banner
// ---------------------------------------------------------------------------
export function showError(e) {
  if (e instanceof ApiError) {
    if (e.unauthorized) return; // the login box says it
    state.lastError = { status: e.status, ...e.err };
  } else if (e && e.local) {
    state.lastError = { code: e.code || 'invalid_input', localKey: e.localKey, vars: e.vars };
  } else {
    state.lastError = { code: 'client_error', message: String(e && e.message ? e.message : e) };
    console.error(e); // eslint-disable-line no-console
  }
  renderError();
}

export function localError(key, vars, code) {
  return { local: true, localKey: key, vars, code: code || 'invalid_input' };
}

export function clearError() { state.lastError = null; renderError(); }

const DETAIL_SKIP = new Set(['code', 'message', 'message_zh', 'status', 'localKey', 'vars']);
export function renderError() {
  const banner = $('#error-banner');
  const e = state.lastError;
  if (!e) { banner.hidden = true; delete banner.dataset.code; return; }
  let msg;
  if (e.localKey) msg = t(e.localKey, e.vars);
  else if (e.code === 'network_error') msg = t('err.network_error');
  else if (e.code === 'bad_response') msg = t('err.bad_response');
  else if (state.lang === 'zh') msg = e.message_zh || e.message || t('err.http', { status: e.status });
  else msg = e.message || e.message_zh || t('err.http', { status: e.status });
  const details = Object.entries(e)
    // Details the message already states are not repeated.
    .filter(([k, v]) => !DETAIL_SKIP.has(k) && v !== null && v !== undefined && typeof v !== 'object' && !msg.includes(String(v)))
    .map(([k, v]) => {
      const label = I18N.zh[`detail.${k}`] ? t(`detail.${k}`) : k;
      const val = (typeof v === 'string' && MONEY_RE.test(v) && /amount|balance|here|wanted|tendered|payable|principal|bonus/.test(k)) ? money(v) : String(v);
      return `${label}: ${val}`;
    });
  const [open, sep, close] = state.lang === 'zh' ? ['（', '，', '）'] : [' (', ', ', ')'];
  $('#error-message').textContent = details.length ? `${msg}${open}${details.join(sep)}${close}` : msg;
  $('#error-code').textContent = e.code || '';
  banner.dataset.code = e.code || '';
  banner.hidden = false;
}
