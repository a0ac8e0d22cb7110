//! `cargo run --release -p tongka-bench --example hq_scale -- [members]
//! [orders] [stores] [requests]`: `tongka bench hq-scale` with the same
//! defaults (1,000,000 members, 10,000,000 orders, 5 stores, 20 requests),
//! built without the binary's crate. `TONGKA_BENCH_DIR` picks the file
//! system.

use tongka_bench::HqScaleOptions;

/// The allocator of the `tongka` binary, which runs these benchmarks as
/// `tongka bench …`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = HqScaleOptions::default();
    if let Some(v) = args.first() {
        opts.members = v.parse()?;
    }
    if let Some(v) = args.get(1) {
        opts.orders = v.parse()?;
    }
    if let Some(v) = args.get(2) {
        opts.stores = v.parse()?;
    }
    if let Some(v) = args.get(3) {
        opts.requests = v.parse()?;
    }
    if let Ok(d) = std::env::var("TONGKA_BENCH_DIR") {
        opts.data_dir = Some(d.into());
    }
    let report = tongka_bench::hq_scale(opts).await?;
    println!("{report}");
    Ok(())
}
