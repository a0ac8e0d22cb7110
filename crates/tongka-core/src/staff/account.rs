//! Staff accounts and the chain's book of them, replicated by
//! `OpBody::StaffChanged` ops and converging whatever order they arrive in.
//!
//! # How edits converge
//! An account is created by one op that carries every field; later ops
//! carry the fields they change (`StaffPatch`). Each field is a
//! last-writer-wins register stamped with the op that wrote it
//! (`Stamp`: the op's hybrid logical clock, then its origin; a node's
//! clock rises with every op it makes, so no two ops share both): applying an op
//! sets a field only when the op's stamp is above the field's. So two
//! edits of different fields made at two stores during a partition both
//! stay, and two edits of one field (two password changes) end in the
//! later one on every node, whichever arrived first. An edit of an account
//! the node does not know is refused (causal delivery brings the creation
//! first: an edit's origin saw the account).
//!
//! # Logins
//! A login is chosen at creation and never changes. Two accounts created
//! with one login at two partitioned nodes both exist; the lower id (byte
//! order) keeps the login on every node alike, and the other shows
//! `login_conflict` and cannot sign in until HQ disables it and creates the
//! person again under another login.
//!
//! # Passwords
//! An op carries the password's argon2id hash in PHC form, never the
//! password: hashing takes randomness (a salt), so it is made where the
//! password is typed (`tongka-actors`), and the core only checks the
//! form ([`check_hash`]) and the typed password's length
//! ([`check_password`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Action, ForbiddenForRole, Role, allows};
use crate::clock::Hlc;
use crate::error::DomainError;
use crate::ids::{NodeId, StaffId};
use crate::op::{Op, OpBody};
use crate::text::{self, TextError};

/// Login names: 2 to 32 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub const LOGIN_LEN: (usize, usize) = (2, 32);
/// Display names, in characters.
pub const NAME_LEN: (usize, usize) = (1, 40);
/// Typed passwords, in characters.
pub const PASSWORD_LEN: (usize, usize) = (8, 128);
/// The longest stored password hash (an argon2id PHC string is ~100).
pub const HASH_LEN_MAX: usize = 256;
/// The most stores one account may work at.
pub const STORES_MAX: usize = 64;

/// Who wrote a field, and when: ordered by clock, then origin. Known
/// before the log numbers the op, so the node that makes it holds the same
/// stamp as every node that receives it.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    minicbor::Encode,
    minicbor::Decode,
)]
pub struct Stamp {
    #[n(0)]
    pub hlc: Hlc,
    #[n(1)]
    pub origin: NodeId,
    /// The op's `by` (a staff id or an integration token's name).
    #[n(2)]
    pub by: String,
}

impl Stamp {
    /// The stamp of the fields `op` writes.
    pub fn of(op: &Op) -> Stamp {
        Stamp {
            hlc: op.hlc,
            origin: op.id.origin.clone(),
            by: op.by.clone(),
        }
    }
}

/// An edit of a staff account (all fields at creation).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct StaffPatch {
    /// Only at creation.
    #[n(0)]
    pub login: Option<String>,
    #[n(1)]
    pub name: Option<String>,
    #[n(2)]
    pub role: Option<Role>,
    #[n(3)]
    pub stores: Option<Vec<NodeId>>,
    #[n(4)]
    pub disabled: Option<bool>,
    /// The argon2id PHC string of the new password.
    #[n(5)]
    pub password: Option<String>,
}

impl StaffPatch {
    /// Whether the patch creates an account.
    pub fn creates(&self) -> bool {
        self.login.is_some()
    }

    /// Each field's own rule, and a creation's completeness. The rule of
    /// role and stores together is checked on the account after the patch
    /// (`StaffAccount::check`).
    pub fn check(&self) -> Result<(), StaffError> {
        if let Some(l) = &self.login {
            check_login(l)?;
        }
        if let Some(n) = &self.name {
            check_name(n)?;
        }
        if let Some(s) = &self.stores {
            check_stores(s)?;
        }
        if let Some(h) = &self.password {
            check_hash(h)?;
        }
        if self.creates()
            && (self.name.is_none()
                || self.role.is_none()
                || self.password.is_none()
                || self.stores.is_none())
        {
            return Err(StaffError::Incomplete);
        }
        Ok(())
    }
}

/// A staff account as every node holds it.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct StaffAccount {
    #[n(0)]
    pub id: StaffId,
    #[n(1)]
    pub login: String,
    #[n(2)]
    pub name: String,
    #[n(3)]
    pub role: Role,
    /// The stores a cashier or store manager works at (sorted); unused
    /// for HQ roles and the owner, who work at any node.
    #[n(4)]
    pub stores: Vec<NodeId>,
    #[n(5)]
    pub disabled: bool,
    /// The password's argon2id PHC string.
    #[n(6)]
    pub password: String,
    /// The creation's stamp.
    #[n(7)]
    pub created: Stamp,
    /// Each field's last writer: name, role, stores, disabled, password.
    #[n(8)]
    pub written: [Stamp; 5],
}

