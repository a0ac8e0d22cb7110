//! The browser under the console tests: headless Debian Chromium through
//! chromedriver (fantoccini), and the helpers every console test uses to
//! act on the page. Each helper waits on a selector that only matches once
//! the page is in the expected state, never sleeps; an element the page
//! replaced while a helper acted on it is found afresh (`on_element`).

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::harness::{self, Node};

/// How long one wait for the page may take (generous: CI machines are small
/// and several browsers may start at once).
const WAIT: Duration = Duration::from_secs(30);

const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
];

fn capabilities() -> serde_json::Map<String, Value> {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": "/usr/bin/chromium", "args": CHROMIUM_ARGS }),
    );
    // Keep the page's console (errors, failed loads) for `js_errors`.
    caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    caps
}

/// chromedriver's browser log (`POST /session/{id}/se/log`): not in the
/// WebDriver standard, so fantoccini has no call for it. Each read returns
/// the entries since the last one.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type": "browser"}"#.into()))
    }
}

/// The errors the page's console reported: a module that failed to load
/// or to run, an uncaught exception, a `console.error`. A refusal or a lost
/// answer of the API is not one of them: the console shows those itself
/// (and the tests ask for them), though Chromium logs each as a failed load;
/// nor is the browser's own try for `/favicon.ico` (the node has none).
async fn js_errors(c: &Client) -> Vec<String> {
    let log = c.issue_cmd(BrowserLog).await.expect("read the browser log");
    log.as_array()
        .expect("log entries")
        .iter()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .filter(|m| {
            let failed_load = m.contains("Failed to load resource");
            !(failed_load && (m.contains("/api/v1/") || m.contains("/favicon.ico ")))
        })
        .collect()
}

fn screenshot_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("TONGKA_SCREENSHOTS")?);
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

pub(crate) async fn screenshot(c: &Client, name: &str) {
    let Some(dir) = screenshot_dir() else { return };
    match c.screenshot().await {
        Ok(png) => {
            let path = dir.join(format!("{name}.png"));
            std::fs::write(&path, png).expect("write screenshot");
            eprintln!("screenshot: {}", path.display());
        }
        Err(e) => eprintln!("screenshot {name} failed: {e}"),
    }
}

/// Runs `test` against a fresh headless Chromium. The browser session is
/// closed whatever happens; a failing test leaves `<name>-failure.png`.
pub(crate) fn with_browser(name: &str, test: impl AsyncFnOnce(&Client)) {
    // Not while a test's links come and go in the root namespace
    // (`netns::ROOT_LINKS` says why).
    let _links = crate::netns::ROOT_LINKS
        .read()
        .unwrap_or_else(|e| e.into_inner());
    let driver = harness::chromedriver();
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let client = rt.block_on(async {
        ClientBuilder::native()
            .capabilities(capabilities())
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("cannot start headless chromium via {}: {e}", driver.url))
    });
    // Whatever a test did, the page said nothing was wrong with it.
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            test(&client).await;
            let errors = js_errors(&client).await;
            assert!(errors.is_empty(), "the browser's console: {errors:#?}");
        })
    }));
    if outcome.is_err() {
        rt.block_on(screenshot(&client, &format!("{name}-failure")));
        // What the page's console said, for the failure's diagnosis (a
        // module that did not load leaves the page at auth=starting).
        if let Ok(log) = rt.block_on(client.issue_cmd(BrowserLog)) {
            eprintln!("{name}: the browser's console at the failure: {log}");
        }
    }
    let _ = rt.block_on(client.close());
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

