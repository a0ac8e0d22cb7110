// An order drawn as a receipt: its head (id, store, time, member, level),
// its lines (a card line with its 次卡/期卡 badge and the codes of the
// cards it sold) and its totals (the coupons used, one line each, after the
// level discount and before points, as the printed receipt has them). The checkout's receipt and the orders screen
// (with a refund quantity per line) both draw orders with it.
import { state } from './state.js';
import { h } from './dom.js';
import { t } from './i18n.js';
import { kindLabel, lineCardCodes } from './card_text.js';
import {
  fenStr, fmtTime, levelName, maskPhone, money, rateText, statusName, tenderName, toFen,
} from './format.js';

export function orderTable(o, withRefund) {
  const rows = (o.lines || []).map((l, i) => {
    const refunded = l.refunded_qty !== undefined ? l.refunded_qty : (Array.isArray(o.refunded_qty) ? o.refunded_qty[i] : null);
    return h('tr', { 'data-test': `${withRefund ? 'order-view' : 'receipt'}-line-${i}` },
      h('td', null, h('div', { text: l.description || l.sku || l.barcode || '' },
        l.card ? [' ', h('span', { class: 'tag card-tag', text: kindLabel(l.card.kind) })] : null),
      (l.barcode || l.sku) ? h('div', { class: 'muted small mono', text: l.barcode || l.sku }) : null,
      // The cards the line sold, one code each, as the printed receipt has them.
      lineCardCodes(l).map((code) => h('div', {
        class: 'small mono', 'data-test': `${withRefund ? 'order-view' : 'receipt'}-line-card-${i}`, 'data-code': code,
        text: t('receipt.card', { code }),
      }))),
      h('td', { class: 'num nowrap', text: `${l.qty} × ${money(l.unit_price)}` }),
      h('td', { class: 'num money', text: money(l.amount) }),
      h('td', { class: 'num money' }, h('div', { text: toFen(l.discount) ? `-${money(l.discount)}` : money(l.discount) }),
        toFen(l.coupon_off) ? h('div', { class: 'muted small', 'data-test': `${withRefund ? 'order-view' : 'receipt'}-line-coupon-${i}`, 'data-value': l.coupon_off, text: t('receipt.line_coupon', { off: money(l.coupon_off) }) }) : null),
      h('td', { class: 'num money strong', 'data-test': `${withRefund ? 'order-view' : 'receipt'}-line-payable-${i}`, 'data-value': l.payable, text: money(l.payable) }),
      withRefund ? h('td', { class: 'num' },
        refunded && !/^0*(\.0*)?$/.test(String(refunded)) ? h('div', { class: 'muted small', text: `${t('orders.refunded_qty')} ${refunded}` }) : null,
        h('input', { type: 'text', class: 'refund-qty num', inputmode: 'decimal', 'data-line': i, 'data-test': `refund-qty-${i}`, id: `refund-qty-${i}`, placeholder: '0' })) : null);
  });
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table receipt-lines' },
    h('thead', null, h('tr', null,
      h('th', { text: t('receipt.item') }), h('th', { class: 'num', text: t('receipt.qty_price') }),
      h('th', { class: 'num', text: t('receipt.amount') }), h('th', { class: 'num', text: t('receipt.discount') }),
      h('th', { class: 'num', text: t('receipt.payable') }),
      withRefund ? h('th', { class: 'num', text: t('orders.refund_qty') }) : null)),
    h('tbody', null, rows)));
}

export function totalsList(o, prefix) {
  const dl = h('dl', { class: 'totals' });
  const row = (label, val, test, raw, cls) => dl.append(h('div', { class: `kv-row ${cls || ''}` },
    h('dt', { text: label }), h('dd', { 'data-test': test.replace(/^receipt-/, `${prefix}-`), 'data-value': raw, class: 'money', text: val })));
  row(t('receipt.total'), money(o.total), 'receipt-total', o.total);
  row(t('receipt.discount'), toFen(o.discount) ? `-${money(o.discount)}` : money(o.discount), 'receipt-discount', o.discount);
  for (const [i, c] of (o.coupons || []).entries()) {
    const tpl = state.programme && (state.programme.coupon_templates || []).find((x) => x.id === c.template);
    row(t('receipt.coupon', { name: tpl ? `${tpl.name} ${c.code}` : c.code }), `-${money(c.off)}`, `receipt-coupon-${i}`, c.off);
  }
  if ((o.coupons || []).length > 1) row(t('co.coupon_off'), `-${money(o.coupon_off)}`, 'receipt-coupon-off', o.coupon_off);
  if (o.points_used) {
    row(t('receipt.points_used'), `-${money(o.points_value)}`, 'receipt-points-value', o.points_value);
    dl.append(h('div', { class: 'kv-row' }, h('dt', { text: t('receipt.points_count') }),
      h('dd', { 'data-test': `${prefix}-points-used`, 'data-value': o.points_used, text: String(o.points_used) })));
  }
  row(t('receipt.payable'), money(o.payable), 'receipt-payable', o.payable, 'grand');
  // Tenders are net of change; the cash row shows what was handed over.
  const changeFen = toFen(o.change) || 0n;
  for (const tn of o.tenders || []) {
    const given = tn.kind === 'cash' && changeFen > 0n && toFen(tn.amount) !== null ? fenStr(toFen(tn.amount) + changeFen) : tn.amount;
    row(tenderName(tn.kind), money(given), `receipt-tender-${tn.kind}`, given);
  }
  if (o.paid !== undefined) row(t('receipt.paid'), money(o.paid), 'receipt-paid', o.paid);
  if (o.change !== undefined && toFen(o.change)) row(t('receipt.change'), money(o.change), 'receipt-change', o.change);
  if (toFen(o.balance_principal)) row(t('receipt.balance_principal'), money(o.balance_principal), 'receipt-balance-principal', o.balance_principal);
  if (toFen(o.balance_bonus)) row(t('receipt.balance_bonus'), money(o.balance_bonus), 'receipt-balance-bonus', o.balance_bonus);
  if (o.member_id) {
    dl.append(h('div', { class: 'kv-row' }, h('dt', { text: t('receipt.points_earned') }),
      h('dd', { 'data-test': `${prefix}-points`, 'data-value': o.points_earned, text: String(o.points_earned ?? t('common.none')) })));
  }
  if (toFen(o.refunded)) row(t('receipt.refunded'), money(o.refunded), 'receipt-refunded', o.refunded);
  if (o.points_returned) {
    dl.append(h('div', { class: 'kv-row' }, h('dt', { text: t('receipt.points_returned') }),
      h('dd', { 'data-test': `${prefix}-points-returned`, 'data-value': o.points_returned, text: `+${o.points_returned}` })));
  }
  return dl;
}

export function orderHead(o, member, prefix) {
  const dl = h('dl', { class: 'kv compact' });
  const row = (label, val, test) => dl.append(h('div', { class: 'kv-row' }, h('dt', { text: label }),
    h('dd', { 'data-test': test && test.replace(/^receipt-/, `${prefix}-`), text: val })));
  row(t('receipt.order'), o.id, 'receipt-id');
  row(t('receipt.store'), o.store || t('common.none'));
  row(t('receipt.time'), fmtTime(o.created_at));
  if (o.member_id) row(t('receipt.member'), member ? `${member.name} ${maskPhone(member)}` : o.member_id);
  if (o.member_id || (o.rate && o.rate !== '1' && o.rate !== '1.00')) row(t('receipt.level'), `${levelName(o.level)} · ${rateText(o.rate)}`);
  if (o.status) row(t('receipt.status'), statusName(o.status), 'receipt-status');
  return dl;
}
