//! What each endpoint needs of whoever asks, in one table: the middleware
//! (`auth`) checks it on every request after routing, and a test drives
//! every role against every mutating endpoint of the running API from it
//! and from the core's table (`tongka_core::staff`).

use tongka_core::staff::Action;

/// What an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone signed in (a staff member working here, or the token).
    Signed,
    /// A role that may take this action (the token may take any).
    Act(Action),
    /// The admin token itself (the first-run flow).
    Token,
}

/// Every endpoint behind sign-in: method, path as routed (under
/// `/api/v1`), and what it needs. An endpoint missing here is refused to
/// everyone but the token (a test holds the table to the router).
pub const ROUTES: &[(&str, &str, Need)] = &[
    ("POST", "/members", Need::Act(Action::EditMembers)),
    ("GET", "/members", Need::Signed),
    ("GET", "/members/duplicates", Need::Signed),
    ("GET", "/members/{id}", Need::Signed),
    ("PATCH", "/members/{id}", Need::Act(Action::EditMembers)),
    ("POST", "/members/{id}/recharges", Need::Act(Action::Sell)),
    ("GET", "/members/{id}/wallet", Need::Signed),
    ("GET", "/members/{id}/history", Need::Signed),
    (
        "POST",
        "/members/{id}/merge",
        Need::Act(Action::MergeMembers),
    ),
    ("GET", "/members/{id}/code", Need::Signed),
    (
        "POST",
        "/members/{id}/coupons",
        Need::Act(Action::IssueCoupons),
    ),
    ("GET", "/members/{id}/coupons", Need::Signed),
    ("POST", "/coupon-batches", Need::Act(Action::IssueCoupons)),
    ("GET", "/members/{id}/cards", Need::Signed),
    (
        "POST",
        "/members/{id}/cards/{code}/visits",
        Need::Act(Action::Verify),
    ),
    ("POST", "/member-codes/verify", Need::Signed),
    ("POST", "/checkouts", Need::Act(Action::Sell)),
    ("POST", "/checkouts/quote", Need::Signed),
    ("GET", "/orders/{id}", Need::Signed),
    ("POST", "/orders/{id}/refunds", Need::Act(Action::Refund)),
    ("GET", "/orders/{id}/receipt", Need::Signed),
    ("GET", "/programme", Need::Signed),
    ("PUT", "/programme", Need::Act(Action::AuthorRules)),
    ("GET", "/products", Need::Signed),
    ("GET", "/products/{sku}", Need::Signed),
    ("PUT", "/products/{sku}", Need::Act(Action::AuthorRules)),
    ("POST", "/products/import", Need::Act(Action::AuthorRules)),
    ("GET", "/categories", Need::Signed),
    ("GET", "/categories/{id}", Need::Signed),
    ("PUT", "/categories/{id}", Need::Act(Action::AuthorRules)),
    ("GET", "/sync/status", Need::Signed),
    ("GET", "/ledger/summary", Need::Act(Action::Reports)),
    ("GET", "/consistency", Need::Act(Action::Reports)),
    ("GET", "/audit", Need::Act(Action::Audit)),
    // HQ finance and the owner only (the handler refuses the other roles
    // that may see reports): every member's every movement.
    ("GET", "/ops/export", Need::Act(Action::Reports)),
    // HQ roles and the owner: every store; a store manager: their own (the
    // handler narrows and refuses another store).
    ("GET", "/reports/sales", Need::Act(Action::Reports)),
    ("GET", "/reports/liability", Need::Act(Action::Reports)),
    ("GET", "/reports/points", Need::Act(Action::Reports)),
    ("GET", "/reports/members", Need::Act(Action::Reports)),
    ("GET", "/reports/rankings", Need::Act(Action::Reports)),
    // The live dashboard (数据大屏): as the reports (a store manager sees
    // their own stores).
    ("GET", "/dashboard", Need::Act(Action::Reports)),
    ("GET", "/reports/coupons", Need::Act(Action::Reports)),
    ("GET", "/reports/cards", Need::Act(Action::Reports)),
    ("GET", "/metrics", Need::Act(Action::Reports)),
    ("GET", "/staff", Need::Act(Action::ManageStaff)),
    ("POST", "/staff", Need::Act(Action::ManageStaff)),
    // Their own account for anyone; another's: the handler checks
    // `manage_staff` and the manager's stores.
    ("GET", "/staff/{id}", Need::Signed),
    ("PATCH", "/staff/{id}", Need::Signed),
    ("GET", "/sessions/current", Need::Signed),
    ("DELETE", "/sessions/current", Need::Signed),
    ("POST", "/setup/first-admin", Need::Token),
    // Stock: anyone signed in reads every store's; a store manager or the
    // owner changes their store's.
    ("GET", "/stock", Need::Signed),
    ("GET", "/stock/low", Need::Signed),
    ("GET", "/stock/value", Need::Signed),
    ("GET", "/stock/movements", Need::Signed),
    ("GET", "/stock/below-zero", Need::Signed),
    ("GET", "/transfers", Need::Signed),
    ("GET", "/transfers/{id}", Need::Signed),
    ("POST", "/stock/in", Need::Act(Action::Stock)),
    ("POST", "/stock/import", Need::Act(Action::Stock)),
    ("POST", "/stock/returns", Need::Act(Action::Stock)),
    ("PUT", "/stock/minimums", Need::Act(Action::Stock)),
    ("POST", "/stocktakes", Need::Act(Action::Stock)),
    // Closes (交班 / 日结): a day close needs `CloseDay` too (the handler).
    ("GET", "/closes/preview", Need::Act(Action::CloseShift)),
    ("POST", "/closes", Need::Act(Action::CloseShift)),
    ("GET", "/closes", Need::Signed),
    ("GET", "/closes/{id}", Need::Signed),
    ("GET", "/closes/{id}/receipt", Need::Signed),
    ("POST", "/transfers", Need::Act(Action::Stock)),
    ("POST", "/transfers/{id}/receive", Need::Act(Action::Stock)),
    // Settlement (跨店结算) and withdrawals (提现): reading with reports (a
    // store manager: their stores'); a store asks, HQ decides.
    ("GET", "/settlement", Need::Act(Action::Reports)),
    ("GET", "/withdrawals", Need::Act(Action::Reports)),
    ("POST", "/withdrawals", Need::Act(Action::RequestWithdrawal)),
    (
        "POST",
        "/withdrawals/{id}/approve",
        Need::Act(Action::DecideWithdrawals),
    ),
    (
        "POST",
        "/withdrawals/{id}/reject",
        Need::Act(Action::DecideWithdrawals),
    ),
    // Member import: a store manager or the owner, at a store.
    ("POST", "/members/import", Need::Act(Action::ImportMembers)),
];

/// What `method` on the routed `path` needs; `None`: not in the table.
pub fn need(method: &str, path: &str) -> Option<Need> {
    ROUTES
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, n)| *n)
}
