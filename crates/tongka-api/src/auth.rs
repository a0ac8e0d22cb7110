//! Who a request is: the node's admin token (an integration's key, every
//! right, ops record `admin`) or a staff member's session (ops record the
//! staff id); and whether they may do what the endpoint does
//! (`permissions::ROUTES` over `tongka_core::staff`'s table).
//!
//! Sessions live in this node's memory: a restart signs everyone out, and a
//! session is good at the node that made it only (a till talks to its own
//! store's node). A session ends at its expiry (`ttl` from sign-in), at
//! sign-out, when its account is disabled, and when the account's password
//! changes (at any node: the change replicates). Ended sessions are
//! remembered for a while, so their next request is told
//! `session_expired` rather than `unauthorized`.
//!
//! Failed sign-ins are limited per login and per client address (sliding
//! windows of [`FAIL_WINDOW`]): past the limit, sign-ins are refused
//! `login_locked` with `Retry-After`, whatever the password.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tongka_core::ids::StaffId;
use tongka_core::staff::{Action, ForbiddenForRole, Role, StaffAccount, Stamp, allows};

use crate::permissions::{self, Need};
use crate::{ApiError, AppState};

/// Failed sign-ins of one login allowed per window.
pub const FAILS_PER_LOGIN: usize = 5;
/// Failed sign-ins from one address allowed per window.
pub const FAILS_PER_ADDRESS: usize = 30;
/// The window failed sign-ins are counted over.
pub const FAIL_WINDOW: Duration = Duration::from_secs(15 * 60);
/// The most live sessions a node keeps (the oldest ends first).
const SESSIONS_MAX: usize = 10_000;
/// The name of the admin token in the op log.
pub const TOKEN_NAME: &str = "admin";

/// Who is asking.
#[derive(Debug, Clone)]
pub enum Principal {
    /// The admin token.
    Token,
    /// A staff member signed in here (the account as of this request).
    Staff {
        account: Box<StaffAccount>,
        session: [u8; 32],
        expires_ms: u64,
    },
}

impl Principal {
    /// What the op log records as who did it.
    pub fn by(&self) -> String {
        match self {
            Principal::Token => TOKEN_NAME.to_string(),
            Principal::Staff { account, .. } => account.id.to_string(),
        }
    }

    /// The staff role; `None` for the token (every right).
    pub fn role(&self) -> Option<Role> {
        match self {
            Principal::Token => None,
            Principal::Staff { account, .. } => Some(account.role),
        }
    }

    pub fn may(&self, action: Action) -> bool {
        self.role().is_none_or(|r| allows(r, action))
    }

    /// `may`, as a refusal.
    pub fn check(&self, action: Action) -> Result<(), ApiError> {
        match self.role() {
            Some(role) if !allows(role, action) => Err(forbidden(role, action)),
            _ => Ok(()),
        }
    }

    pub fn account(&self) -> Option<&StaffAccount> {
        match self {
            Principal::Token => None,
            Principal::Staff { account, .. } => Some(account),
        }
    }
}

pub(crate) fn forbidden(role: Role, action: Action) -> ApiError {
    ApiError::from_domain(StatusCode::FORBIDDEN, &ForbiddenForRole { role, action })
}

struct Session {
    staff: StaffId,
    expires: Instant,
    expires_ms: u64,
    /// The account's password when signing in: a change ends the session.
    password: Stamp,
    /// The last write of the account's `disabled` when signing in: any
    /// later one ends the session, so disabling ends it even if it is not
    /// used before the account is enabled again.
    disabled: Stamp,
}

/// The sessions of this node and its sign-in failures.
pub struct Sessions {
    ttl: Duration,
    live: Mutex<HashMap<[u8; 32], Session>>,
    /// Sessions ended (expired, signed out, superseded), until when they
    /// are remembered.
    ended: Mutex<HashMap<[u8; 32], Instant>>,
    fails: Mutex<Fails>,
}

