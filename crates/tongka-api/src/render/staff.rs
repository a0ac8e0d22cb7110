//! Staff accounts and sessions as the API shows them: never a hash.

use serde::Serialize;
use tongka_core::ids::{NodeId, StaffId};
use tongka_core::money::Money;
use tongka_core::staff::{StaffAccount, StaffBook};
use utoipa::ToSchema;

use super::{Time, at};

/// A staff account (员工账号).
#[derive(Serialize, ToSchema)]
#[schema(as = Staff)]
pub struct StaffView<'a> {
    #[schema(value_type = String, examples("s-hq-3"))]
    id: &'a StaffId,
    /// The login name: 2 to 32 of a-z, 0-9, '.', '_' and '-'.
    #[schema(examples("li.na"))]
    login: &'a str,
    #[schema(examples("李娜"))]
    name: &'a str,
    /// `cashier`, `store_manager`, `hq_finance`, `hq_admin` or `owner`.
    #[schema(value_type = String, examples("cashier"))]
    role: &'static str,
    #[schema(examples("收银员"))]
    role_zh: &'static str,
    /// The stores a cashier or store manager works at (HQ roles and the
    /// owner work at any node).
    #[schema(value_type = Vec<crate::openapi::NodeName>)]
    stores: &'a [NodeId],
    disabled: bool,
    /// Another account created with the same login at the same time keeps
    /// it (the lower id): this one cannot sign in.
    login_conflict: bool,
    #[schema(value_type = String, format = DateTime)]
    created_at: Time,
    /// Who created it: a staff id, or `admin` (the node's token).
    created_by: &'a str,
    #[schema(value_type = String, format = DateTime)]
    changed_at: Time,
    changed_by: &'a str,
}

pub fn staff<'a>(a: &'a StaffAccount, book: &StaffBook) -> StaffView<'a> {
    let changed = a.changed();
    StaffView {
        id: &a.id,
        login: &a.login,
        name: &a.name,
        role: a.role.as_str(),
        role_zh: a.role.label_zh(),
        stores: &a.stores,
        disabled: a.disabled,
        login_conflict: book.login_conflict(a),
        created_at: at(a.created.hlc),
        created_by: &a.created.by,
        changed_at: at(changed.hlc),
        changed_by: &changed.by,
    }
}

/// The chain's staff, by login.
#[derive(Serialize, ToSchema)]
#[schema(as = StaffList)]
pub struct StaffListView<'a> {
    pub staff: Vec<StaffView<'a>>,
}

/// Who is signed in, and what they may do here.
#[derive(Serialize, ToSchema)]
#[schema(as = Session)]
pub struct SessionView<'a> {
    /// The session's bearer token: only in the answer to signing in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// `staff` or `integration` (the node's admin token).
    #[schema(value_type = String, examples("staff"))]
    pub principal: &'static str,
    /// The token's name, for the admin token; else null.
    pub integration: Option<&'static str>,
    pub staff: Option<StaffView<'a>>,
    #[schema(value_type = crate::openapi::NodeName)]
    pub node: &'a NodeId,
    /// `store`, `hq`, or null for a node of no chain.
    pub node_role: Option<&'static str>,
    /// When the session ends; null for the admin token.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Time>,
    /// The actions this principal may take here (`tongka_core::staff`'s
    /// names): the console hides what is not listed.
    pub allowed: Vec<&'static str>,
    /// A cashier's refund above this needs a store manager's approval.
    #[schema(value_type = Option<crate::openapi::Money>)]
    pub refund_approval_above: Option<Money>,
}

/// The name of who made an op: a staff member's name as the account is
/// named now, or `by` itself (the token's name, an account not known here).
pub fn by_name(book: &StaffBook, by: &str) -> String {
    StaffId::parse(by)
        .and_then(|id| book.get(&id).map(|a| a.name.clone()))
        .unwrap_or_else(|| by.to_string())
}

pub fn time_ms(ms: u64) -> Time {
    at(tongka_core::clock::Hlc { ms, count: 0 })
}
