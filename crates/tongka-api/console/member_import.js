// Member import (会员导入): a CSV file from another system (手机号, 姓名,
// 生日, 卡号, 本金, 赠送金额, 积分, 等级) checked first by a dry run, whose
// rejected rows are listed with their line, code and reason; the import
// button is enabled only once a dry run of the file rejected none. The
// import answers the members created (or, the same file again, replayed:
// nothing is created twice; the node derives its keys from the file).
// POST /api/v1/members/import (?dry_run=true).
import { state } from './state.js';
import { $, clear, h, toast } from './dom.js';
import { t } from './i18n.js';
import { money } from './format.js';
import { api, ApiError } from './api.js';
import { busy, localError } from './feedback.js';

// The file chosen: its name and text; the last answer shown.
const mi = { name: null, text: null, answer: null, checked: false };

async function readFile() {
  const input = $('#mimp-file');
  const f = input.files && input.files[0];
  mi.answer = null;
  mi.checked = false;
  if (!f) { mi.name = null; mi.text = null; renderMemberImport(); return; }
  mi.name = f.name;
  mi.text = await f.text();
  renderMemberImport();
}

async function send(dryRun) {
  if (mi.text === null) throw localError('mimp.no_file');
  const path = `/api/v1/members/import${dryRun ? '?dry_run=true' : ''}`;
  try {
    mi.answer = await api('POST', path, { csv: mi.text });
    mi.checked = dryRun ? mi.answer.rejected.length === 0 : false;
    if (!dryRun) toast(t('mimp.done', { n: mi.answer.created }));
  } catch (e) {
    // A real run refused for its rows: show them as a dry run does.
    if (e instanceof ApiError && e.code === 'import_rejected' && Array.isArray(e.err.rejected)) {
      mi.answer = { dry_run: false, refused: true, rejected: e.err.rejected };
      mi.checked = false;
    } else {
      throw e;
    }
  } finally {
    renderMemberImport();
  }
}

export function bindMemberImport() {
  $('#mimp-file').addEventListener('change', () => busy([], readFile));
  // Drawn again once `busy` gave the buttons back: importing stays off
  // until a clean dry run.
  $('#mimp-dry-run').addEventListener('click', (ev) => busy(ev.currentTarget, () => send(true)).then(renderMemberImport));
  $('#mimp-import').addEventListener('click', (ev) => busy(ev.currentTarget, () => send(false)).then(renderMemberImport));
}

function reason(r) {
  return state.lang === 'zh' ? (r.message_zh || r.message) : (r.message || r.message_zh);
}

export function renderMemberImport() {
  const panel = $('#panel-member-import');
  if (!panel) return;
  $('#mimp-file-name').textContent = mi.name ? t('mimp.file', { name: mi.name }) : t('mimp.no_file');
  // Importing waits for a clean dry run of this very file.
  const imp = $('#mimp-import');
  if (!imp.dataset.busy && !imp.dataset.denied) imp.disabled = !mi.checked;
  const summary = clear($('#mimp-summary'));
  const body = clear($('#mimp-rejected-body'));
  const a = mi.answer;
  $('#mimp-rejected').hidden = !(a && a.rejected && a.rejected.length);
  if (!a) return;
  if (a.refused) {
    summary.append(h('p', { class: 'form-error', 'data-test': 'mimp-refused', text: t('mimp.refused', { n: a.rejected.length }) }));
  } else {
    const dl = h('dl', { class: 'kv', 'data-test': 'mimp-counts' });
    const row = (key, value, test) => dl.append(h('dt', { text: t(key) }),
      h('dd', { 'data-test': test, 'data-value': String(value), text: String(value) }));
    row('mimp.accepted', a.accepted, 'mimp-accepted');
    if (!a.dry_run) row('mimp.created', a.created, 'mimp-created');
    row('mimp.replayed', a.replayed, 'mimp-replayed');
    row('mimp.rejected_n', a.rejected.length, 'mimp-rejected-n');
    row('mimp.principal', money(a.principal), 'mimp-principal');
    row('mimp.bonus', money(a.bonus), 'mimp-bonus');
    row('mimp.points', a.points, 'mimp-points');
    summary.append(
      h('p', { class: 'muted', 'data-test': 'mimp-kind', text: t(a.dry_run ? 'mimp.was_dry' : 'mimp.was_real') }),
      dl,
    );
  }
  for (const r of a.rejected || []) {
    body.append(h('tr', { 'data-test': 'mimp-rejected-row', 'data-line': r.line },
      h('td', { text: String(r.line) }),
      h('td', { text: r.code }),
      h('td', { text: reason(r) })));
  }
}
