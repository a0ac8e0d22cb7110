// The category tree (商品分类, HQ): every category indented under its
// parent with the attributes its products may carry (its own and its
// parents'), and one form to add a category, rename it, move it under
// another (the API refuses a move that makes a cycle: category_cycle) or
// define its attributes. Refusals go to the banner with their code.
import { state } from './state.js';
import { $, clear, h, toast } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';
import { busy } from './feedback.js';
import { onShow } from './nav.js';

export async function loadCategories() {
  const r = await api('GET', '/api/v1/categories');
  state.categories = (r && r.categories) || [];
  renderCategories();
}

/** The categories in tree order, each with its depth. */
export function treeOrder(list) {
  const kids = new Map();
  for (const c of list) {
    const p = c.parent || '';
    if (!kids.has(p)) kids.set(p, []);
    kids.get(p).push(c);
  }
  const out = [];
  const walk = (p, depth) => {
    for (const c of kids.get(p) || []) {
      if (out.some((o) => o.c.id === c.id)) continue;
      out.push({ c, depth });
      walk(c.id, depth + 1);
    }
  };
  walk('', 0);
  return out;
}

function edit(c) {
  $('#cats-f-id').value = c.id;
  $('#cats-f-name').value = c.name;
  $('#cats-f-parent').value = c.parent || '';
  $('#cats-f-attributes').value = (c.attributes || []).join(', ');
}

export function renderCategories() {
  const tree = $('#cats-tree');
  if (!tree) return;
  clear(tree);
  const list = state.categories || [];
  $('#cats-none').hidden = !state.categories || list.length > 0;
  for (const { c, depth } of treeOrder(list)) {
    tree.append(h('li', {
      'data-test': 'cats-row', 'data-id': c.id, 'data-parent': c.parent || '', 'data-depth': String(depth),
      style: `padding-left: ${depth * 1.5}em`,
    },
    h('button', { type: 'button', class: 'link-btn', 'data-test': 'cats-edit', onclick: () => edit(c), text: c.name }),
    ' ', h('code', { text: c.id }), ' ',
    h('span', { class: 'muted small', 'data-test': 'cats-inherited',
      text: (c.inherited || []).length ? t('cats.inherits', { list: c.inherited.join('、') }) : '' })));
  }
  const sel = $('#cats-f-parent');
  const was = sel.value;
  clear(sel);
  sel.append(h('option', { value: '', text: t('cats.root') }));
  for (const { c, depth } of treeOrder(list)) {
    sel.append(h('option', { value: c.id, text: `${'　'.repeat(depth)}${c.name}` }));
  }
  sel.value = was;
}

async function save(ev) {
  ev.preventDefault();
  await busy($('#cats-submit'), async () => {
    const id = $('#cats-f-id').value.trim();
    const attributes = $('#cats-f-attributes').value.split(/[,，]/).map((s) => s.trim()).filter(Boolean);
    const body = { name: $('#cats-f-name').value, parent: $('#cats-f-parent').value || null, attributes };
    await api('PUT', `/api/v1/categories/${encodeURIComponent(id)}`, { body });
    toast(t('cats.saved', { id }));
    await loadCategories();
  });
}

export function bindCategories() {
  $('#cats-form').addEventListener('submit', save);
  onShow('categories', () => { busy(null, loadCategories); });
}
