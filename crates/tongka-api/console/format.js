// Formatting what the API says and parsing what the cashier types. Money
// is never float: amounts are the API's decimal strings, and the little
// arithmetic done here (the recharge preview's sums) is in integer fen.
import { state } from './state.js';
import { I18N, t } from './i18n.js';

// --- money, in integer fen (BigInt) -----------------------------------------
export const MONEY_RE = /^(-)?(\d+)(?:\.(\d{1,2}))?$/;

/** "95.00" → 9500n; null when not an amount. */
export function toFen(s) {
  if (s === null || s === undefined) return null;
  const m = MONEY_RE.exec(String(s).trim());
  if (!m) return null;
  const fen = BigInt(m[2]) * 100n + BigInt((m[3] || '').padEnd(2, '0'));
  return m[1] ? -fen : fen;
}

/** 9500n → "95.00" */
export function fenStr(fen) {
  const neg = fen < 0n;
  const a = neg ? -fen : fen;
  return `${neg ? '-' : ''}${a / 100n}.${String(a % 100n).padStart(2, '0')}`;
}

/** An API money string → "¥95.00" (the string itself, only normalised). */
export function money(s) {
  if (s === null || s === undefined || s === '') return t('common.none');
  const fen = toFen(s);
  if (fen === null) return `¥${s}`;
  return fen < 0n ? `-¥${fenStr(-fen)}` : `¥${fenStr(fen)}`;
}

/** What a cashier typed → "1000.00", or null. Accepts "¥1,000", "1000.5". */
export function parseAmountInput(raw) {
  const s = String(raw || '').replace(/[¥￥,，\s]/g, '');
  if (!/^\d+(\.\d{1,2})?$/.test(s)) return null;
  return fenStr(toFen(s));
}

/** Quantity typed → normalised string, or null. At most 3 decimals. */
export function parseQty(raw) {
  const s = String(raw || '').trim();
  if (!/^\d+(\.\d{1,3})?$/.test(s)) return null;
  if (/^0+(\.0*)?$/.test(s)) return null;
  return s.replace(/^0+(?=\d)/, '');
}

/** "0.5" → "50%", "0.125" → "12.5%" (exact, from the decimal text). */
export function capText(cap) {
  const m = /^(\d+)(?:\.(\d{1,4}))?$/.exec(String(cap));
  if (!m) return String(cap);
  const r = BigInt(m[1]) * 10000n + BigInt((m[2] || '').padEnd(4, '0')); // per ten thousand
  const frac = String(r % 100n).padStart(2, '0').replace(/0+$/, '');
  return `${r / 100n}${frac ? `.${frac}` : ''}%`;
}

/** "0.95" → {zh: "9.5折", en: "5% off"}; rates are ≤ 1 with ≤ 4 decimals. */
export function rateText(rate) {
  if (rate === null || rate === undefined) return '';
  const m = /^(\d+)(?:\.(\d{1,4}))?$/.exec(String(rate));
  if (!m) return String(rate);
  const r = BigInt(m[1]) * 10000n + BigInt((m[2] || '').padEnd(4, '0')); // per ten thousand
  if (r >= 10000n) return t('rate.none');
  if (state.lang === 'zh') {
    const whole = r / 1000n;
    const frac = String(r % 1000n).padStart(3, '0').replace(/0+$/, '');
    return t('rate.zh', { z: frac ? `${whole}.${frac}` : `${whole}` });
  }
  const off = 10000n - r; // hundredths of a percent
  const frac = String(off % 100n).padStart(2, '0').replace(/0+$/, '');
  return t('rate.zh', { p: frac ? `${off / 100n}.${frac}` : `${off / 100n}` });
}

export function maskPhone(m) {
  if (m.phone_masked) return m.phone_masked;
  const p = String(m.phone || '');
  return p.length >= 7 ? `${p.slice(0, 3)}****${p.slice(-4)}` : p;
}

export function levelName(level) {
  if (!level) return t('common.none');
  if (typeof level === 'string') {
    const l = state.programme && (state.programme.levels || []).find((x) => x.code === level);
    return l ? levelName(l) : level;
  }
  return state.lang === 'zh' ? (level.name_zh || level.name_en || level.code)
    : (level.name_en || level.name_zh || level.code);
}

export function fmtTime(iso) {
  if (!iso) return t('common.none');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function tenderName(kind) { return I18N.zh[`tender.${kind}`] ? t(`tender.${kind}`) : kind; }
export function genderName(g) { return g ? t(`gender.${g}`) : t('gender.none'); }
export function statusName(s) { return I18N.zh[`status.${s}`] ? t(`status.${s}`) : (s || t('common.none')); }
