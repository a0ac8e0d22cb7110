//! The console's files as the node serves them: every file of `console/`
//! but the page is served under `/console/`, from the binary, byte for byte,
//! each module with a JavaScript MIME type (a browser runs no module served
//! with another) and the style sheet as CSS; every module a module imports
//! is one of them; and any other name, a path traversal included, is
//! `404 not_found` and nothing else.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::App;
use serde_json::json;

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The files of `console/` but the page, and the vendored scripts of
/// `console/vendor/` (served under `/console/` by their name; the licences
/// and README beside them are not served), by name.
fn console_files() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
    let names = |dir: &Path| -> Vec<(String, bool)> {
        std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| {
                let e = e.expect("directory entry");
                let is_dir = e.file_type().expect("file type").is_dir();
                (e.file_name().into_string().expect("UTF-8 name"), is_dir)
            })
            .collect()
    };
    let mut files: BTreeSet<String> = names(&dir)
        .into_iter()
        .filter(|(n, is_dir)| n != "index.html" && !is_dir)
        .map(|(n, _)| n)
        .collect();
    for (n, _) in names(&dir.join("vendor")) {
        if n.ends_with(".js") {
            assert!(files.insert(n.clone()), "vendor/{n} shadows console/{n}");
        }
    }
    files
}

fn source(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
    std::fs::read(dir.join(name))
        .or_else(|_| std::fs::read(dir.join("vendor").join(name)))
        .expect("read console file")
}

/// The module specifiers of `import … from '…'` in a module's text.
fn imports(text: &str) -> Vec<&str> {
    text.split(" from '")
        .skip(1)
        .map(|rest| rest.split('\'').next().expect("closing quote"))
        .collect()
}

#[tokio::test]
async fn every_console_file_is_served_with_its_type() {
    let app = App::new();
    let files = console_files();
    let mut modules = 0;
    for name in &files {
        // Open, like the page: no token.
        let a = app
            .raw("GET", &format!("/console/{name}"), &[], Vec::new())
            .await;
        assert_eq!(a.status, 200, "{name}");
        assert_eq!(a.body, source(name), "{name}: served as in console/");
        if name.ends_with(".js") {
            modules += 1;
            assert_eq!(a.content_type(), JS, "{name}");
            let text = std::str::from_utf8(&a.body).expect("UTF-8 module");
            for spec in imports(text) {
                let file = spec
                    .strip_prefix("./")
                    .unwrap_or_else(|| panic!("{name} imports {spec:?}: only ./ modules"));
                assert!(files.contains(file), "{name} imports {spec}: not served");
            }
        } else if name.ends_with(".css") {
            assert_eq!(a.content_type(), CSS, "{name}");
        } else {
            panic!("console/{name}: neither a module nor a style sheet");
        }
    }
    assert!(modules >= 10, "one module per screen: {files:?}");

    // The two named routes serve the same files.
    for (path, ct) in [("/console/app.js", JS), ("/console/app.css", CSS)] {
        let a = app.raw("GET", path, &[], Vec::new()).await;
        assert_eq!((a.status.as_u16(), a.content_type()), (200, ct), "{path}");
    }
    // The page loads the entry as a module, and nothing from elsewhere.
    let page = app.raw("GET", "/", &[], Vec::new()).await;
    let page = String::from_utf8(page.body).expect("UTF-8 page");
    assert!(
        page.contains(r#"<script type="module" src="/console/app.js"></script>"#),
        "the page loads app.js as a module"
    );
    assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("//cdn"));
}

#[tokio::test]
async fn any_other_name_is_not_found_and_nothing_else() {
    let app = App::new();
    let long = format!("/console/{}.js", "a".repeat(10_000));
    let paths = [
        "/console/../Cargo.toml",
        "/console/../src/lib.rs",
        "/console/%2e%2e/x",
        "/console/%2e%2e%2fCargo.toml",
        "/console/..%2fCargo.toml",
        "/console/..%5cCargo.toml",
        "/console/..",
        "/console/.",
        "/console/",
        "/console/index.html",
        "/console/nope.js",
        "/console/APP.JS",
        "/console/app%2ejs",
        "/console/app.js/",
        "/console/app.js%00",
        "/console/%00",
        "/console/%0a",
        "/console/app.js%0d%0aSet-Cookie:%20x=1",
        "/console/%ff%fe",
        "/console/app.js/../../Cargo.toml",
        long.as_str(),
    ];
    let not_found = json!({"error": {
        "code": "not_found", "message": "no such endpoint", "message_zh": "接口不存在",
    }});
    let bearer = format!("Bearer {}", common::TOKEN);
    for path in paths {
        for headers in [vec![], vec![("authorization", bearer.as_str())]] {
            let a = app.raw("GET", path, &headers, Vec::new()).await;
            let what = &path[..path.len().min(60)];
            assert_eq!(a.status, 404, "{what}");
            assert!(
                a.content_type().starts_with("application/json"),
                "{what}: {}",
                a.content_type()
            );
            assert_eq!(a.json(), Some(not_found.clone()), "{what}");
            assert!(a.headers.get("set-cookie").is_none(), "{what}");
        }
    }
}
