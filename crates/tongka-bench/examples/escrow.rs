//! `cargo run --release -p tongka-bench --example escrow -- [members]
//! [paced|back-to-back]`: the escrow benchmark with the defaults of
//! `tongka bench escrow`, until the binary calls it. `TONGKA_BENCH_DIR`
//! picks the file system.

use tongka_bench::EscrowBenchOptions;

/// The allocator of the `tongka` binary, which runs these benchmarks as
/// `tongka bench …`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = EscrowBenchOptions::default();
    if let Some(v) = args.first() {
        opts.members = v.parse()?;
    }
    match args.get(1).map(String::as_str) {
        None | Some("paced") => {}
        Some("back-to-back") => opts.back_to_back = true,
        Some(other) => anyhow::bail!("unknown pacing {other:?}: paced or back-to-back"),
    }
    if let Ok(d) = std::env::var("TONGKA_BENCH_DIR") {
        opts.data_dir = Some(d.into());
    }
    let report = tongka_bench::escrow(opts).await?;
    println!("{report}");
    Ok(())
}
