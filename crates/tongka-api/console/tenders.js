// The checkout's tenders (支付): one row per tender, its kind and amount
// (empty: it pays the rest); the balance only for a member. What a change
// does (ask for a new quote) is checkout.js's, given by `whenTendersChange`.
import { state } from './state.js';
import { $, $$, clear, h } from './dom.js';
import { t } from './i18n.js';

const TENDERS = ['balance', 'cash', 'card', 'wechat', 'alipay'];

let changed = () => {};

/** What a tender added, removed or changed does. */
export function whenTendersChange(fn) { changed = fn; }

export function tenderRows() { return $$('#checkout-tenders .tender'); }

function renumberTenders() {
  tenderRows().forEach((row, i) => {
    $('.t-kind', row).setAttribute('data-test', `checkout-tender-kind-${i}`);
    $('.t-amount', row).setAttribute('data-test', `checkout-tender-amount-${i}`);
    $('.t-remove', row).setAttribute('data-test', `checkout-tender-remove-${i}`);
    $('.t-kind', row).id = `checkout-tender-kind-${i}`;
    $('.t-amount', row).id = `checkout-tender-amount-${i}`;
  });
}

export function addTender(kind, amount) {
  const used = new Set(tenderRows().map((r) => $('.t-kind', r).value));
  const k = kind || TENDERS.find((x) => !used.has(x) && (x !== 'balance' || state.coMember)) || 'cash';
  const sel = h('select', { class: 't-kind' }, TENDERS.map((x) => h('option', { value: x, 'data-i18n': `tender.${x}`, text: t(`tender.${x}`) })));
  sel.value = k;
  const row = h('div', { class: 'tender row' },
    sel,
    h('input', { type: 'text', class: 't-amount num grow', inputmode: 'decimal', 'data-i18n-placeholder': 'checkout.tender_amount_ph', placeholder: t('checkout.tender_amount_ph'), value: amount || '' }),
    h('button', { type: 'button', class: 'icon-btn t-remove', 'data-i18n-title': 'common.remove', title: t('common.remove'), text: '×' }));
  sel.addEventListener('change', () => { row.dataset.touched = '1'; changed(); });
  $('.t-amount', row).addEventListener('input', () => { row.dataset.touched = '1'; changed(); });
  $('.t-remove', row).addEventListener('click', () => { row.remove(); renumberTenders(); syncBalanceOption(); changed(); });
  $('#checkout-tenders').append(row);
  renumberTenders();
  syncBalanceOption();
  changed();
  return row;
}

export function syncBalanceOption() {
  for (const row of tenderRows()) {
    const opt = $('option[value="balance"]', row);
    opt.disabled = !state.coMember;
  }
}

export function resetTenders() {
  clear($('#checkout-tenders'));
  addTender(state.coMember ? 'balance' : 'cash');
}
