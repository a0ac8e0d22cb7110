//! What `tongka sim` does, for trying the library directly:
//!
//! cargo run -p tongka-sim --example sim -- SCENARIO [SEED | A..B] [--html FILE]

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .expect("usage: sim SCENARIO [SEED | A..B] [--html FILE]");
    let sc = match tongka_sim::load_scenario(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let seeds = args.get(1).map_or("1", String::as_str);
    let html = args
        .iter()
        .position(|a| a == "--html")
        .and_then(|i| args.get(i + 1));
    if let Some((a, b)) = seeds.split_once("..") {
        let sum = tongka_sim::run_seeds(&sc, a.parse().unwrap()..b.parse().unwrap());
        print!("{}", sum.to_text());
        std::process::exit(i32::from(!sum.passed()));
    }
    let out = tongka_sim::run(&sc, seeds.parse().unwrap());
    print!("{}", out.to_text());
    if let Some(h) = html {
        std::fs::write(h, out.report.to_html()).unwrap();
    }
    std::process::exit(i32::from(out.violation.is_some()));
}
