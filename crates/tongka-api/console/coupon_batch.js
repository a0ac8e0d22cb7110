// Batch issuing of coupons (批量发券), on the members screen, at HQ or a
// store: a template of the programme and member ids (pasted, one a line,
// or the members the search lists), sent as one `POST /coupon-batches`.
// The node issues to each member as an issue to that member alone would,
// and answers who got a coupon and who was refused and why; this screen
// shows how many were issued and each refused member with the node's
// reason, in the language chosen. A refusal of the whole batch (its
// template, its member ids) is shown next to the form; a lost answer goes
// to the banner, and the same click again reuses the batch's key, so that
// nobody gets a second coupon from a retry.
import { state } from './state.js';
import { $, clear, h, toast } from './dom.js';
import { t } from './i18n.js';
import { ApiError, postOnce } from './api.js';
import { busy } from './feedback.js';
import { onShow } from './nav.js';
import { refusalText } from './coupon_text.js';
import { couponTemplates, loadMemberCoupons, refreshTemplates, templateSelect } from './coupons.js';

/** The member ids typed or pasted: one a line (commas and spaces also
 * part them), each once, in the order given. Whether each is a member is
 * the node's to say. */
function memberIds(text) {
  const out = [];
  for (const x of text.split(/[\s,，、;；]+/)) if (x && !out.includes(x)) out.push(x);
  return out;
}

function templateName(id) {
  const tpl = couponTemplates().find((x) => x.id === id);
  return tpl ? tpl.name : id;
}

/** A refusal of the whole batch; for `invalid_member_ids`, the id it
 * names (by its place in what was sent) is shown with it. */
function renderBatchError() {
  const box = $('#batch-error');
  const e = state.batchError;
  box.hidden = !e;
  box.dataset.code = e ? e.code : '';
  let msg = e ? refusalText(e) : '';
  const m = e && /^member_ids\[(\d+)\]$/.exec(e.field || '');
  if (m && e.sent && e.sent[Number(m[1])] !== undefined) msg = `${msg} (${e.sent[Number(m[1])]})`;
  $('#batch-error-message').textContent = msg;
  $('#batch-error-code').textContent = e ? e.code : '';
}

function renderBatchResult() {
  const box = clear($('#batch-result'));
  const r = state.batchResult;
  box.hidden = !r;
  if (!r) return;
  box.dataset.issued = String(r.issued.length);
  box.dataset.refused = String(r.refused.length);
  box.append(h('p', {
    'data-test': 'batch-issued', 'data-count': String(r.issued.length),
    text: t('batch.issued', { n: r.issued.length, name: templateName(r.template) }),
  }));
  if (!r.refused.length) return;
  box.append(h('p', { 'data-test': 'batch-refused-count', text: t('batch.refused', { n: r.refused.length }) }));
  const ul = h('ul', { class: 'batch-refused', 'data-test': 'batch-refused' });
  for (const x of r.refused) {
    ul.append(h('li', { 'data-test': 'batch-refused-member', 'data-id': x.member_id, 'data-code': x.code },
      h('span', { class: 'mono', text: x.member_id }), ' ',
      h('span', { 'data-test': 'batch-refused-reason', text: refusalText(x) }), ' ',
      h('code', { text: x.code })));
  }
  box.append(ul);
}

/** The batch form: its templates, and what the last batch did. */
export function renderCouponBatch() {
  templateSelect($('#batch-template'), $('#batch-submit'));
  renderBatchError();
  renderBatchResult();
}

async function issueBatch(ev) {
  ev.preventDefault();
  const template = $('#batch-template').value;
  const ids = memberIds($('#batch-members').value);
  state.batchError = null;
  if (!template) state.batchError = { code: 'invalid_input', localKey: 'mc.issue_pick' };
  else if (!ids.length) state.batchError = { code: 'invalid_member_ids', localKey: 'batch.members_required' };
  renderBatchError();
  if (state.batchError) return;
  await busy($('#batch-submit'), async () => {
    let r;
    try {
      r = await postOnce('coupon-batch', '/api/v1/coupon-batches', { template, member_ids: ids });
    } catch (e) {
      if (!(e instanceof ApiError) || e.unauthorized || e.uncertain) throw e;
      state.batchError = { status: e.status, ...e.err, sent: ids };
      renderBatchError();
      return;
    }
    state.batchResult = r;
    renderBatchResult();
    toast(t('batch.issued', { n: r.issued.length, name: templateName(r.template) }));
    // The member open on the page shows the coupon just issued.
    const open = state.member && r.issued.some((x) => x.member_id === state.member.id);
    if (open) loadMemberCoupons(state.member.id).catch(() => {});
  });
}

export function bindCouponBatch() {
  const redraw = () => templateSelect($('#batch-template'), $('#batch-submit'));
  onShow('members', redraw);
  $('#batch-form').addEventListener('submit', issueBatch);
  $('#batch-template').addEventListener('focus', () => refreshTemplates().then(redraw));
  $('#batch-template').addEventListener('change', () => { state.batchError = null; renderBatchError(); });
  // The members the search lists now, added to those typed.
  $('#batch-listed').addEventListener('click', () => {
    const listed = (state.results.members || []).map((m) => m.id);
    const ids = memberIds(`${$('#batch-members').value}\n${listed.join('\n')}`);
    $('#batch-members').value = ids.join('\n');
    state.batchError = null;
    renderBatchError();
  });
}
