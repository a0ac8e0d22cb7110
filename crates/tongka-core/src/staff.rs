//! Staff roles and what each may do (issue 12's first part): the one
//! table of permissions, written down once here and shown in README (a
//! test holds README's copy to [`permissions_markdown`]). Pure: who is
//! asking and where is the caller's business; this module says whether
//! the role allows the action.
//!
//! # The roles
//! - **Cashier** (收银员): sells, recharges, registers and edits members,
//!   verifies coupons and card visits, refunds up to the programme's limit,
//!   closes a shift (交班).
//! - **Store manager** (店长): a cashier's rights, and refunds above the
//!   limit (approving a cashier's at the till), merging members, issuing
//!   coupons by hand, the store's staff and audit log, closing the day (日结).
//! - **HQ finance** (总部财务): reports, settlement and the chain-wide
//!   audit log; sells nothing.
//! - **HQ admin** (总部管理员): the programme, the catalogue, coupon
//!   templates, staff of every store, reports and the audit log.
//! - **Owner** (店主): every right; the first admin of a node of no chain
//!   (one shop that both sells and sets its own rules).
//!
//! A cashier or store manager works at the stores of their account
//! (`StaffAccount::works_at`); HQ roles and the owner at any node.
//!
//! The admin token of `tongka up` is an integration's key, not a person:
//! it keeps every right (scripts and integrations), and ops it makes
//! record the token's name.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

mod account;

pub use account::{
    HASH_LEN_MAX, LOGIN_LEN, NAME_LEN, PASSWORD_LEN, STORES_MAX, StaffAccount, StaffBook,
    StaffError, StaffPatch, Stamp, approval_needed, check_hash, check_login, check_name,
    check_password, check_stores, may_manage,
};

/// A staff member's role.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    minicbor::Encode,
    minicbor::Decode,
)]
#[serde(rename_all = "snake_case")]
#[cbor(index_only)]
pub enum Role {
    #[n(0)]
    Cashier,
    #[n(1)]
    StoreManager,
    #[n(2)]
    HqFinance,
    #[n(3)]
    HqAdmin,
    #[n(4)]
    Owner,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Cashier,
        Role::StoreManager,
        Role::HqFinance,
        Role::HqAdmin,
        Role::Owner,
    ];

    /// A role given by a client.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether the role works at the stores listed in its account (and
    /// needs at least one), rather than at every node.
    pub fn is_store_role(self) -> bool {
        matches!(self, Role::Cashier | Role::StoreManager)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cashier => "cashier",
            Role::StoreManager => "store_manager",
            Role::HqFinance => "hq_finance",
            Role::HqAdmin => "hq_admin",
            Role::Owner => "owner",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Cashier => "收银员",
            Role::StoreManager => "店长",
            Role::HqFinance => "总部财务",
            Role::HqAdmin => "总部管理员",
            Role::Owner => "店主",
        }
    }
}

/// What a request does, as far as roles go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Check out a sale, recharge a wallet.
    Sell,
    /// Register a member, change a profile.
    EditMembers,
    /// Verify a coupon or a card visit (核销).
    Verify,
    /// Refund up to the programme's limit.
    Refund,
    /// Refund above the programme's limit, or approve a cashier's.
    RefundAboveLimit,
    /// Merge duplicate members.
    MergeMembers,
    /// Issue coupons by hand (one or a batch).
    IssueCoupons,
    /// Change the programme, the catalogue or coupon templates.
    AuthorRules,
    /// Add, change or disable staff.
    ManageStaff,
    /// See reports and settlement.
    Reports,
    /// See the audit log.
    Audit,
    /// Change the store's stock: goods in, returns, transfers, stocktakes,
    /// minimums (reading stock needs only sign-in).
    Stock,
    /// Close a shift (交班): totals and cash counted (`close`).
    CloseShift,
    /// Close the day (日结).
    CloseDay,
    /// Import members with their opening balances from another system.
    ImportMembers,
    /// Ask to withdraw what the store is owed in settlement (提现申请).
    RequestWithdrawal,
    /// Approve or reject a store's withdrawal (提现审批), at HQ.
    DecideWithdrawals,
}

impl Action {
    pub const ALL: [Action; 17] = [
        Action::Sell,
        Action::EditMembers,
        Action::Verify,
        Action::Refund,
        Action::RefundAboveLimit,
        Action::MergeMembers,
        Action::IssueCoupons,
        Action::AuthorRules,
        Action::ManageStaff,
        Action::Reports,
        Action::Audit,
        Action::Stock,
        Action::CloseShift,
        Action::CloseDay,
        Action::ImportMembers,
        Action::RequestWithdrawal,
        Action::DecideWithdrawals,
    ];