#[derive(Default)]
struct Fails {
    by_login: HashMap<String, VecDeque<Instant>>,
    by_address: HashMap<String, VecDeque<Instant>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The stamp of the last write of `a`'s `disabled` (its fourth field,
/// `StaffAccount::written`).
fn disabled_stamp(a: &StaffAccount) -> &Stamp {
    &a.written[3]
}

fn key_of(token: &str) -> [u8; 32] {
    *blake3::hash(token.as_bytes()).as_bytes()
}

/// Drop the entries of `q` older than the window; the wait until the
/// oldest leaves it when `q` holds `max` or more.
fn over(q: &mut VecDeque<Instant>, max: usize, now: Instant) -> Option<Duration> {
    while q
        .front()
        .is_some_and(|t| now.duration_since(*t) >= FAIL_WINDOW)
    {
        q.pop_front();
    }
    (q.len() >= max).then(|| FAIL_WINDOW.saturating_sub(now.duration_since(q[0])))
}

impl Sessions {
    pub fn new(ttl: Duration) -> Sessions {
        Sessions {
            ttl,
            live: Mutex::default(),
            ended: Mutex::default(),
            fails: Mutex::default(),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A new session for `a`: its token and expiry (ms since the epoch).
    pub(crate) fn start(&self, a: &StaffAccount) -> (String, u64) {
        let token = hex::encode(rand::random::<[u8; 32]>());
        let expires_ms = now_ms() + self.ttl.as_millis() as u64;
        let mut live = self.live.lock().expect("sessions lock");
        if live.len() >= SESSIONS_MAX
            && let Some(oldest) = live.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k)
        {
            live.remove(&oldest);
        }
        live.insert(
            key_of(&token),
            Session {
                staff: a.id.clone(),
                expires: Instant::now() + self.ttl,
                expires_ms,
                password: a.password_stamp().clone(),
                disabled: disabled_stamp(a).clone(),
            },
        );
        (token, expires_ms)
    }

    /// End a session (sign-out, or found stale).
    pub(crate) fn end(&self, key: [u8; 32]) {
        self.live.lock().expect("sessions lock").remove(&key);
        let mut ended = self.ended.lock().expect("sessions lock");
        let now = Instant::now();
        if ended.len() >= SESSIONS_MAX {
            ended.retain(|_, until| *until > now);
        }
        if ended.len() < SESSIONS_MAX {
            ended.insert(key, now + self.ttl.max(Duration::from_secs(3600)));
        }
    }

    fn was_ended(&self, key: &[u8; 32]) -> bool {
        self.ended
            .lock()
            .expect("sessions lock")
            .get(key)
            .is_some_and(|until| *until > Instant::now())
    }

    /// Whether a sign-in as `login` from `address` may be tried now; if
    /// not, how long until it may.
    pub(crate) fn locked(&self, login: &str, address: &str) -> Option<Duration> {
        let now = Instant::now();
        let mut f = self.fails.lock().expect("fails lock");
        let a = f
            .by_login
            .get_mut(login)
            .and_then(|q| over(q, FAILS_PER_LOGIN, now));
        let b = f
            .by_address
            .get_mut(address)
            .and_then(|q| over(q, FAILS_PER_ADDRESS, now));
        a.max(b)
    }

    pub(crate) fn failed(&self, login: &str, address: &str) {
        let now = Instant::now();
        let mut f = self.fails.lock().expect("fails lock");
        // Bound the maps: forget quiet entries when they grow.
        if f.by_login.len() > SESSIONS_MAX {
            f.by_login
                .retain(|_, q| over(q, usize::MAX, now).is_none() && !q.is_empty());
        }
        if f.by_address.len() > SESSIONS_MAX {
            f.by_address
                .retain(|_, q| over(q, usize::MAX, now).is_none() && !q.is_empty());
        }
        f.by_login
            .entry(login.to_string())
            .or_default()
            .push_back(now);
        f.by_address
            .entry(address.to_string())
            .or_default()
            .push_back(now);
    }

    /// A good sign-in forgets the login's failures (not the address's).
    pub(crate) fn succeeded(&self, login: &str) {
        self.fails
            .lock()
            .expect("fails lock")
            .by_login
            .remove(login);
    }
}

/// The client's address, as the connection gave it ("-" when unknown).
pub(crate) fn address(req_ext: &axum::http::Extensions) -> String {
    req_ext
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "-".to_string(), |c| c.0.ip().to_string())
}

/// The token of an `Authorization: Bearer <token>` value. The scheme is
/// matched without regard to case (RFC 7235 section 2.1: `bearer`, `BEARER`).
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn session_expired() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "session_expired",
        "your session has ended (expired, signed out, or the password changed): sign in again",
        "登录已失效（已过期、已退出或密码已修改）：请重新登录",
    )
}

