//! `cargo run --release -p tongka-bench --example memory -- [members]
//! [touches] [checkouts] [path/to/tongka]`: the memory benchmark with the
//! defaults of `tongka bench memory`, until the binary calls it. Without a
//! path it starts `target/release/tongka` (build it first:
//! `cargo build --release -p tongka`). `TONGKA_BENCH_DIR` picks the file
//! system.

use tongka_bench::MemoryBenchOptions;

/// The allocator of the `tongka` binary, which runs these benchmarks as
/// `tongka bench …`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = MemoryBenchOptions::default();
    if let Some(v) = args.first() {
        opts.members = v.parse()?;
    }
    if let Some(v) = args.get(1) {
        opts.touches = v.parse()?;
    }
    if let Some(v) = args.get(2) {
        opts.checkouts = v.parse()?;
    }
    opts.binary = args.get(3).map(Into::into);
    if let Ok(d) = std::env::var("TONGKA_BENCH_DIR") {
        opts.data_dir = Some(d.into());
    }
    let report = tongka_bench::memory(opts).await?;
    println!("{report}");
    Ok(())
}
