//! `cargo run --release -p tongka-bench --example catchup -- [ops]
//! [recharges_per_member] [sales_per_member]`: the catch-up benchmark with
//! the defaults of `tongka bench catchup`, until the binary calls it.
//! `TONGKA_BENCH_DIR` picks the file system.

use tongka_bench::CatchupBenchOptions;

/// The allocator of the `tongka` binary, which runs these benchmarks as
/// `tongka bench …`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = CatchupBenchOptions::default();
    if let Some(v) = args.first() {
        opts.ops = v.parse()?;
    }
    if let Some(v) = args.get(1) {
        opts.recharges_per_member = v.parse()?;
    }
    if let Some(v) = args.get(2) {
        opts.sales_per_member = v.parse()?;
    }
    if let Ok(d) = std::env::var("TONGKA_BENCH_DIR") {
        opts.data_dir = Some(d.into());
    }
    let report = tongka_bench::catchup(opts).await?;
    println!("{report}");
    Ok(())
}
