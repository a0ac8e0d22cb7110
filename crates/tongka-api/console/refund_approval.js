// A manager's approval of a refund (需要店长授权): a cashier's refund above
// the programme's limit is refused `approval_required` (with the limit and
// the amount); the refund dialog then asks a store manager's login and
// password at the same till and sends the same refund again with them.
import { state } from './state.js';
import { $ } from './dom.js';
import { t } from './i18n.js';
import { money } from './format.js';
import { ApiError, postOnce } from './api.js';
import { busy, clearError } from './feedback.js';
import { refusalText } from './coupon_text.js';

let whenRefunded = () => {};

/** Asks for a manager's approval of the refund `body` of order `orderId`,
 * which the node refused with `err` (approval_required). */
export function askApproval(orderId, body, err) {
  state.refundApproval = { orderId, body, limit: err.limit, amount: err.amount, error: null };
  $('#approval-login').value = '';
  $('#approval-password').value = '';
  renderApproval();
  $('#approval-login').focus();
}

export function cancelApproval() {
  state.refundApproval = null;
  renderApproval();
}

export function renderApproval() {
  const a = state.order && state.refundApproval && state.refundApproval.orderId === state.order.id ? state.refundApproval : null;
  $('#refund-approval').hidden = !a;
  $('#refund-approval-text').textContent = a ? t('approval.text', { amount: money(a.amount), limit: money(a.limit) }) : '';
  const e = a && a.error;
  $('#approval-error').hidden = !e;
  $('#approval-error').dataset.code = e ? e.code : '';
  $('#approval-error-message').textContent = e ? refusalText(e) : '';
  $('#approval-error-code').textContent = e ? e.code : '';
}

async function approveAndRefund() {
  clearError();
  const a = state.refundApproval;
  if (!a) return;
  const login = $('#approval-login').value.trim().toLowerCase();
  const password = $('#approval-password').value;
  if (!login || !password) { a.error = { code: 'approval_required', localKey: 'approval.required' }; renderApproval(); return; }
  a.error = null;
  renderApproval();
  let r;
  try {
    // A new Idempotency-Key, not the refused refund's: the body now carries
    // the approval, and a key sent again with another body is refused
    // (idempotency_key_reused). The refused try moved nothing, so a second
    // key cannot refund twice; a retry of this very submission (same body)
    // after an uncertain outcome reuses this one.
    r = await postOnce('refund-approved', `/api/v1/orders/${encodeURIComponent(a.orderId)}/refunds`,
      { ...a.body, approval: { login, password } });
  } catch (e) {
    if (!(e instanceof ApiError) || e.unauthorized) throw e;
    a.error = { status: e.status, ...e.err };
    renderApproval();
    return;
  }
  // The manager's name when the node gives it; else the login typed here
  // (a cashier may not read other accounts).
  if (!r.approved_by_name) r.approved_by_login = login;
  state.refundApproval = null;
  $('#approval-password').value = '';
  renderApproval();
  await whenRefunded(a.orderId, r);
}

/** `onRefunded(orderId, refund)` shows an approved refund as any other. */
export function bindApproval(onRefunded) {
  whenRefunded = onRefunded;
  $('#approval-cancel').addEventListener('click', cancelApproval);
  $('#approval-submit').addEventListener('click', () => busy($('#approval-submit'), approveAndRefund));
  // Enter in the box must not submit the refund form around it.
  $('#approval-login').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') { ev.preventDefault(); $('#approval-password').focus(); }
  });
  $('#approval-password').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') { ev.preventDefault(); busy($('#approval-submit'), approveAndRefund); }
  });
}
