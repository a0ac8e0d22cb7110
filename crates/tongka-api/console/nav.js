// Tabs: one screen shown at a time. Each screen says with `onShow` what
// showing it does (load its data, focus its first field), so that this
// module needs none of them.
import { state } from './state.js';
import { $, $$ } from './dom.js';
import { clearError } from './feedback.js';

const shown = new Map();

/** What showing the tab `name` does, besides showing it. */
export function onShow(name, fn) { shown.set(name, fn); }

export function showTab(name) {
  if (state.tab !== name) clearError();
  state.tab = name;
  for (const b of $$('.tab')) {
    const on = b.dataset.tab === name;
    b.classList.toggle('active', on);
    b.setAttribute('aria-selected', on ? 'true' : 'false');
  }
  const changed = $$('.panel').some((p) => !p.hidden && p.dataset.panel !== name);
  for (const p of $$('.panel')) p.hidden = p.dataset.panel !== name;
  if (changed) $('main').scrollTop = 0;
  const then = shown.get(name);
  if (then) then();
}
