// tongka 通卡 — store console: what the screens show, in one object that
// every module reads and writes; each screen's render functions draw from
// it, so a language switch can redraw everything (app.js `renderAll`).

export const state = {
  lang: 'zh',
  token: null,
  tab: 'members',
  health: null,
  programme: null,
  products: null,          // [{sku, barcode, name, price}] once loaded
  lastError: null,
  loginMessage: null,      // dictionary key
  results: { members: null, checkout: null },
  member: null,
  history: null,
  phoneShown: false,
  rechargeResult: null,
  coMember: null,
  receipt: null,
  order: null,
  refundResult: null,
  overview: null,
  duplicates: null,        // [{kind, value, members}] once loaded
  mergePick: {},           // duplicate group → the member kept
  mergeConfirm: null,      // the group whose merge awaits confirmation
  mergeResult: null,
  progEditable: false,
  progLocked: false,       // the API said programme_hq_only
  progDirty: false,
  progError: null,
  progSentRows: null,
  progCoupons: [],         // [{orig, draft, touched}]: the coupon templates as edited
  couponOpen: null,        // the index of the template in the editor
  progSentCoupons: null,   // the templates' entries in the order last sent
};
