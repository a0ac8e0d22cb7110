// tongka 通卡 — store console: what the screens show, in one object that
// every module reads and writes; each screen's render functions draw from
// it, so a language switch can redraw everything (app.js `renderAll`).

export const state = {
  lang: 'zh',
  token: null,
  tokenKind: null,         // 'session' (a staff sign-in) or 'token' (an integration's admin token)
  session: null,           // GET /sessions/current: who is signed in and what they may do (null: a node without sessions)
  loginTab: null,          // the sign-in page's tab: 'staff', 'token' or 'first'
  loginError: null,        // the sign-in page's refusal (an API error body)
  setup: null,             // GET /setup: {node, node_role, first_run}
  firstError: null,        // the first admin's refusal
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
  memberCoupons: null,     // {member_id, coupons}: the member page's coupons (null coupons: unavailable)
  couponIssueError: null,  // {member_id, code, …}: the last issue refused
  batchResult: null,       // the last batch's answer: {template, issued, refused}
  batchError: null,        // the last batch refused whole ({code, …, sent: the ids sent})
  coCoupons: null,         // {member_id, coupons}: the checkout member's coupons
  coChosen: [],            // the coupon codes chosen for the sale, in the order chosen
  coCouponQuote: null,     // {coupons, coupon_off}: what the last quote took off with them
  coCouponRefusal: null,   // the last refusal about the sale's coupons (API error body or local)
  memberCards: null,       // {member_id, cards}: the member page's cards (null cards: unavailable)
  verify: null,            // {member, coupons, cards}: the member the 核销 screen scanned
  verifyPick: null,        // the coupon code picked there
  verifyError: null,       // the scan's refusal
  verifyCard: null,        // {code, service, count, result, error, sending}: the card visit on the 核销 screen
  staffList: null,         // GET /staff: the accounts this principal may manage
  staffNodes: null,        // the chain's node names, for the stores
  staffEditing: null,      // the id of the account in the staff form (null: adding)
  staffError: null,        // the staff form's refusal
  myPasswordError: null,   // the own password change's refusal
  auditEntries: null,      // the audit's entries shown
  auditNext: null,         // the cursor of the next page
  auditNodes: null,        // the store filter's choices
  auditStaff: null,        // the staff filter's choices (null: typed)
  auditError: null,
  consistency: null,       // GET /consistency, last answer
  consistencyError: null,  // its refusal, if the last refresh was refused
  consistencyAt: null,     // when it was fetched (a Date)
  stock: null,             // GET /stock?store=<this node>: on hand, value, minimums
  stockIncoming: null,     // the transfers in transit to this store
  stockNodes: null,        // the other stores a transfer may go to
  stockReceiving: null,    // the id of the transfer whose receive dialog is open
  stockVariance: null,     // the last stocktake's variance report
  refundApproval: null,    // {orderId, body, limit, amount, error}: the refund awaiting a manager's approval
};
