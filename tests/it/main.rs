//! End-to-end tests: real `tongka` processes, real redb files, real HTTP,
//! SIGKILL, and a real browser for the console. One test binary with
//! modules, so the suite links once.

mod api;
mod browser;
mod cards;
mod catalogue;
mod chain;
mod cli;
mod closes;
mod consistency;
mod console;
mod console_cards;
mod console_catalogue;
mod console_consistency;
mod console_coupons;
mod console_dashboard;
mod console_dayclose;
mod console_member_import;
mod console_reports;
mod console_settlement;
mod console_staff;
mod console_stock;
mod coupons;
mod crash;
mod escrow;
mod harness;
mod https;
mod member_code;
mod member_import;
mod merge;
mod metrics;
mod netns;
mod pgload;
mod points;
mod programme;
mod reports_more;
mod settlement;
mod staff;
mod stock;
