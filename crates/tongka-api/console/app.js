// tongka 通卡 — store console. Plain JS, no framework, no build step, no
// network but this node's API. Money is never float: amounts are the API's
// decimal strings. The checkout's figures (line amounts, discount, points
// deducted, payable) come from the node's quote (POST /checkouts/quote), by
// the very calculator the sale uses: nothing is rounded here. The little
// arithmetic left (the recharge preview's sums) is done in integer fen.
//
// This is the entry module: it wires the screens together and starts the
// console. One native ES module per screen (members, checkout, orders,
// duplicates, programme, overview, verify (核销); the programme's coupon
// templates in coupons_admin, the member page's coupons in coupons, their
// batch issue in coupon_batch, the checkout's coupons in checkout_coupons
// and its lines in checkout_lines; the member page's count and period
// cards in cards, their visits on the 核销 screen in verify_cards) and a
// few shared ones (state, i18n, i18n_coupons and i18n_cards, dom, format,
// api, feedback, nav, auth, receipt, coupon_text, card_text, tenders).
// Staff: the sign-in page in signin (auth keeps the token and the
// session), what the principal may do in perms, the staff page in staff,
// the own password in account, the audit log in audit, a manager's
// approval of a refund in refund_approval, the chain's node names in
// nodes, their words in i18n_staff. The stock screen (库存) in stock,
// its words in i18n_stock. HQ's catalogue in catalogue and its
// category tree in categories, their words in i18n_catalogue. HQ's live
// dashboard (数据大屏) in dashboard, its words in i18n_dashboard, its
// charts by the vendored ECharts (echarts.min.js). The member
// import (会员导入) in member_import, its words in i18n_member_import. The
// node serves each from its binary (`console.rs`), nothing comes from
// elsewhere. Screens import one another's functions only to call them on
// a user's action, never while loading, so the one import cycle (members
// ↔ orders: a member's history opens an order, a refund refreshes the
// member) is harmless.
import { state } from './state.js';
import { $, $$ } from './dom.js';
import { t } from './i18n.js';
import { clearError, renderError } from './feedback.js';
import { showTab } from './nav.js';
import {
  bindAuth, renderLoginMessage, renderNodeBadge, renderWho, restoreToken, showLogin, start, takeTokenFromHash,
} from './auth.js';
import { bindSignIn, renderSignIn } from './signin.js';
import { applyPermissions, watchPermissions } from './perms.js';
import { bindStaff, renderStaff } from './staff.js';
import { bindAccount, renderAccount } from './account.js';
import { bindAudit, renderAudit } from './audit.js';
import { bindConsistency, renderConsistency } from './consistency.js';
import { bindSettlement, renderSettlement } from './settlement.js';
import { bindStock, renderStock } from './stock.js';
import { bindCatalogue, renderCatalogue } from './catalogue.js';
import { bindCategories, renderCategories } from './categories.js';
import {
  bindMembers, renderMember, renderRechargeOffers, renderRechargePreview, renderSearchResults,
} from './members.js';
import {
  bindCheckout, renderCheckoutMember, renderCheckoutResults, renderReceipt, updateSubtotal,
} from './checkout.js';
import { addLine } from './checkout_lines.js';
import { resetTenders } from './tenders.js';
import { bindOrders, renderOrder, renderRefundResult } from './orders.js';
import { bindDuplicates, renderDuplicates } from './duplicates.js';
import { bindProgramme, renderProgrammeError } from './programme.js';
import { bindOverview, renderOverview } from './overview.js';
import { renderCheckoutCoupons } from './checkout_coupons.js';
import { bindVerify, renderVerify } from './verify.js';
import { bindCouponBatch, renderCouponBatch } from './coupon_batch.js';
// The reports screen (报表) and its CSV / Excel downloads; its words in i18n_reports.
import { bindReports, renderReports } from './reports.js';
import { bindDashboard, renderDashboard } from './dashboard.js';
// Day close and shift handover (日结/交班), its words in i18n_dayclose.
import { bindDayclose, renderCloses, renderDayclose } from './dayclose.js';
import { bindMemberImport, renderMemberImport } from './member_import.js';

const LS_LANG = 'tongka.console.lang';

// ---------------------------------------------------------------------------
// Language
// ---------------------------------------------------------------------------
function applyLang() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.body.dataset.lang = state.lang;
  document.title = state.lang === 'zh' ? '通卡 · 门店控制台' : 'Tongka · store console';
  for (const el of $$('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of $$('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of $$('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  const tg = $('#lang-toggle');
  tg.textContent = state.lang === 'zh' ? 'English' : '中文';
  tg.lang = state.lang === 'zh' ? 'en' : 'zh-CN';
  tg.dataset.lang = state.lang;
  renderAll();
}

function setLang(lang) {
  state.lang = lang === 'en' ? 'en' : 'zh';
  try { localStorage.setItem(LS_LANG, state.lang); } catch (e) { /* private mode */ }
  applyLang();
}

function renderAll() {
  renderError();
  renderLoginMessage();
  renderSignIn();
  renderNodeBadge();
  renderWho();
  renderSearchResults();
  renderCheckoutResults();
  renderMember();
  renderRechargeOffers();
  renderRechargePreview();
  renderCheckoutMember();
  renderCheckoutCoupons();
  updateSubtotal();
  renderReceipt();
  renderOrder();
  renderRefundResult();
  renderDuplicates();
  renderProgrammeError();
  renderOverview();
  renderVerify();
  renderCouponBatch();
  renderStaff();
  renderAccount();
  renderAudit();
  renderConsistency();
  renderSettlement();
  renderStock();
  renderCatalogue();
  renderCategories();
  renderReports();
  renderDashboard();
  renderDayclose();
  renderCloses();
  renderMemberImport();
  // The reasons on disabled controls, in the language now chosen.
  applyPermissions();
}

// ---------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------
function bind() {
  $('#lang-toggle').addEventListener('click', () => setLang(state.lang === 'zh' ? 'en' : 'zh'));
  $('#error-close').addEventListener('click', clearError);
  for (const b of $$('.tab')) b.addEventListener('click', () => showTab(b.dataset.tab));
  bindAuth();
  bindSignIn();
  bindMembers();
  bindCheckout();
  bindOrders();
  bindDuplicates();
  bindProgramme();
  bindOverview();
  bindVerify();
  bindCouponBatch();
  bindStaff();
  bindAccount();
  bindAudit();
  bindConsistency();
  bindSettlement();
  bindStock();
  bindCatalogue();
  bindCategories();
  bindReports();
  bindDashboard();
  bindDayclose();
  bindMemberImport();
  watchPermissions();
}

function init() {
  let lang = 'zh';
  try { lang = localStorage.getItem(LS_LANG) || 'zh'; } catch (e) { /* ignore */ }
  state.lang = lang === 'en' ? 'en' : 'zh';
  restoreToken();
  bind();
  addLine();
  resetTenders();
  renderCheckoutMember();
  applyLang();
  takeTokenFromHash();
  if (state.token) start(); else showLogin(null);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