pub(crate) fn dt(id: &str) -> String {
    format!(r#"[data-test="{id}"]"#)
}

/// What the page says about itself, for failure messages.
async fn page_state(c: &Client) -> String {
    let script = r#"
        const b = document.querySelector('#error-banner');
        const l = document.querySelector('#login-message');
        const js = performance.getEntriesByType('resource')
          .filter((e) => e.name.endsWith('.js'))
          .map((e) => `${e.name.split('/').pop()}:${e.responseStatus || 0}:${Math.round(e.duration)}ms`);
        return `auth=${document.body.dataset.auth} lang=${document.body.dataset.lang} ` +
          `banner=${b && !b.hidden ? b.innerText : '-'} login=${l && !l.hidden ? l.innerText : '-'} ` +
          `scripts loaded (${js.length}): ${js.join(' ')}`;
    "#;
    match c.execute(script, vec![]).await {
        Ok(v) => v.as_str().unwrap_or_default().to_string(),
        Err(e) => format!("(page state unavailable: {e})"),
    }
}

/// Waits until `selector` matches (which, for our attribute selectors, means
/// the page reached the expected state).
pub(crate) async fn wait_for(c: &Client, selector: &str) -> Element {
    match c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(selector))
        .await
    {
        Ok(el) => el,
        Err(e) => panic!(
            "waited {WAIT:?} for `{selector}`: {e}; page: {}",
            page_state(c).await
        ),
    }
}

/// Finds `selector` and acts on it with `act`. The console re-renders lists
/// when an answer arrives, so the element found can be replaced before `act`
/// reaches it (chromedriver's "stale element reference"); then it is found
/// afresh and `act` runs again, within the same `WAIT`. Any other error fails.
pub(crate) async fn on_element<T>(
    c: &Client,
    selector: &str,
    what: &str,
    act: impl AsyncFn(&Element) -> Result<T, CmdError>,
) -> T {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let el = wait_for(c, selector).await;
        match act(&el).await {
            Ok(v) => return v,
            Err(e) if e.is_stale_element_reference() && std::time::Instant::now() < deadline => {
                continue;
            }
            Err(e) => panic!("{what} `{selector}`: {e}; page: {}", page_state(c).await),
        }
    }
}

pub(crate) async fn fill(c: &Client, test_id: &str, text: &str) {
    on_element(c, &dt(test_id), "type into", async |el| {
        el.clear().await?;
        el.send_keys(text).await
    })
    .await
}

pub(crate) async fn click(c: &Client, test_id: &str) {
    on_element(c, &dt(test_id), "click", async |el| el.click().await).await
}

pub(crate) async fn select(c: &Client, test_id: &str, value: &str) {
    on_element(c, &dt(test_id), "select", async |el| {
        el.select_by_value(value).await
    })
    .await
}

pub(crate) async fn text(c: &Client, selector: &str) -> String {
    on_element(c, selector, "read the text of", async |el| el.text().await).await
}

/// The property `name` of the element `selector` matches (a field's value).
pub(crate) async fn prop(c: &Client, selector: &str, name: &str) -> Option<String> {
    on_element(c, selector, "read a property of", async |el| {
        el.prop(name).await
    })
    .await
}

/// The attribute `name` of the element `selector` matches.
pub(crate) async fn attr(c: &Client, selector: &str, name: &str) -> Option<String> {
    on_element(c, selector, "read an attribute of", async |el| {
        el.attr(name).await
    })
    .await
}

/// Opens the console with the token in the fragment and waits until it is
/// signed in.
pub(crate) async fn open_console(c: &Client, node: &Node) {
    c.goto(&format!("{}/#token={}", node.url, node.token))
        .await
        .expect("open the console");
    wait_for(c, r#"body[data-auth="app"]"#).await;
}

pub(crate) fn member_by_phone(node: &Node, phone: &str) -> Value {
    let (status, body) = node.get(&format!("/members?phone={phone}"));
    assert_eq!(status, 200, "member search: {body}");
    let list = body["members"].as_array().expect("members array");
    assert_eq!(
        list.len(),
        1,
        "exactly one member with phone {phone}: {body}"
    );
    list[0].clone()
}

pub(crate) fn member(node: &Node, id: &str) -> Value {
    let (status, body) = node.get(&format!("/members/{id}"));
    assert_eq!(status, 200, "get member {id}: {body}");
    body
}

/// Clicks whatever matches `selector` (waiting for it first).
pub(crate) async fn click_css(c: &Client, selector: &str) {
    on_element(c, selector, "click", async |el| el.click().await).await
}
