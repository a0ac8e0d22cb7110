//! The `tongka` binary: parses the command line and hands over to the
//! library crates. Nothing here decides anything.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tongka_config::{ChainNewOptions, NodeConfig};

/// mimalloc: requests allocate on one thread and free on another (actors,
/// the writer, its completion thread); it spends about a tenth less CPU per
/// checkout than the system allocator here.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "tongka",
    version,
    about = "通卡 tongka: one membership card for every store of a chain"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Quick start: one store node on embedded defaults, with its web console.
    Up {
        /// Where the node keeps its data (created if absent).
        #[arg(long, default_value = "./tongka-data")]
        data_dir: PathBuf,
        /// Address of the web console and HTTP API.
        #[arg(long, default_value = "127.0.0.1:8080")]
        http: SocketAddr,
    },
    /// Run one node from its configuration file.
    Run {
        #[arg(long)]
        config: PathBuf,
    },
    /// Create or grow a local chain (CA, node certificates, configs, tokens).
    Chain {
        #[command(subcommand)]
        command: ChainCommand,
    },
    /// A whole local chain: 3 stores and HQ replicating over QUIC, with
    /// sample members, recharges and sales; prints each console's URL.
    Demo {
        /// Where the demo chain lives (created on first run, reused after).
        #[arg(long, default_value = "./tongka-demo")]
        dir: PathBuf,
        /// Node i gets HTTP port P+i and QUIC port P+100+i.
        #[arg(long, default_value_t = tongka_config::DEFAULT_BASE_PORT)]
        base_port: u16,
    },
    /// The partition simulator: runs a whole chain from a scenario file,
    /// checks the invariants, prints the report; exits non-zero when an
    /// invariant breaks.
    Sim {
        /// The scenario (TOML; examples in simulations/scenarios/).
        #[arg(long)]
        scenario: PathBuf,
        /// One seed.
        #[arg(long, conflicts_with = "seeds")]
        seed: Option<u64>,
        /// Many seeds, `A..B` (B excluded).
        #[arg(long)]
        seeds: Option<String>,
        /// Also write the report as an HTML page (with --seed).
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Benchmarks that print figures.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum ChainCommand {
    /// Create a chain of N stores (and HQ) under DIR.
    New {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        stores: u16,
        /// Also create the HQ node.
        #[arg(long)]
        hq: bool,
        /// Node i gets HTTP port P+i and QUIC port P+100+i.
        #[arg(long, default_value_t = tongka_config::DEFAULT_BASE_PORT)]
        base_port: u16,
        /// Serve HTTPS: a host name or IP address tills use to reach the
        /// nodes (repeat for each); each node gets a certificate for them
        /// signed by the chain CA. None: plain HTTP.
        #[arg(long = "https-host", value_name = "NAME_OR_IP")]
        https_hosts: Vec<String>,
    },
    /// Issue a certificate and config for a new store of an existing chain.
    AddStore {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        name: String,
        /// Serve HTTPS: a host name or IP address tills use to reach the
        /// store (repeat for each); it gets a certificate for them signed
        /// by the chain CA. None: plain HTTP.
        #[arg(long = "https-host", value_name = "NAME_OR_IP")]
        https_hosts: Vec<String>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Ops/s applied durably by a store that rejoins after missing many ops
    /// (two real nodes over QUIC on loopback).
    Catchup {
        /// Ops the rejoining store has missed.
        #[arg(long, default_value_t = 500_000)]
        ops: usize,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Latency of a sale at one store paid from a balance held at another
    /// (an escrow transfer over QUIC), beside a local sale.
    Escrow {
        #[arg(long, default_value_t = 1000)]
        members: usize,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Resident memory and start-up time of a node holding many members
    /// (the node runs as a child process of this binary).
    Memory {
        #[arg(long, default_value_t = 1_000_000)]
        members: usize,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// What profiles as automerge documents cost: saved and resident size
    /// of a document, time of a profile op, and a node's memory while many
    /// members' profiles are edited.
    Profiles {
        #[arg(long, default_value_t = 5000)]
        documents: usize,
        #[arg(long, default_value_t = 5000)]
        edits: usize,
        #[arg(long, default_value_t = 20_000)]
        members: usize,
    },
    /// A member import through the HTTP route on one fresh store: the dry
    /// run, the import and the same file again, timed; rows/s and the
    /// total for the file (100,000 members by default).
    Import {
        #[arg(long, default_value_t = 100_000)]
        members: usize,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Leave ops unsigned (by default signed, as a chain node signs them).
        #[arg(long)]
        unsigned: bool,
    },
    /// Barcode checkouts of five stocked lines (stock moved in the sale's
    /// commit) against plain checkouts on one fresh node, in alternating
    /// rounds: durable checkouts/s of both and their ratio.
    Stock {
        #[arg(long, default_value_t = 1000)]
        members: usize,
        #[arg(long, default_value_t = 256)]
        clients: usize,
        /// Checkouts of each kind, over all rounds.
        #[arg(long, default_value_t = 40_000)]
        checkouts: usize,
        #[arg(long, default_value_t = 4)]
        rounds: usize,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Leave ops unsigned (by default signed, as a chain node signs them).
        #[arg(long)]
        unsigned: bool,
    },
    /// An HQ node holding a chain's year (members, orders, recharges,
    /// refunds, share transfers of several stores, received through the op
    /// path HQ takes): generation rate, database size, and how long each
    /// report, the consistency report, metrics and the dashboard take.
    /// The database needs about 2 KB of disk per op: 20–25 GB at the
    /// defaults.
    HqScale {
        #[arg(long, default_value_t = 1_000_000)]
        members: usize,
        /// Sales (member and walk-in).
        #[arg(long, default_value_t = 10_000_000)]
        orders: usize,
        #[arg(long, default_value_t = 5)]
        stores: u16,
        /// Timed requests per endpoint.
        #[arg(long, default_value_t = 20)]
        requests: usize,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Durable checkouts per second and latency, against raw redb commits.
    Checkout {
        /// `actor` (engine in process, no HTTP) or `http` (the HTTP API).
        #[arg(long, default_value = "actor")]
        layer: tongka_bench::Layer,
        #[arg(long, default_value_t = 1000)]
        members: usize,
        #[arg(long, default_value_t = 256)]
        clients: usize,
        #[arg(long, default_value_t = 100_000)]
        checkouts: usize,
        /// Where the benchmark's databases go (default: the system temp dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Benchmark a running node at this URL instead (with --layer http).
        #[arg(long)]
        url: Option<String>,
        /// Bearer token for --url.
        #[arg(long)]
        token: Option<String>,
        /// Leave ops unsigned (by default they are signed with an Ed25519
        /// chain key, as a chain node signs them).
        #[arg(long)]
        unsigned: bool,
        /// Also run the same checkouts each using one coupon (actor
        /// layer), in this run, and print the ratio of the two rates.
        #[arg(long)]
        coupon: bool,
    },
}

fn init_tracing() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("TONGKA_LOG").unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// A panic means a broken assumption: abort, and let the restart come back
/// from durable state, rather than limp on.
fn abort_on_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        std::process::abort();
    }));
}

/// Completes on Ctrl-C or SIGTERM. On unix the handlers are installed
/// here, at once, not when the future is first polled: a SIGTERM sent just
/// after the node says it is up (before the server task ran) then stops it
/// cleanly instead of killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn print_ready(s: &tongka_node::Started) {
    println!("通卡 tongka node {} is up", s.node);
    // The token itself is never printed: stdout often ends up in a log.
    println!("  console / 控制台:  {}", s.console_url());
    println!(
        "  admin token:       in {} (for scripts; the console's first run asks for it once to create the first account: cat {})",
        s.token_file.display(),
        s.token_file.display()
    );
    println!(
        "  管理令牌:          保存在 {}（首次打开控制台时用它创建首位管理员）",
        s.token_file.display()
    );
    println!(
        "  API:               {}api/v1/ (Authorization: Bearer <token>)",
        s.console_url()
    );
    println!("  data:              {}", s.data_dir.display());
    println!("Ctrl-C stops the node.");
}

/// What a till needs to trust a chain's HTTPS certificates.
fn print_https_hint(dir: &std::path::Path) {
    let ca = dir.join(tongka_config::CA_CERT_FILE);
    println!(
        "HTTPS: tills trust the nodes once they trust the chain CA {} (README, \
         \"HTTPS on the shop's LAN\"); {} stays at HQ.",
        ca.display(),
        dir.join(tongka_config::CA_KEY_FILE).display()
    );
    println!(
        "HTTPS: 收银机信任连锁根证书 {} 后即可访问；根私钥只留在总部。",
        ca.display()
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing();
    match cli.command {
        Command::Up { data_dir, http } => {
            abort_on_panic();
            let config = NodeConfig::quick_start(data_dir, http);
            tongka_node::run(config, shutdown_signal(), print_ready).await
        }
        Command::Run { config } => {
            abort_on_panic();
            let config = NodeConfig::load(&config)?;
            tongka_node::run(config, shutdown_signal(), print_ready).await
        }
        Command::Sim {
            scenario,
            seed,
            seeds,
            html,
        } => {
            let sc = tongka_sim::load_scenario(&scenario)?;
            tongka_sim::keep_freed_memory();
            if let Some(range) = seeds {
                let (a, b) = range.split_once("..").context("--seeds takes A..B")?;
                let (a, b): (u64, u64) = (a.trim().parse()?, b.trim().parse()?);
                anyhow::ensure!(a < b, "--seeds A..B needs A < B");
                let summary = tongka_sim::run_seeds(&sc, a..b);
                print!("{}", summary.to_text());
                if !summary.passed() {
                    std::process::exit(1);
                }
                return Ok(());
            }
            let seed = seed.unwrap_or(1);
            let outcome = tongka_sim::run_last(&sc, seed);
            print!("{}", outcome.to_text());
            if let Some(path) = html {
                std::fs::write(&path, outcome.report.to_html())
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("report page: {}", path.display());
            }
            if outcome.violation.is_some() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Demo { dir, base_port } => {
            abort_on_panic();
            tongka_node::demo(&dir, base_port, shutdown_signal(), |nodes| {
                println!(
                    "通卡 tongka demo chain is up ({} nodes, data in {})",
                    nodes.len(),
                    dir.display()
                );
                for s in nodes {
                    println!(
                        "  {:<8} console {}  admin token in {}",
                        s.node,
                        s.console_url(),
                        s.token_file.display()
                    );
                }
                println!(
                    "Members recharged at one store can pay at any other. Ctrl-C stops the demo."
                );
            })
            .await
        }
        Command::Chain {
            command:
                ChainCommand::New {
                    dir,
                    stores,
                    hq,
                    base_port,
                    https_hosts,
                },
        } => {
            let manifest = tongka_config::chain_new(&ChainNewOptions {
                dir: dir.clone(),
                stores,
                hq,
                base_port,
                https_hosts,
            })?;
            println!("chain created in {}", dir.display());
            for n in &manifest.nodes {
                println!(
                    "  {:<10} {:<5} {}  quic {}  tongka run --config {}",
                    n.name,
                    n.role.as_str(),
                    n.console_url(),
                    n.quic,
                    dir.join(&n.config).display()
                );
            }
            if manifest.nodes.iter().any(|n| n.https) {
                print_https_hint(&dir);
            }
            Ok(())
        }
        Command::Chain {
            command:
                ChainCommand::AddStore {
                    dir,
                    name,
                    https_hosts,
                },
        } => {
            let n = tongka_config::add_store_with_https(&dir, &name, &https_hosts)?;
            println!(
                "store {} added: {} quic {}; start it with: tongka run --config {}",
                n.name,
                n.console_url(),
                n.quic,
                dir.join(&n.config).display()
            );
            if n.https {
                print_https_hint(&dir);
            }
            Ok(())
        }
        Command::Bench {
            command: BenchCommand::Catchup { ops, data_dir },
        } => {
            let opts = tongka_bench::CatchupBenchOptions {
                ops,
                data_dir,
                progress: true,
                ..Default::default()
            };
            println!(
                "{}",
                tongka_bench::catchup(opts)
                    .await
                    .context("catch-up benchmark")?
            );
            Ok(())
        }
        Command::Bench {
            command: BenchCommand::Escrow { members, data_dir },
        } => {
            let opts = tongka_bench::EscrowBenchOptions {
                members,
                data_dir,
                progress: true,
                ..Default::default()
            };
            println!(
                "{}",
                tongka_bench::escrow(opts)
                    .await
                    .context("escrow benchmark")?
            );
            Ok(())
        }
        Command::Bench {
            command:
                BenchCommand::Profiles {
                    documents,
                    edits,
                    members,
                },
        } => {
            let opts = tongka_bench::ProfileBenchOptions {
                documents,
                edits,
                members,
            };
            println!(
                "{}",
                tongka_bench::profiles(opts)
                    .await
                    .context("profiles benchmark")?
            );
            Ok(())
        }
        Command::Bench {
            command: BenchCommand::Memory { members, data_dir },
        } => {
            let binary = std::env::current_exe().ok();
            let opts = tongka_bench::MemoryBenchOptions {
                members,
                data_dir,
                binary,
                progress: true,
                ..Default::default()
            };
            println!(
                "{}",
                tongka_bench::memory(opts)
                    .await
                    .context("memory benchmark")?
            );
            Ok(())
        }
        Command::Bench {
            command:
                BenchCommand::Import {
                    members,
                    data_dir,
                    unsigned,
                },
        } => {
            let opts = tongka_bench::ImportBenchOptions {
                members,
                data_dir,
                unsigned,
            };
            let report = tongka_bench::import(opts)
                .await
                .context("member import benchmark")?;
            println!("{report}");
            Ok(())
        }
        Command::Bench {
            command:
                BenchCommand::Stock {
                    members,
                    clients,
                    checkouts,
                    rounds,
                    data_dir,
                    unsigned,
                },
        } => {
            let opts = tongka_bench::StockBenchOptions {
                members,
                clients,
                checkouts,
                rounds,
                data_dir,
                unsigned,
            };
            let report = tongka_bench::stock(opts)
                .await
                .context("stock checkout benchmark")?;
            println!("{report}");
            Ok(())
        }
        Command::Bench {
            command:
                BenchCommand::HqScale {
                    members,
                    orders,
                    stores,
                    requests,
                    data_dir,
                },
        } => {
            let opts = tongka_bench::HqScaleOptions {
                members,
                orders,
                stores,
                requests,
                data_dir,
                progress: true,
            };
            let report = tongka_bench::hq_scale(opts)
                .await
                .context("HQ scale benchmark")?;
            println!("{report}");
            Ok(())
        }
        Command::Bench {
            command:
                BenchCommand::Checkout {
                    layer,
                    members,
                    clients,
                    checkouts,
                    data_dir,
                    url,
                    token,
                    unsigned,
                    coupon,
                },
        } => {
            let opts = tongka_bench::CheckoutBenchOptions {
                layer,
                members,
                clients,
                checkouts,
                data_dir,
                http_url: url,
                token,
                unsigned,
                coupon: false,
            };
            let with_coupon = coupon.then(|| tongka_bench::CheckoutBenchOptions {
                coupon: true,
                ..opts.clone()
            });
            let report = tongka_bench::checkout(opts)
                .await
                .context("checkout benchmark")?;
            println!("{report}");
            if let Some(opts) = with_coupon {
                let coupon = tongka_bench::checkout(opts)
                    .await
                    .context("checkout benchmark with a coupon")?;
                println!("\nthe same checkouts, each using one coupon:\n{coupon}");
                println!("\n{}", tongka_bench::coupon_ratio(&report, &coupon));
            }
            Ok(())
        }
    }
}
