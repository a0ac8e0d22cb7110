// The chain's nodes as this node knows them: itself (GET /health) and its
// peers (GET /sync/status), for the store choices of the staff page and the
// audit's filter. A node of no chain knows only itself.
import { state } from './state.js';
import { api } from './api.js';

/** The node names, sorted; this node's first fetched when not yet known. */
export async function chainNodes() {
  const [hl, sync] = await Promise.allSettled([api('GET', '/api/v1/health'), api('GET', '/api/v1/sync/status')]);
  if (hl.status === 'fulfilled') state.health = hl.value;
  const names = new Set();
  const here = (state.session && state.session.node) || (state.health && state.health.node);
  if (here) names.add(here);
  if (sync.status === 'fulfilled') for (const p of sync.value.peers || []) if (p.node) names.add(p.node);
  return [...names].sort();
}
