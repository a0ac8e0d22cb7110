// The catalogue screen (商品目录, HQ): the products (price, member price,
// barcodes, category, for sale or not) and one form to add or change a
// product with every field: other barcodes, unit and its label, member
// price, points multiplier, category, for sale, stock kept, store prices
// and attribute values. Amounts stay the API's decimal strings; refusals
// go to the banner with their code.
import { state } from './state.js';
import { $, clear, h, toast } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';
import { busy, localError } from './feedback.js';
import { onShow } from './nav.js';
import { loadCategories, treeOrder } from './categories.js';
import { money } from './format.js';

async function loadCatalogue() {
  const [r] = await Promise.all([api('GET', '/api/v1/products'), loadCategories()]);
  state.products = (r && r.products) || [];
  renderCatalogue();
}

const pairs = (o) => Object.entries(o || {}).map(([k, v]) => `${k}=${v}`).join('\n');

function parsePairs(text) {
  const out = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const i = line.indexOf('=');
    if (i <= 0) throw localError('cat.bad_line', { line });
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

function edit(p) {
  $('#cat-f-sku').value = p.sku;
  $('#cat-f-name').value = p.name;
  $('#cat-f-price').value = p.price;
  $('#cat-f-barcode').value = p.barcode || '';
  $('#cat-f-barcodes').value = (p.barcodes || []).join(' ');
  $('#cat-f-unit').value = p.unit || 'whole';
  $('#cat-f-unit-label').value = p.unit_label || '';
  $('#cat-f-member-price').value = p.member_price || '';
  $('#cat-f-multiplier').value = p.points_multiplier || '1';
  $('#cat-f-category').value = p.category || '';
  $('#cat-f-active').checked = p.active !== false;
  $('#cat-f-stocked').checked = p.stocked !== false;
  $('#cat-f-store-prices').value = pairs(p.store_prices);
  $('#cat-f-attributes').value = pairs(p.attributes);
}

export function renderCatalogue() {
  const table = $('#cat-table tbody');
  if (!table) return;
  clear(table);
  const names = new Map((state.categories || []).map((c) => [c.id, c.name]));
  for (const p of state.products || []) {
    const codes = [p.barcode, ...(p.barcodes || [])].filter(Boolean);
    table.append(h('tr', {
      'data-test': 'cat-row', 'data-sku': p.sku, 'data-active': p.active ? 'true' : 'false',
      'data-category': p.category || '', 'data-barcodes': codes.join(' '), class: p.active ? null : 'muted',
    },
    h('td', { class: 'mono', text: p.sku }),
    h('td', { text: p.name }),
    h('td', { class: 'num', text: money(p.price) }),
    h('td', { class: 'num', text: p.member_price ? money(p.member_price) : '' }),
    h('td', { class: 'mono small', text: codes.join(' ') }),
    h('td', { text: p.category ? (names.get(p.category) || p.category) : '' }),
    h('td', { text: t(p.active ? 'cat.active' : 'cat.inactive') }),
    h('td', null, h('button', { type: 'button', class: 'link-btn', 'data-test': 'cat-edit', onclick: () => edit(p), text: t('cat.edit_one') }))));
  }
  const sel = $('#cat-f-category');
  const was = sel.value;
  clear(sel);
  sel.append(h('option', { value: '', text: t('cat.no_category') }));
  for (const { c, depth } of treeOrder(state.categories || [])) {
    sel.append(h('option', { value: c.id, text: `${'　'.repeat(depth)}${c.name}` }));
  }
  sel.value = was;
}

async function save(ev) {
  ev.preventDefault();
  await busy($('#cat-submit'), async () => {
    const sku = $('#cat-f-sku').value.trim();
    const opt = (id) => { const v = $(id).value.trim(); return v === '' ? null : v; };
    const body = {
      name: $('#cat-f-name').value,
      price: $('#cat-f-price').value.trim(),
      barcode: opt('#cat-f-barcode'),
      barcodes: $('#cat-f-barcodes').value.split(/[\s,，]+/).filter(Boolean),
      unit: $('#cat-f-unit').value,
      unit_label: $('#cat-f-unit-label').value,
      member_price: opt('#cat-f-member-price'),
      points_multiplier: $('#cat-f-multiplier').value.trim() || '1',
      category: opt('#cat-f-category'),
      active: $('#cat-f-active').checked,
      stocked: $('#cat-f-stocked').checked,
      store_prices: parsePairs($('#cat-f-store-prices').value),
      attributes: parsePairs($('#cat-f-attributes').value),
    };
    await api('PUT', `/api/v1/products/${encodeURIComponent(sku)}`, { body });
    toast(t('cat.saved', { sku }));
    await loadCatalogue();
  });
}

export function bindCatalogue() {
  $('#cat-form').addEventListener('submit', save);
  $('#cat-refresh').addEventListener('click', () => busy($('#cat-refresh'), loadCatalogue));
  onShow('catalogue', () => { busy(null, loadCatalogue); });
}
