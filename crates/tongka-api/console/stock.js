// The stock screen (库存): this store's on hand with its low-stock flags,
// and the forms that change it — goods in (入库), a supplier return (退货),
// a transfer shipped to another store and the transfers in transit to this
// one, each received in a small dialog (调拨), and a stocktake (盘点) whose
// variance report is shown once the node answers. Everyone signed in sees
// the stock; the forms need the `stock` right (a store manager or the
// owner, `perms.js`). Quantities and money stay the API's decimal text.
import { state } from './state.js';
import { $, clear, h, toast } from './dom.js';
import { t } from './i18n.js';
import { money } from './format.js';
import { api, postOnce } from './api.js';
import { busy, localError, showError } from './feedback.js';
import { onShow } from './nav.js';
import { chainNodes } from './nodes.js';

/** Each form's line fields: (name, i18n key of its placeholder). */
const FORMS = {
  in: [['item', 'stock.item'], ['qty', 'stock.qty'], ['cost', 'stock.unit_cost']],
  ret: [['item', 'stock.item'], ['qty', 'stock.qty']],
  ship: [['item', 'stock.item'], ['qty', 'stock.qty']],
  take: [['item', 'stock.item'], ['counted', 'stock.counted']],
};

export function here() { return (state.session && state.session.node) || (state.health && state.health.node) || ''; }

/** A product given as a barcode (digits only) or an sku. */
function product(text) {
  const v = text.trim();
  return /^\d{6,20}$/.test(v) ? { barcode: v } : { sku: v };
}

function addLine(form) {
  const box = $(`#stock-${form}-lines`);
  const i = box.children.length;
  box.append(h('div', { class: 'row stock-line' },
    FORMS[form].map(([name, key]) => h('input', {
      type: 'text', 'data-test': `stock-${form}-${name}-${i}`, 'data-field': name,
      placeholder: t(key), 'data-i18n-placeholder': key, 'aria-label': t(key), spellcheck: 'false', autocomplete: 'off',
    }))));
}

function resetLines(form) {
  clear($(`#stock-${form}-lines`));
  addLine(form);
}

/** The filled lines of a form; null (and the banner) if one is half done. */
function lines(form) {
  const out = [];
  for (const row of $(`#stock-${form}-lines`).children) {
    const v = {};
    for (const el of row.querySelectorAll('input')) v[el.dataset.field] = el.value.trim();
    if (Object.values(v).every((x) => !x)) continue;
    if (Object.values(v).some((x) => !x)) { showError(localError('stock.need_item')); return null; }
    out.push(v);
  }
  if (!out.length) { showError(localError('stock.need_item')); return null; }
  return out;
}

async function loadStock() {
  const store = here();
  const q = store ? `?store=${encodeURIComponent(store)}` : '';
  const [list, incoming, nodes] = await Promise.all([
    api('GET', `/api/v1/stock${q}`),
    api('GET', `/api/v1/transfers?status=in_transit${store ? `&store=${encodeURIComponent(store)}` : ''}`),
    chainNodes(),
  ]);
  state.stock = list;
  state.stockIncoming = ((incoming && incoming.transfers) || []).filter((x) => x.to === store);
  state.stockNodes = nodes.filter((n) => n !== store);
  renderStock();
}

export function renderStock() {
  renderOnHand();
  renderShipTo();
  renderIncoming();
  renderVariance();
}

function renderOnHand() {
  const body = clear($('#stock-table tbody'));
  const s = state.stock;
  const items = (s && s.items) || [];
  $('#stock-none').hidden = !s || items.length > 0;
  const ops = s && s.as_of ? Object.values(s.as_of).reduce((a, b) => a + b, 0) : 0;
  $('#stock-as-of').textContent = s ? t('stock.as_of', { n: ops }) : '';
  for (const it of items) {
    body.append(h('tr', {
      'data-test': 'stock-row', 'data-sku': it.sku, 'data-on-hand': it.on_hand,
      'data-low': it.low ? 'true' : 'false',
    },
    h('td', { class: 'mono', text: it.sku }),
    h('td', { class: 'num', 'data-test': 'stock-on-hand', text: it.on_hand }),
    h('td', { class: 'num', text: money(it.value) }),
    h('td', { class: 'num', text: it.min || '—' }),
    h('td', null, it.low ? h('span', { class: 'badge warn', 'data-test': 'stock-low', text: t('stock.low') }) : null)));
  }
}

function renderShipTo() {
  const sel = $('#stock-ship-to');
  const keep = sel.value;
  clear(sel);
  const nodes = state.stockNodes || [];
  for (const n of nodes) sel.append(h('option', { value: n, text: n }));
  if (nodes.includes(keep)) sel.value = keep;
  $('#stock-no-stores').hidden = nodes.length > 0;
}

