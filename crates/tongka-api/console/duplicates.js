// The duplicates screen: members registered twice with one phone or card
// number (say, at two stores while they could not reach each other), and
// merging them into the one kept, after a confirmation.
import { state } from './state.js';
import { $, clear, h, toast } from './dom.js';
import { t } from './i18n.js';
import { fmtTime, maskPhone, money, toFen } from './format.js';
import { ApiError, api, postOnce } from './api.js';
import { busy, clearError, localError, showError } from './feedback.js';
import { onShow, showTab } from './nav.js';
import { openMember } from './members.js';

/** A duplicate group is known by its members (the value shown is masked). */
function dupKey(g) { return `${g.kind}:${(g.members || []).map((m) => m.id).sort().join(' ')}`; }

async function loadDuplicates() {
  const r = await api('GET', '/api/v1/members/duplicates');
  state.duplicates = (r && r.duplicates) || [];
  // A pick survives a reload while its group is still listed.
  const keys = new Set(state.duplicates.map(dupKey));
  for (const k of Object.keys(state.mergePick)) if (!keys.has(k)) delete state.mergePick[k];
  if (state.mergeConfirm && !keys.has(state.mergeConfirm)) state.mergeConfirm = null;
  renderDuplicates();
}

export function renderDuplicates() {
  const box = clear($('#dup-list'));
  const list = state.duplicates;
  renderMergeResult();
  if (!list) return;
  if (!list.length) {
    box.append(h('div', { class: 'card empty', 'data-test': 'dup-none', text: t('dup.none') }));
    return;
  }
  list.forEach((g, gi) => {
    const key = dupKey(g);
    const pick = state.mergePick[key] || null;
    const members = g.members || [];
    const title = t(g.kind === 'card' ? 'dup.kind_card' : 'dup.kind_phone', { value: g.value });
    const cards = members.map((m) => {
      const kv = h('dl', { class: 'kv' });
      const row = (label, val, test, raw) => kv.append(h('div', { class: 'kv-row' }, h('dt', { text: label }),
        h('dd', { 'data-test': test, 'data-value': raw, text: val })));
      row(t('field.name'), m.name || t('common.none'), 'dup-name');
      row(t('field.phone'), maskPhone(m), 'dup-phone');
      row(t('field.card_no'), m.card_no || t('common.none'), 'dup-card');
      row(t('wallet.balance'), money(m.balance), 'dup-balance', m.balance);
      row(t('wallet.available_here'), money(m.available_here), 'dup-available', m.available_here);
      row(t('wallet.points'), m.points == null ? t('common.none') : String(m.points), 'dup-points', m.points);
      row(t('member.home_store'), m.home_store || t('common.none'), 'dup-home', m.home_store);
      row(t('member.created_at'), fmtTime(m.created_at), 'dup-created');
      row(t('member.id'), m.id, 'dup-id');
      const radio = h('input', { type: 'radio', name: `dup-keep-${gi}`, value: m.id, 'data-test': 'dup-keep' });
      radio.checked = pick === m.id;
      return h('div', {
        class: `dup-member${pick === m.id ? ' survivor' : ''}`, 'data-test': 'dup-member', 'data-id': m.id,
        onclick: () => { if (state.mergePick[key] !== m.id) { state.mergePick[key] = m.id; state.mergeConfirm = null; renderDuplicates(); } },
      }, h('label', { class: 'dup-pick' }, radio, h('span', { text: t('dup.keep') })), kv);
    });
    const group = h('div', {
      class: 'card dup-group', 'data-test': 'dup-group', 'data-kind': g.kind, 'data-ids': members.map((m) => m.id).join(' '),
      'data-survivor': pick || '',
    }, h('h3', { text: title }), h('div', { class: 'dup-members' }, cards));
    if (state.mergeConfirm === key && pick) {
      const survivor = members.find((m) => m.id === pick);
      const absorbed = members.filter((m) => m.id !== pick);
      const btnConfirm = h('button', { type: 'button', class: 'danger armed', 'data-test': 'merge-confirm', 'data-needs': 'merge_members', text: t('dup.confirm_btn') });
      btnConfirm.addEventListener('click', () => mergeGroup(key, pick, absorbed, btnConfirm));
      group.append(h('div', { class: 'merge-confirm', 'data-test': 'merge-confirm-box', role: 'alertdialog' },
        h('div', {
          'data-test': 'merge-confirm-text',
          text: t('dup.confirm', {
            absorbed: absorbed.map((m) => (state.lang === 'zh' ? `${m.name}（${m.id}）` : `${m.name} (${m.id})`)).join(state.lang === 'zh' ? '、' : ', '),
            survivor: survivor ? survivor.name : pick, sid: pick,
          }),
        }),
        h('div', { class: 'actions' },
          h('button', { type: 'button', 'data-test': 'merge-cancel', text: t('common.cancel'), onclick: () => { state.mergeConfirm = null; renderDuplicates(); } }),
          btnConfirm)));
    } else {
      group.append(h('div', { class: 'actions' }, h('button', {
        type: 'button', class: 'primary', 'data-test': 'dup-merge', 'data-needs': 'merge_members', disabled: !pick, text: t('dup.merge'),
        onclick: () => {
          clearError();
          if (!state.mergePick[key]) { showError(localError('dup.pick_first', null, 'merge_pick_survivor')); return; }
          state.mergeConfirm = key;
          renderDuplicates();
        },
      })));
    }
    box.append(group);
  });
}

async function mergeGroup(key, survivorId, absorbed, btn) {
  clearError();
  state.mergeResult = null;
  await busy(btn, async () => {
    let survivor = null;
    try {
      // The API merges one member at a time; a group of three takes two.
      for (const a of absorbed) {
        survivor = await postOnce(`merge:${a.id}`, `/api/v1/members/${encodeURIComponent(survivorId)}/merge`, { absorb: a.id });
      }
    } finally {
      state.mergeConfirm = null;
      if (survivor) {
        const here = state.health && state.health.node;
        state.mergeResult = {
          survivor, names: absorbed.map((m) => m.name || m.id),
          later: absorbed.some((m) => m.home_store && m.home_store !== here) || toFen(survivor.available_here) !== toFen(survivor.balance),
        };
        toast(t('dup.done', { names: state.mergeResult.names.join(state.lang === 'zh' ? '、' : ', '), survivor: survivor.name }));
      }
      // Whatever happened, show the list as it is now.
      await loadDuplicates().catch((e) => { if (!(e instanceof ApiError && e.unauthorized)) renderDuplicates(); });
    }
  });
}

function renderMergeResult() {
  const box = clear($('#merge-result'));
  const r = state.mergeResult;
  box.hidden = !r;
  if (!r) return;
  const s = r.survivor;
  box.dataset.id = s.id;
  box.dataset.value = s.balance;
  box.append(
    h('div', { text: t('dup.result', { names: r.names.join(state.lang === 'zh' ? '、' : ', '), survivor: s.name, sid: s.id, balance: money(s.balance), points: s.points == null ? t('common.none') : s.points }) }),
    r.later ? h('div', { class: 'small', text: t('dup.result_later') }) : null,
    h('div', { class: 'actions' }, h('button', {
      type: 'button', 'data-test': 'merge-open-member', text: t('dup.open_member'),
      onclick: () => { showTab('members'); busy($('#member-refresh'), () => openMember(s.id)); },
    })));
}

export function bindDuplicates() {
  onShow('duplicates', () => busy($('#dup-refresh'), loadDuplicates));
  $('#dup-refresh').addEventListener('click', () => { clearError(); busy($('#dup-refresh'), loadDuplicates); });
}
