//! Prints the derived OpenAPI document's size and how long building it
//! takes (a one-off per process: the node builds it on first request and
//! serves it from memory). `cargo run -p tongka-api --example openapi_cost`;
//! with `--print`, writes the document to stdout instead.

use std::time::Instant;

fn main() {
    if std::env::args().any(|a| a == "--print") {
        println!("{}", tongka_api::openapi::json());
        return;
    }
    let t = Instant::now();
    let doc = tongka_api::openapi::document().to_string();
    let first = t.elapsed();
    let runs = 50;
    let t = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(tongka_api::openapi::document().to_string());
    }
    let each = t.elapsed() / runs;
    println!(
        "document: {} bytes; first build {} µs, then {} µs a build (mean of {runs}); served from memory after the first",
        doc.len(),
        first.as_micros(),
        each.as_micros()
    );
}