pub(crate) fn account_disabled() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "account_disabled",
        "this staff account is disabled",
        "该员工账号已停用",
    )
}

pub(crate) fn not_at_this_store(node: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "not_at_this_store",
        format!("this account does not work at {node}"),
        format!("该账号不在门店 {node} 工作"),
    )
    .with("store", node)
}

/// Who the request is, or why it is refused.
pub(crate) fn principal(s: &AppState, token: Option<&str>) -> Result<Principal, ApiError> {
    let Some(token) = token else {
        return Err(ApiError::unauthorized());
    };
    if constant_time_eq(token.as_bytes(), s.inner.token.as_bytes()) {
        return Ok(Principal::Token);
    }
    let sessions = &s.inner.sessions;
    let key = key_of(token);
    let found = {
        let live = sessions.live.lock().expect("sessions lock");
        live.get(&key).map(|x| {
            (
                x.staff.clone(),
                x.expires,
                x.expires_ms,
                x.password.clone(),
                x.disabled.clone(),
            )
        })
    };
    let Some((staff, expires, expires_ms, password, disabled)) = found else {
        return Err(if sessions.was_ended(&key) {
            session_expired()
        } else {
            ApiError::unauthorized()
        });
    };
    let book = s.engine().staff();
    let account = book.get(&staff);
    let stale = Instant::now() >= expires
        || account.is_none_or(|a| *a.password_stamp() != password || book.login_conflict(a));
    if stale {
        sessions.end(key);
        return Err(session_expired());
    }
    let account = account.expect("checked above");
    if account.disabled {
        sessions.end(key);
        return Err(account_disabled());
    }
    if *disabled_stamp(account) != disabled {
        // Disabled and enabled again since signing in.
        sessions.end(key);
        return Err(session_expired());
    }
    let node = s.engine().node();
    if !account.works_at(node) {
        return Err(not_at_this_store(node.as_str()));
    }
    Ok(Principal::Staff {
        account: Box::new(account.clone()),
        session: key,
        expires_ms,
    })
}

/// The middleware of every endpoint behind sign-in: who is asking, and
/// whether they may (the routed path's entry in `permissions::ROUTES`).
pub(crate) async fn auth(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    let who = match principal(&s, token) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().strip_prefix("/api/v1").unwrap_or(p.as_str()))
        .unwrap_or("");
    let need = permissions::need(req.method().as_str(), path);
    let refused = match (need, &who) {
        (_, Principal::Token) => None,
        (Some(Need::Signed), _) => None,
        (Some(Need::Act(a)), p) => p.check(a).err(),
        (Some(Need::Token), Principal::Staff { .. }) | (None, Principal::Staff { .. }) => {
            Some(ApiError::new(
                StatusCode::FORBIDDEN,
                "token_only",
                "only the node's admin token may do this",
                "仅限节点管理令牌操作",
            ))
        }
    };
    if let Some(e) = refused {
        return e.into_response();
    }
    req.extensions_mut().insert(who);
    next.run(req).await
}