function renderIncoming() {
  const box = clear($('#stock-incoming'));
  const list = state.stockIncoming || [];
  if (!list.length) {
    box.append(h('p', { class: 'muted', 'data-test': 'stock-incoming-none', text: t('stock.incoming_none') }));
    return;
  }
  for (const tr of list) {
    const open = state.stockReceiving === tr.id;
    box.append(h('div', { class: 'card stock-transfer', 'data-test': 'stock-incoming-row', 'data-id': tr.id },
      h('div', { class: 'row' },
        h('strong', { class: 'grow mono', text: `${t('stock.transfer')} ${tr.id} · ${t('stock.from')} ${tr.from}` }),
        open ? null : h('button', {
          type: 'button', 'data-test': 'stock-receive-open', 'data-needs': 'stock', text: t('stock.receive'),
          onclick: () => { state.stockReceiving = tr.id; renderIncoming(); },
        })),
      open ? receiveDialog(tr) : h('ul', null, tr.lines.map((l) => h('li', { class: 'mono', text: `${l.sku} × ${l.shipped}` })))));
  }
}

/** The receive dialog of `tr`: each shipped line with what arrived. */
function receiveDialog(tr) {
  const inputs = tr.lines.map((l, i) => h('input', {
    type: 'text', value: l.shipped, 'data-test': `stock-receive-qty-${i}`, 'data-sku': l.sku,
    'aria-label': `${l.sku} ${t('stock.received')}`,
  }));
  const send = h('button', {
    type: 'button', class: 'primary', 'data-test': 'stock-receive-submit', 'data-needs': 'stock',
    text: t('stock.receive_submit'),
    onclick: (ev) => busy(ev.currentTarget, async () => {
      const body = { lines: inputs.map((el) => ({ sku: el.dataset.sku, qty: el.value.trim() })) };
      await postOnce(`stock-receive-${tr.id}`, `/api/v1/transfers/${encodeURIComponent(tr.id)}/receive`, body);
      state.stockReceiving = null;
      toast(t('stock.done_receive', { id: tr.id }));
      await loadStock();
    }),
  });
  return h('div', { class: 'stock-receive', role: 'dialog', 'data-test': 'stock-receive-dialog' },
    h('table', { class: 'table' },
      h('thead', null, h('tr', null, h('th', { text: t('stock.sku') }), h('th', { text: t('stock.shipped') }), h('th', { text: t('stock.received') }))),
      h('tbody', null, tr.lines.map((l, i) => h('tr', null, h('td', { class: 'mono', text: l.sku }), h('td', { class: 'num', text: l.shipped }), h('td', null, inputs[i]))))),
    h('div', { class: 'actions' },
      h('button', { type: 'button', 'data-test': 'stock-receive-cancel', text: t('stock.cancel'), onclick: () => { state.stockReceiving = null; renderIncoming(); } }),
      send));
}

function renderVariance() {
  const v = state.stockVariance;
  $('#stock-variance').hidden = !v;
  const body = clear($('#stock-variance-table tbody'));
  for (const l of v || []) {
    body.append(h('tr', { 'data-test': 'stock-variance-row', 'data-sku': l.sku, 'data-variance': l.variance },
      h('td', { class: 'mono', text: l.sku }),
      h('td', { class: 'num', text: l.book }),
      h('td', { class: 'num', text: l.counted }),
      h('td', { class: 'num', 'data-test': 'stock-variance-diff', text: l.variance }),
      h('td', { class: 'num', text: money(l.value) })));
  }
}

function note(form) {
  const n = $(`#stock-${form}-note`).value.trim();
  return n ? { note: n } : {};
}

/** Sends `form`'s body and, once the node answered, clears the form. */
function submit(form, action, path, build, done) {
  $(`#stock-${form}-form`).addEventListener('submit', (ev) => {
    ev.preventDefault();
    const ls = lines(form);
    if (!ls) return;
    busy($(`#stock-${form}-submit`), async () => {
      const r = await postOnce(action, path, build(ls));
      resetLines(form);
      $(`#stock-${form}-note`).value = '';
      done(r);
      await loadStock();
    });
  });
}

export function bindStock() {
  onShow('stock', () => { busy(null, loadStock); });
  $('#stock-refresh').addEventListener('click', (ev) => busy(ev.currentTarget, loadStock));
  for (const form of Object.keys(FORMS)) {
    resetLines(form);
    $(`#stock-${form}-add`).addEventListener('click', () => addLine(form));
  }
  submit('in', 'stock-in', '/api/v1/stock/in', (ls) => ({
    supplier: $('#stock-in-supplier').value.trim(), ...note('in'),
    lines: ls.map((l) => ({ ...product(l.item), qty: l.qty, unit_cost: l.cost })),
  }), () => toast(t('stock.done_in')));
  submit('ret', 'stock-return', '/api/v1/stock/returns', (ls) => ({
    supplier: $('#stock-ret-supplier').value.trim(), ...note('ret'),
    lines: ls.map((l) => ({ ...product(l.item), qty: l.qty })),
  }), () => toast(t('stock.done_return')));
  submit('ship', 'stock-ship', '/api/v1/transfers', (ls) => ({
    to: $('#stock-ship-to').value, ...note('ship'),
    lines: ls.map((l) => ({ ...product(l.item), qty: l.qty })),
  }), (r) => toast(t('stock.done_ship', { id: r && r.transfer ? r.transfer.id : '' })));
  submit('take', 'stocktake', '/api/v1/stocktakes', (ls) => ({
    ...note('take'),
    counts: ls.map((l) => ({ ...product(l.item), counted: l.counted })),
  }), (r) => { state.stockVariance = (r && r.variance) || []; renderVariance(); toast(t('stock.done_take')); });
}
