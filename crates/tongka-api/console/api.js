// Access to this node's API: `api` sends the token and turns every refusal
// into an `ApiError` carrying the API's error body. Writes that move money
// or use something up go through `postOnce`/`sendOnce`, which keep one
// Idempotency-Key per user action, so that a retry after an uncertain
// outcome cannot do it twice.
import { state } from './state.js';

// What a 401 answer does (show the sign-in page, with the refusal): set by
// auth.js, so that this module needs no screen.
let unauthorized = () => {};
export function whenUnauthorized(fn) { unauthorized = fn; }

function uuid() {
  if (window.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // Not a secure context (plain http on a LAN address): build a v4 UUID.
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ---------------------------------------------------------------------------
// API access
// ---------------------------------------------------------------------------
export class ApiError extends Error {
  constructor(status, err) {
    super(err.message || err.code);
    this.status = status;
    this.err = err; // {code, message, message_zh, ...details}
  }
  get code() { return this.err.code; }
  get unauthorized() { return this.status === 401; }
  /** A retry of the same submission must reuse the Idempotency-Key. */
  get uncertain() {
    return this.status === 0 || this.status >= 500 || this.status === 408 || this.status === 429
      || this.err.code === 'idempotency_key_in_progress';
  }
}

// `opts.token` sends another token than the signed-in one (null: none);
// `opts.anon` marks a call whose 401 is its own answer (a wrong password
// at sign-in), not the end of the session.
export async function api(method, path, opts) {
  const o = opts || {};
  const headers = { Accept: 'application/json' };
  const token = 'token' in o ? o.token : state.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (o.text) headers.Accept = 'text/plain';
  if (o.body !== undefined) headers['Content-Type'] = 'application/json';
  // A file sent as it is (a CSV import): `opts.csv`, the text.
  if (o.csv !== undefined) headers['Content-Type'] = 'text/csv';
  if (o.idem) headers['Idempotency-Key'] = o.idem;
  let res;
  let text;
  try {
    res = await fetch(path, {
      method, headers, cache: 'no-store', credentials: 'omit',
      body: o.csv !== undefined ? o.csv : (o.body === undefined ? undefined : JSON.stringify(o.body)),
    });
    text = await res.text();
  } catch (e) {
    throw new ApiError(0, { code: 'network_error' });
  }
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (res.status === 401) {
    const err = new ApiError(401, (data && data.error) || { code: 'unauthorized' });
    if (!o.anon) unauthorized(err);
    throw err;
  }
  if (!res.ok) {
    const err = (data && data.error && typeof data.error === 'object') ? data.error
      : { code: `http_${res.status}`, message: text ? text.slice(0, 300) : '' };
    throw new ApiError(res.status, err);
  }
  if (o.text) return text;
  if (data === null && text) throw new ApiError(res.status, { code: 'bad_response' });
  return data;
}

// One Idempotency-Key per user action: a retry of the very same submission
// (same method, path and body) after an uncertain outcome reuses it.
const pendingKeys = new Map();
function idemKeyFor(action, sig) {
  const p = pendingKeys.get(action);
  if (p && p.sig === sig) return p.key;
  const key = uuid();
  pendingKeys.set(action, { key, sig });
  return key;
}

/** POST that moves money or uses something up. */
export function postOnce(action, path, body) {
  return sendOnce(action, 'POST', path, body);
}

/** A write sent with an Idempotency-Key, reused by a retry of the same. */
export async function sendOnce(action, method, path, body) {
  const sig = `${method} ${path}\n${JSON.stringify(body)}`;
  const key = idemKeyFor(action, sig);
  try {
    const r = await api(method, path, { body, idem: key });
    pendingKeys.delete(action);
    return r;
  } catch (e) {
    if (!(e instanceof ApiError) || !e.uncertain) pendingKeys.delete(action);
    throw e;
  }
}
