//! Times a scenario: simulated ops per second of wall time, and the share
//! of spends served during partitions.
//!
//! cargo run --release -p tongka-sim --example bench -- simulations/scenarios/chain20.toml [seed]

/// The allocator `tongka` itself uses, so the figures match `tongka sim`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "simulations/scenarios/chain20.toml".into());
    let seed: u64 = args
        .next()
        .map_or(1, |s| s.parse().expect("seed is a number"));
    let sc = match tongka_sim::load_scenario(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    tongka_sim::keep_freed_memory();
    let b = tongka_sim::bench(&sc, seed);
    print!("{}", b.to_text());
    if std::env::var_os("SIM_REPORT").is_some() {
        print!("{}", b.report.to_text());
    }
    if b.violation.is_some() {
        std::process::exit(1);
    }
}