    /// An action named by a client.
    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Sell => "sell",
            Action::EditMembers => "edit_members",
            Action::Verify => "verify",
            Action::Refund => "refund",
            Action::RefundAboveLimit => "refund_above_limit",
            Action::MergeMembers => "merge_members",
            Action::IssueCoupons => "issue_coupons",
            Action::AuthorRules => "author_rules",
            Action::ManageStaff => "manage_staff",
            Action::Reports => "reports",
            Action::Audit => "audit",
            Action::Stock => "stock",
            Action::CloseShift => "close_shift",
            Action::CloseDay => "close_day",
            Action::ImportMembers => "import_members",
            Action::RequestWithdrawal => "request_withdrawal",
            Action::DecideWithdrawals => "decide_withdrawals",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Action::Sell => "收银、充值",
            Action::EditMembers => "登记、修改会员",
            Action::Verify => "核销券和次卡",
            Action::Refund => "限额内退款",
            Action::RefundAboveLimit => "超限额退款或审批",
            Action::MergeMembers => "合并会员",
            Action::IssueCoupons => "手工发券",
            Action::AuthorRules => "会员方案、商品、券模板",
            Action::ManageStaff => "员工管理",
            Action::Reports => "报表与结算",
            Action::Audit => "审计日志",
            Action::Stock => "入库、退货、调拨、盘点",
            Action::CloseShift => "交班",
            Action::CloseDay => "日结",
            Action::ImportMembers => "导入会员（含期初余额）",
            Action::RequestWithdrawal => "申请提现",
            Action::DecideWithdrawals => "审批提现",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Action::Sell => "Sell, recharge",
            Action::EditMembers => "Register and edit members",
            Action::Verify => "Verify coupons and card visits",
            Action::Refund => "Refund within the limit",
            Action::RefundAboveLimit => "Refund above the limit, or approve one",
            Action::MergeMembers => "Merge members",
            Action::IssueCoupons => "Issue coupons by hand",
            Action::AuthorRules => "Programme, catalogue, coupon templates",
            Action::ManageStaff => "Manage staff",
            Action::Reports => "Reports and settlement",
            Action::Audit => "Audit log",
            Action::Stock => "Stock in, returns, transfers, stocktakes",
            Action::CloseShift => "Close a shift",
            Action::CloseDay => "Close the day",
            Action::ImportMembers => "Import members with opening balances",
            Action::RequestWithdrawal => "Request a withdrawal",
            Action::DecideWithdrawals => "Approve or reject withdrawals",
        }
    }
}

/// The table: for each action, whether each role (in `Role::ALL`'s
/// order: cashier, store manager, HQ finance, HQ admin, owner) may take it. HQ
/// sells nothing whatever the role (`authority`); a store manager's staff
/// and audit rights are for the stores they work at (the caller's check).
const TABLE: [(Action, [bool; 5]); 17] = [
    (Action::Sell, [true, true, false, false, true]),
    (Action::EditMembers, [true, true, false, true, true]),
    (Action::Verify, [true, true, false, false, true]),
    (Action::Refund, [true, true, false, false, true]),
    (Action::RefundAboveLimit, [false, true, false, false, true]),
    (Action::MergeMembers, [false, true, false, true, true]),
    (Action::IssueCoupons, [false, true, false, true, true]),
    (Action::AuthorRules, [false, false, false, true, true]),
    (Action::ManageStaff, [false, true, false, true, true]),
    (Action::Reports, [false, true, true, true, true]),
    (Action::Audit, [false, true, true, true, true]),
    (Action::Stock, [false, true, false, false, true]),
    (Action::CloseShift, [true, true, false, false, true]),
    (Action::CloseDay, [false, true, false, false, true]),
    (Action::ImportMembers, [false, true, false, false, true]),
    (Action::RequestWithdrawal, [false, true, false, false, true]),
    (Action::DecideWithdrawals, [false, false, true, false, true]),
];

/// Whether `role` may take `action`.
pub fn allows(role: Role, action: Action) -> bool {
    let col = Role::ALL
        .iter()
        .position(|r| *r == role)
        .expect("every role is in ALL");
    TABLE
        .iter()
        .find(|(a, _)| *a == action)
        .is_some_and(|(_, row)| row[col])
}

/// A refusal for a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {} may not: {}", .role.as_str(), .action.label_en())]
pub struct ForbiddenForRole {
    pub role: Role,
    pub action: Action,
}