impl StaffAccount {
    /// Whether the account may work at `node`.
    pub fn works_at(&self, node: &NodeId) -> bool {
        !self.role.is_store_role() || self.stores.contains(node)
    }

    /// The latest change of any field (the creation at first).
    pub fn changed(&self) -> &Stamp {
        self.written.iter().max().expect("five stamps")
    }

    /// The stamp of the password in force: a session made before it ends.
    pub fn password_stamp(&self) -> &Stamp {
        &self.written[4]
    }

    /// The rule of role and stores together: a store role works at one
    /// store at least.
    pub fn check(&self) -> Result<(), StaffError> {
        if self.role.is_store_role() && self.stores.is_empty() {
            return Err(StaffError::StoresRequired);
        }
        Ok(())
    }
}

/// The chain's staff accounts, as one node knows them.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct StaffBook {
    #[n(0)]
    accounts: BTreeMap<StaffId, StaffAccount>,
}

impl StaffBook {
    pub fn get(&self, id: &StaffId) -> Option<&StaffAccount> {
        self.accounts.get(id)
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Every account, by id.
    pub fn iter(&self) -> impl Iterator<Item = &StaffAccount> {
        self.accounts.values()
    }

    /// The account that signs in as `login`: of the accounts created with
    /// it, the lowest id (see the module doc).
    pub fn by_login(&self, login: &str) -> Option<&StaffAccount> {
        self.accounts.values().find(|a| a.login == login)
    }

    /// Whether another account of a lower id holds `a`'s login.
    pub fn login_conflict(&self, a: &StaffAccount) -> bool {
        self.by_login(&a.login).is_some_and(|w| w.id != a.id)
    }

    /// The account after `patch` of `staff` by the op stamped `stamp`,
    /// checked (the role-and-stores rule too), without changing the book:
    /// what a node about to author the op checks.
    pub fn after(
        &self,
        staff: &StaffId,
        patch: &StaffPatch,
        stamp: &Stamp,
    ) -> Result<StaffAccount, StaffError> {
        let a = self.merged(staff, patch, stamp)?;
        a.check()?;
        Ok(a)
    }

    /// Apply a `StaffChanged` op (any other op changes nothing). The
    /// role-and-stores rule is not checked here: every node must apply an
    /// op alike, and two concurrent edits each valid (a role made cashier
    /// here, the stores emptied of an HQ role there) may merge into an
    /// account without stores; it then works nowhere until edited.
    pub fn apply(&mut self, op: &Op) -> Result<(), StaffError> {
        let OpBody::StaffChanged { staff, patch } = &op.body else {
            return Ok(());
        };
        let stamp = Stamp::of(op);
        let a = self.merged(staff, patch, &stamp)?;
        self.accounts.insert(staff.clone(), a);
        Ok(())
    }

    /// The account after `patch`, field by field (the module doc).
    fn merged(
        &self,
        staff: &StaffId,
        patch: &StaffPatch,
        stamp: &Stamp,
    ) -> Result<StaffAccount, StaffError> {
        patch.check()?;
        let mut a = match (self.accounts.get(staff), patch.creates()) {
            (Some(_), true) => return Err(StaffError::Exists),
            (None, false) => return Err(StaffError::NotFound),
            (Some(a), false) => a.clone(),
            (None, true) => {
                let mut stores = patch.stores.clone().unwrap_or_default();
                stores.sort();
                stores.dedup();
                return Ok(StaffAccount {
                    id: staff.clone(),
                    login: patch.login.clone().unwrap_or_default(),
                    name: patch.name.clone().unwrap_or_default(),
                    role: patch.role.unwrap_or(Role::Cashier),
                    stores,
                    disabled: patch.disabled.unwrap_or(false),
                    password: patch.password.clone().unwrap_or_default(),
                    created: stamp.clone(),
                    written: std::array::from_fn(|_| stamp.clone()),
                });
            }
        };
        // Last writer wins, field by field.
        let newer = |i: usize, a: &StaffAccount| *stamp > a.written[i];
        if let Some(n) = &patch.name
            && newer(0, &a)
        {
            a.name = n.clone();
            a.written[0] = stamp.clone();
        }
        if let Some(r) = patch.role
            && newer(1, &a)
        {
            a.role = r;
            a.written[1] = stamp.clone();
        }
        if let Some(s) = &patch.stores
            && newer(2, &a)
        {
            let mut s = s.clone();
            s.sort();
            s.dedup();
            a.stores = s;
            a.written[2] = stamp.clone();
        }
        if let Some(d) = patch.disabled
            && newer(3, &a)
        {
            a.disabled = d;
            a.written[3] = stamp.clone();
        }
        if let Some(p) = &patch.password
            && newer(4, &a)
        {
            a.password = p.clone();
            a.written[4] = stamp.clone();
        }
        Ok(a)
    }
}

/// Whether an account of `role` working at `stores` may create or edit an
/// account to have `target_role` at `target_stores`: HQ admin and the
/// owner any; a store manager cashiers and store managers of their own
/// stores only; no one else.
pub fn may_manage(
    role: Role,
    stores: &[NodeId],
    target_role: Role,
    target_stores: &[NodeId],
) -> Result<(), ForbiddenForRole> {
    let refused = ForbiddenForRole {
        role,
        action: Action::ManageStaff,
    };
    if !allows(role, Action::ManageStaff) {
        return Err(refused);
    }
    if role != Role::StoreManager {
        return Ok(());
    }
    let own = target_role.is_store_role()
        && !target_stores.is_empty()
        && target_stores.iter().all(|s| stores.contains(s));
    if own { Ok(()) } else { Err(refused) }
}

/// Whether a refund of `amount` by `role` needs a manager's approval under
/// the programme's `limit` (none: no refund needs one).
pub fn approval_needed(
    role: Role,
    amount: crate::money::Money,
    limit: Option<crate::money::Money>,
) -> bool {
    !allows(role, Action::RefundAboveLimit) && limit.is_some_and(|l| amount > l)
}

pub fn check_login(l: &str) -> Result<(), StaffError> {
    let ok = (LOGIN_LEN.0..=LOGIN_LEN.1).contains(&l.len())
        && l.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && l.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if ok { Ok(()) } else { Err(StaffError::Login) }
}

pub fn check_name(n: &str) -> Result<(), StaffError> {
    text::check_text(n, NAME_LEN.0, NAME_LEN.1).map_err(StaffError::Name)
}

pub fn check_stores(s: &[NodeId]) -> Result<(), StaffError> {
    if s.len() > STORES_MAX {
        return Err(StaffError::TooManyStores);
    }
    Ok(())
}

/// A typed password: 8 to 128 characters, none of them a control
/// character (a till's keyboard types none).
pub fn check_password(p: &str) -> Result<(), StaffError> {
    let n = p.chars().count();
    if !(PASSWORD_LEN.0..=PASSWORD_LEN.1).contains(&n) || p.chars().any(char::is_control) {
        return Err(StaffError::Password);
    }
    Ok(())
}

/// A stored hash: an argon2id PHC string of visible ASCII.
pub fn check_hash(h: &str) -> Result<(), StaffError> {
    let ok = h.starts_with("$argon2id$")
        && h.len() <= HASH_LEN_MAX
        && h.bytes().all(|b| b.is_ascii_graphic());
    if ok { Ok(()) } else { Err(StaffError::Hash) }
}

impl StaffBook {
    /// The book as the store keeps it (minicbor: fields grow by index).
    pub fn to_bytes(&self) -> Vec<u8> {
        minicbor::to_vec(self).expect("encoding to memory cannot fail")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<StaffBook, String> {
        minicbor::decode(bytes).map_err(|e| e.to_string())
    }
}

/// Why a staff edit is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaffError {
    #[error("login must be 2 to 32 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit")]
    Login,
    #[error("name {0}")]
    Name(TextError),
    #[error("password must be 8 to 128 characters, without control characters")]
    Password,
    #[error("a password hash must be an argon2id PHC string")]
    Hash,
    #[error("an account works at {STORES_MAX} stores at most")]
    TooManyStores,
    #[error("a cashier or store manager works at one store at least: give stores")]
    StoresRequired,
    #[error("a new account needs login, name, role, stores and password")]
    Incomplete,
    #[error("staff account not found")]
    NotFound,
    #[error("that staff account exists already")]
    Exists,
    #[error("login {0} is taken by another account")]
    LoginTaken(String),
}

impl DomainError for StaffError {
    fn code(&self) -> &'static str {
        match self {
            StaffError::Login => "invalid_login",
            StaffError::Name(_) => "invalid_staff_name",
            StaffError::Password | StaffError::Hash => "invalid_password",
            StaffError::TooManyStores | StaffError::StoresRequired => "invalid_stores",
            StaffError::Incomplete => "invalid_staff",
            StaffError::NotFound => "staff_not_found",
            StaffError::Exists => "staff_exists",
            StaffError::LoginTaken(_) => "login_taken",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            StaffError::Login => {
                "登录名应为 2 到 32 个小写字母、数字、“.”“_”“-”，以字母或数字开头".into()
            }
            StaffError::Name(e) => format!("姓名{}", e.zh()),
            StaffError::Password | StaffError::Hash => {
                "密码应为 8 到 128 个字符，不含控制字符".into()
            }
            StaffError::TooManyStores => format!("一个账号最多可在 {STORES_MAX} 家门店工作"),
            StaffError::StoresRequired => "收银员和店长至少要指定一家门店".into(),
            StaffError::Incomplete => "新账号需要登录名、姓名、角色、门店和密码".into(),
            StaffError::NotFound => "员工账号不存在".into(),
            StaffError::Exists => "该员工账号已存在".into(),
            StaffError::LoginTaken(l) => format!("登录名 {l} 已被其他账号使用"),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        let field = match self {
            StaffError::Login | StaffError::LoginTaken(_) => "login",
            StaffError::Name(_) => "name",
            StaffError::Password | StaffError::Hash => "password",
            StaffError::TooManyStores | StaffError::StoresRequired => "stores",
            _ => return Vec::new(),
        };
        let mut d = vec![("field", field.to_string())];
        if let StaffError::Name(e) = self {
            d.extend(e.details());
        }
        d
    }
}
