//! Same scenario and seed, same run, byte for byte; another seed, another run.

mod common;

#[test]
fn same_seed_same_report_text_and_html() {
    let sc = common::scenario("flapping");
    let a = tongka_sim::run(&sc, 42);
    let b = tongka_sim::run(&sc, 42);
    assert!(a.violation.is_none(), "{}", a.to_text());
    assert_eq!(a.report.to_text(), b.report.to_text());
    assert_eq!(a.report.to_html(), b.report.to_html());
    assert!(!a.report.digest.is_empty());
}

#[test]
fn another_seed_another_run() {
    let sc = common::scenario("small");
    let a = tongka_sim::run(&sc, 1).report;
    let b = tongka_sim::run(&sc, 2).report;
    assert_ne!(a.to_text(), b.to_text());
    assert_ne!(a.digest, b.digest);
}

#[test]
fn the_html_page_is_self_contained() {
    let sc = common::scenario("partition");
    let html = tongka_sim::run(&sc, 3).report.to_html();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<svg"));
    for external in ["<script", "src=\"http", "href=\"http", "<link"] {
        assert!(!html.contains(external), "{external}");
    }
}