impl DomainError for ForbiddenForRole {
    fn code(&self) -> &'static str {
        "forbidden_for_role"
    }

    fn message_zh(&self) -> String {
        format!("{}无权{}", self.role.label_zh(), self.action.label_zh())
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        vec![
            ("role", self.role.as_str().into()),
            ("action", self.action.as_str().into()),
        ]
    }
}

/// A cashier's refund above the programme's limit, without a store
/// manager's approval (`approval_needed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a refund of {amount} is above the limit of {limit}: a store manager's approval is needed (their login and password at this till)"
)]
pub struct ApprovalRequired {
    pub limit: crate::money::Money,
    pub amount: crate::money::Money,
}

impl DomainError for ApprovalRequired {
    fn code(&self) -> &'static str {
        "approval_required"
    }

    fn message_zh(&self) -> String {
        format!(
            "退款 {} 超过限额 {}：需要店长在本收银台输入账号和密码授权",
            self.amount, self.limit
        )
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        vec![
            ("limit", self.limit.to_string()),
            ("amount", self.amount.to_string()),
        ]
    }
}

/// What a refund's request says of who asks: the role of the staff member
/// (`None`: the integration token, whom no limit binds) and the store
/// manager who approved it at the till, already verified by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefundAuth {
    pub role: Option<Role>,
    pub approved_by: Option<String>,
}

/// `allows`, as a refusal.
pub fn check(role: Role, action: Action) -> Result<(), ForbiddenForRole> {
    if allows(role, action) {
        Ok(())
    } else {
        Err(ForbiddenForRole { role, action })
    }
}

/// The table as README shows it (Markdown; ✓ allowed, — not).
pub fn permissions_markdown() -> String {
    let mut out = String::from("| 操作 / action |");
    for r in Role::ALL {
        out.push_str(&format!(" {} {} |", r.label_zh(), r.as_str()));
    }
    out.push_str("\n|---|");
    for _ in Role::ALL {
        out.push_str("---|");
    }
    for (action, row) in TABLE {
        out.push_str(&format!(
            "\n| {} / {} |",
            action.label_zh(),
            action.label_en()
        ));
        for allowed in row {
            out.push_str(if allowed { " ✓ |" } else { " — |" });
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_every_action_once_in_order() {
        let actions: Vec<Action> = TABLE.iter().map(|(a, _)| *a).collect();
        assert_eq!(actions, Action::ALL.to_vec());
    }

    #[test]
    fn the_issues_examples_hold() {
        // Refunds above the limit need a store manager.
        assert!(!allows(Role::Cashier, Action::RefundAboveLimit));
        assert!(allows(Role::StoreManager, Action::RefundAboveLimit));
        // Merging members needs a manager.
        assert!(!allows(Role::Cashier, Action::MergeMembers));
        // Programme, catalogue and coupon templates belong to HQ admin.
        for r in Role::ALL {
            assert_eq!(
                allows(r, Action::AuthorRules),
                matches!(r, Role::HqAdmin | Role::Owner),
                "{r:?}"
            );
        }
        // The owner of a node of no chain may do everything.
        assert!(Action::ALL.iter().all(|a| allows(Role::Owner, *a)));
        // Reports and settlement belong to HQ finance (and managers and
        // HQ admin), never to a cashier.
        assert!(allows(Role::HqFinance, Action::Reports));
        assert!(!allows(Role::Cashier, Action::Reports));
        // HQ roles sell nothing.
        assert!(!allows(Role::HqFinance, Action::Sell) && !allows(Role::HqAdmin, Action::Sell));
    }

    #[test]
    fn a_refusal_names_the_role_and_action_in_both_languages() {
        let e = check(Role::Cashier, Action::MergeMembers).unwrap_err();
        assert_eq!(e.code(), "forbidden_for_role");
        assert_eq!(e.message_zh(), "收银员无权合并会员");
        assert!(e.to_string().contains("cashier") && e.to_string().contains("Merge members"));
        assert_eq!(
            e.details(),
            vec![
                ("role", "cashier".into()),
                ("action", "merge_members".into())
            ]
        );
        assert!(check(Role::StoreManager, Action::MergeMembers).is_ok());
    }

    /// README shows the table as this module writes it.
    #[test]
    fn readme_shows_this_table() {
        let readme = include_str!("../../../README.md");
        let table = permissions_markdown();
        assert!(
            readme.contains(&table),
            "README's permissions table differs from staff::permissions_markdown():\n{table}"
        );
    }
}
