//! `cargo run --release -p tongka-bench --example checkout -- [actor|http]
//! [members] [clients] [checkouts] [url] [token]`: the checkout benchmark
//! with the defaults of `tongka bench checkout`, until the binary calls it.

use tongka_bench::{CheckoutBenchOptions, Layer};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = CheckoutBenchOptions::default();
    if let Some(l) = args.first() {
        opts.layer = l.parse::<Layer>().map_err(anyhow::Error::msg)?;
    }
    if let Some(v) = args.get(1) {
        opts.members = v.parse()?;
    }
    if let Some(v) = args.get(2) {
        opts.clients = v.parse()?;
    }
    if let Some(v) = args.get(3) {
        opts.checkouts = v.parse()?;
    }
    opts.http_url = args.get(4).cloned();
    opts.token = args.get(5).cloned();
    if let Ok(d) = std::env::var("TONGKA_BENCH_DIR") {
        opts.data_dir = Some(d.into());
    }
    let report = tongka_bench::checkout(opts).await?;
    println!("{report}");
    Ok(())
}
