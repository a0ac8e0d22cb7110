//! HQ reporting beyond one node: a real node's ops exported
//! (`GET /api/v1/ops/export`) and loaded by `tongka-pgload` into a real
//! PostgreSQL this test starts (Debian's `postgresql` package: `initdb` and
//! `postgres` in a temporary directory, on a loopback port, as the
//! `postgres` user when the test runs as root). The SQL figures equal the
//! node's `/ledger/summary`; a second run loads only the ops made since;
//! a third loads nothing; with its cursor thrown away, a run receives
//! everything again and inserts nothing twice.
//!
//! Without PostgreSQL installed the test fails and says how to install it
//! (`bash tests/run` does): it never skips silently.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{BIN, Node, signal, try_wait_for};

/// The directory holding `initdb` and `postgres` (the newest version
/// installed).
fn pg_bin() -> PathBuf {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").exists() && bin.join("postgres").exists()).then_some((v, bin))
        })
        .collect();
    dirs.sort();
    match dirs.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is not installed: this test needs Debian's `postgresql` package \
             (initdb and postgres under /usr/lib/postgresql/*/bin). Install it with \
             `apt-get install postgresql`, or run `bash tests/run`, which does."
        ),
    }
}

/// `(uid, gid)` of the `postgres` user when running as root (PostgreSQL
/// refuses to run as root); `None` otherwise.
fn run_as() -> Option<(u32, u32)> {
    let id = |args: &[&str]| -> u32 {
        let out = Command::new("id").args(args).output().expect("id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("id {args:?}: {e}"))
    };
    if id(&["-u"]) != 0 {
        return None;
    }
    let uid = Command::new("id").args(["-u", "postgres"]).output().ok()?;
    assert!(
        uid.status.success(),
        "running as root, and there is no `postgres` user to run PostgreSQL as \
         (the postgresql package creates it)"
    );
    Some((id(&["-u", "postgres"]), id(&["-g", "postgres"])))
}

/// A PostgreSQL server of its own, stopped (fast shutdown) on drop.
struct Postgres {
    bin: PathBuf,
    port: u16,
    child: Child,
    _tmp: tempfile::TempDir,
}

impl Postgres {
    fn start() -> Postgres {
        let bin = pg_bin();
        let user = run_as();
        let tmp = tempfile::tempdir().expect("temp dir");
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(tmp.path(), Some(uid), Some(gid)).expect("chown");
        }
        let data = tmp.path().join("data");
        let as_user = |program: &Path| -> Command {
            match user {
                Some((uid, gid)) => {
                    let mut c = Command::new("setpriv");
                    c.arg(format!("--reuid={uid}"))
                        .arg(format!("--regid={gid}"))
                        .arg("--clear-groups")
                        .arg("--")
                        .arg(program);
                    c
                }
                None => Command::new(program),
            }
        };
        let out = as_user(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "tongka", "--auth=trust", "--no-sync", "-E", "UTF8"])
            .args(["--locale=C"])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().expect("addr").port()
        };
        let log = std::fs::File::create(tmp.path().join("postgres.log")).expect("log");
        // setpriv execs in place: the child is the postmaster.
        let child = as_user(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(tmp.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start postgres");
        let mut pg = Postgres {
            bin,
            port,
            child,
            _tmp: tmp,
        };
        let mut exited = None;
        let up = try_wait_for(Duration::from_secs(30), || {
            exited = pg.child.try_wait().ok().flatten();
            exited.is_some() || pg.try_psql("SELECT 1").as_deref() == Some("1")
        });
        if !up || exited.is_some() {
            let log = std::fs::read_to_string(pg._tmp.path().join("postgres.log"));
            panic!("PostgreSQL did not start ({exited:?}):\n{log:?}");
        }
        pg
    }

    fn conn(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=tongka dbname=postgres",
            self.port
        )
    }

    fn try_psql(&self, sql: &str) -> Option<String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "tongka", "-d", "postgres", "-X", "-A", "-t", "-q"])
            .args(["-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// One row's values, `|`-separated as psql prints them.
    fn psql(&self, sql: &str) -> String {
        self.try_psql(sql)
            .unwrap_or_else(|| panic!("psql failed: {sql}"))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGINT: fast shutdown (its backends end with it).
        signal(self.child.id(), 2);
        let c = &mut self.child;
        if !try_wait_for(Duration::from_secs(20), || {
            c.try_wait().ok().flatten().is_some()
        }) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The loader, built beside `tongka` (`cargo test --workspace` builds it).
fn loader() -> PathBuf {
    let bin = Path::new(BIN)
        .parent()
        .expect("the binaries' folder")
        .join("tongka-pgload");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p tongka-pgload` \
         (`cargo test --workspace` and `bash tests/run` build it)",
        bin.display()
    );
    bin
}

/// `(received, inserted)` of a run of the loader, which must succeed.
fn load(node: &Node, pg: &Postgres, limit: u64, batch: usize) -> (u64, u64) {
    let token = node.data_dir.join("admin.token");
    let out = Command::new(loader())
        .args(["--node", &node.url, "--pg", &pg.conn()])
        .arg("--token-file")
        .arg(&token)
        .args(["--limit", &limit.to_string(), "--batch", &batch.to_string()])
        .output()
        .expect("run tongka-pgload");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tongka-pgload failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "loaded: R requests, N ops received, M new rows; cursor C"
    let num = |after: &str| -> u64 {
        text.split(',')
            .find(|p| p.contains(after))
            .and_then(|p| p.split_whitespace().find_map(|w| w.parse().ok()))
            .unwrap_or_else(|| panic!("{after} in {text}"))
    };
    (num("ops received"), num("new rows"))
}

/// The ops the node holds.
fn ops_held(node: &Node) -> u64 {
    let (s, v) = node.get("/sync/status");
    assert_eq!(s, 200, "{v}");
    v["version_vector"]
        .as_object()
        .expect("a map")
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum()
}

/// The node's ledger and the loaded tables' agree, field by field.
fn figures_agree(node: &Node, pg: &Postgres) {
    let (s, l) = node.get("/ledger/summary");
    assert_eq!(s, 200, "{l}");
    let fields = [
        "members",
        "recharges",
        "recharged_principal",
        "recharged_bonus",
        "orders",
        "sales",
        "spent_principal",
        "spent_bonus",
        "refunds",
        "refunded",
        "refunded_principal",
        "refunded_bonus",
        "outstanding_principal",
        "outstanding_bonus",
        "points_issued",
        "points_redeemed",
    ];
    let row = pg.psql(&format!("SELECT {} FROM tongka_ledger", fields.join(", ")));
    let sql: Vec<&str> = row.split('|').collect();
    assert_eq!(sql.len(), fields.len(), "{row}");
    for (f, v) in fields.iter().zip(sql) {
        let api = match &l[*f] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert_eq!(v, api, "{f}: SQL {v}, API {api}");
    }
    // The per-day, per-store view adds up to the same sales and recharges.
    let per_store = pg.psql(
        "SELECT round(sum(sales), 2), round(sum(recharged_principal), 2), sum(refunds), \
         string_agg(DISTINCT store, ',') FROM tongka_daily_store",
    );
    assert_eq!(
        per_store,
        format!(
            "{}|{}|{}|store-1",
            l["sales"].as_str().unwrap(),
            l["recharged_principal"].as_str().unwrap(),
            l["refunds"]
        )
    );
}

/// A member, a recharge, two sales paid from the balance, one refunded.
fn business(n: &Node, tag: &str, phone: &str) {
    let id = n.member(phone, "报表会员");
    let (s, r) = n.post(
        &format!("/members/{id}/recharges"),
        json!({"amount": "1000", "tender": "cash"}),
        Some(&format!("{tag}-r")),
    );
    assert_eq!(s, 201, "{r}");
    let mut orders = Vec::new();
    for (i, price) in ["100.00", "38.50"].iter().enumerate() {
        let (s, o) = n.post(
            "/checkouts",
            json!({"member_id": id, "lines": [{"description": "咖啡", "unit_price": price, "qty": "1"}],
                   "tenders": [{"kind": "balance"}]}),
            Some(&format!("{tag}-c{i}")),
        );
        assert_eq!(s, 201, "{o}");
        orders.push(o["id"].as_str().unwrap().to_string());
    }
    let (s, f) = n.post(
        &format!("/orders/{}/refunds", orders[0]),
        json!({"reason": "退货"}),
        Some(&format!("{tag}-f")),
    );
    assert_eq!(s, 201, "{f}");
}

#[test]
fn ops_load_into_postgresql_resumably_and_the_figures_match() {
    let pg = Postgres::start();
    let node = Node::up();
    business(&node, "a", "13900001111");
    business(&node, "b", "13900002222");

    // First load, a few ops per request and per transaction, so it pages
    // and commits several times.
    let first = ops_held(&node);
    assert_eq!(load(&node, &pg, 4, 3), (first, first));
    assert_eq!(
        pg.psql("SELECT count(*) FROM tongka_ops"),
        first.to_string()
    );
    figures_agree(&node, &pg);
    assert_eq!(
        pg.psql("SELECT cursor FROM tongka_export_cursor"),
        format!("store-1.{first}")
    );
    assert_eq!(
        pg.psql("SELECT count(*) FROM tongka_ops WHERE length(bytes) = 0 OR length(hash) <> 64"),
        "0"
    );

    // More business: the next run loads only what is new.
    business(&node, "c", "13900003333");
    let second = ops_held(&node);
    assert!(second > first);
    assert_eq!(
        load(&node, &pg, 10_000, 1000),
        (second - first, second - first)
    );
    figures_agree(&node, &pg);
    // Nothing new: nothing received.
    assert_eq!(load(&node, &pg, 10_000, 1000), (0, 0));

    // The cursor lost: everything comes again, nothing is inserted twice.
    pg.psql("DELETE FROM tongka_export_cursor");
    assert_eq!(load(&node, &pg, 10_000, 7), (second, 0));
    assert_eq!(
        pg.psql("SELECT count(*) FROM tongka_ops"),
        second.to_string()
    );
    figures_agree(&node, &pg);
    assert_eq!(
        pg.psql("SELECT cursor FROM tongka_export_cursor"),
        format!("store-1.{second}")
    );
}
