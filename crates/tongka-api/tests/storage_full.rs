//! Issue 12 ("answers without a machine code"): during a full disk
//! `/health` answered 200 while every write failed, and
//! `storage_unavailable` said `Retry-After: 1` when only a restart helps.
//!
//! The full disk is a file-size limit (RLIMIT_FSIZE) below the database's
//! size: the writer's next commit fails with EFBIG, as it would with
//! ENOSPC, without root or a small file system. The limit is the whole
//! process's, so this test is the only one of its binary; SIGXFSZ, which
//! would kill the process, is caught (a tokio signal listener) so the write
//! returns the error instead, as it does for a service that ignores it.

mod common;

use std::time::{Duration, Instant};

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_writer_makes_health_unavailable_without_retry_after() {
    let app = common::App::new();
    let (s, _) = app
        .send(
            "POST",
            "/api/v1/members",
            &json!({"phone": "13800000000", "name": "before"}),
            None,
        )
        .await;
    assert_eq!(s, 201, "the node takes writes before the disk fills");
    assert_eq!(
        app.call("GET", "/api/v1/health", vec![], None).await.status,
        200
    );

    let _xfsz = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(
        rustix::process::Signal::XFSZ.as_raw(),
    ))
    .expect("catch SIGXFSZ");
    let before = getrlimit(Resource::Fsize);
    setrlimit(
        Resource::Fsize,
        Rlimit {
            current: Some(4096),
            maximum: before.maximum,
        },
    )
    .expect("set a file-size limit");

    // Writes now fail; the first failure stops the writer for good.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut i = 0;
    let refused = loop {
        i += 1;
        let a = app
            .call(
                "POST",
                "/api/v1/members",
                json!({"phone": format!("139{i:08}"), "name": "x"})
                    .to_string()
                    .into_bytes(),
                None,
            )
            .await;
        if a.status.as_u16() != 201 {
            break a;
        }
        assert!(Instant::now() < deadline, "writes still succeed after {i}");
    };
    setrlimit(Resource::Fsize, before).expect("lift the file-size limit");

    assert_eq!(
        (refused.status.as_u16(), refused.error_code().as_deref()),
        (503, Some("storage_unavailable")),
        "{}",
        String::from_utf8_lossy(&refused.body)
    );
    assert!(
        refused.headers.get("retry-after").is_none(),
        "retrying does not help: no Retry-After"
    );
    let e = refused.json().unwrap();
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains("restart the node"), "{message}");
    assert!(
        e["error"]["message_zh"]
            .as_str()
            .unwrap()
            .contains("重启节点")
    );

    // Space is back, but the writer stopped: the node says it is not
    // healthy until it is restarted, and so does every write.
    let h = app.call("GET", "/api/v1/health", vec![], None).await;
    assert_eq!(
        (h.status.as_u16(), h.error_code().as_deref()),
        (503, Some("storage_unavailable")),
        "{}",
        String::from_utf8_lossy(&h.body)
    );
    assert!(h.headers.get("retry-after").is_none());
    let (s, e) = app
        .send(
            "POST",
            "/api/v1/members",
            &json!({"phone": "13700000000", "name": "after"}),
            None,
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (503, Some("storage_unavailable"))
    );
    // Reads still answer.
    let a = app
        .call("GET", "/api/v1/ledger/summary", vec![], None)
        .await;
    assert_eq!(a.status.as_u16(), 200);
}
