//! Stock across the chain, end to end (issue 14): a transfer shipped at
//! store-1 is received at store-2 while store-2 is cut off from the rest of
//! the chain, store-2 is SIGKILLed right after the receipt is answered and
//! restarted on its data directory, and after the heal every node holds
//! the same stock with the goods neither lost nor counted twice. Real
//! processes, real QUIC, real redb files.
//!
//! Two partitions, one scenario:
//! - `…_link_down_…`: each node in its own network namespace and store-2's
//!   link to the chain LAN taken down (`netns::NetChain`; needs root and
//!   iproute2, skipped only by `TONGKA_SKIP_NETNS=1`, as the netns test);
//! - `…_stopped_peers_…`: on loopback, store-1 and HQ SIGSTOPped, which
//!   cuts store-2 off without root.
//!
//! Hand-computed expectations (cola counted in pieces, rice measured in kg):
//!
//! ```text
//! store-1 stocks in   10 cola @ 2.50 = 25.00      4 kg rice @ 6.00 = 24.00   chain 49.00
//! store-1 ships        6 cola  (15.00)          1.5 kg rice  (9.00)   to store-2
//!   in transit         6 cola                   1.5 kg rice            chain 49.00
//! store-2 receives     5 cola (1 short, 2.50)   1.5 kg rice
//!   store-1            4 cola  10.00            2.5 kg  15.00
//!   store-2            5 cola  12.50            1.5 kg   9.00          chain 46.50
//! store-2 sells        1 cola by barcode -> 4 cola 10.00                chain 44.00
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Chain, Node, signal, try_wait_for, wait_for};
use crate::netns::NetChain;

/// How long the chain may take to converge after the heal: the QUIC idle
/// timeout (5 s) for a side to notice, re-dial back-off of at most 2 s,
/// and milliseconds for the few ops; the bound is a deadline for a loaded
/// machine, not a wait.
const CONVERGE: Duration = Duration::from_secs(30);

/// How long store-2 may take to notice that it is cut off (idle timeout
/// 5 s, plus margin).
const NOTICE: Duration = Duration::from_secs(20);

/// How long a write may take to reach the other nodes while connected.
const REPLICATE: Duration = Duration::from_secs(20);

const COLA_BARCODE: &str = "6901234560015";

/// How store-2 is cut off from store-1 and HQ.
#[derive(Clone, Copy)]
enum Cut<'a> {
    /// Store-2's link to the chain LAN goes down.
    Link(&'a crate::netns::Net),
    /// Store-1 and HQ are stopped (SIGSTOP) and continued.
    Stop,
}

/// A quantity's text in thousandths (quantities have at most 3 places).
fn milli(v: &Value) -> i64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("decimal text, got {v}"));
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    assert!(frac.len() <= 3, "{s}: more than 3 places");
    let m = whole.parse::<i64>().unwrap() * 1000 + format!("{frac:0<3}").parse::<i64>().unwrap();
    if neg { -m } else { m }
}

/// Milli-units of a count of pieces or kilograms.
const fn units(n: i64) -> i64 {
    n * 1000
}

/// One sku as a node sees it chain-wide: on hand per store, in transit,
/// and recorded short (shipped minus received on received transfers).
#[derive(Debug, PartialEq, Eq)]
struct SkuView {
    on_hand: BTreeMap<String, i64>,
    in_transit: i64,
    short: i64,
}

impl SkuView {
    fn total(&self) -> i64 {
        self.on_hand.values().sum::<i64>() + self.in_transit + self.short
    }
}

fn sku_view(node: &Node, sku: &str) -> SkuView {
    let (s, stock) = node.get(&format!("/stock?sku={sku}"));
    assert_eq!(s, 200, "{stock}");
    let on_hand = stock["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["store"].as_str().unwrap().to_string(),
                milli(&i["on_hand"]),
            )
        })
        .collect();
    let (s, ts) = node.get("/transfers");
    assert_eq!(s, 200, "{ts}");
    let (mut in_transit, mut short) = (0, 0);
    for t in ts["transfers"].as_array().unwrap() {
        for l in t["lines"].as_array().unwrap() {
            if l["sku"] != sku {
                continue;
            }
            match t["status"].as_str().unwrap() {
                "in_transit" => in_transit += milli(&l["shipped"]),
                "received" => short += milli(&l["shipped"]) - milli(&l["received"]),
                other => panic!("status {other}: {t}"),
            }
        }
    }
    SkuView {
        on_hand,
        in_transit,
        short,
    }
}

/// `store`'s on hand of `sku` as `node` holds it, in thousandths (0 when
/// it has none).
fn on_hand(node: &Node, store: &str, sku: &str) -> i64 {
    let (s, v) = node.get(&format!("/stock?store={store}&sku={sku}"));
    assert_eq!(s, 200, "{v}");
    v["items"]
        .as_array()
        .unwrap()
        .first()
        .map_or(0, |i| milli(&i["on_hand"]))
}

fn transfer_status(node: &Node, id: &str) -> Option<String> {
    let (s, t) = node.get(&format!("/transfers/{id}"));
    (s == 200).then(|| t["transfer"]["status"].as_str().unwrap().to_string())
}

fn name(node: &Node) -> String {
    node.get("/sync/status").1["node"]
        .as_str()
        .expect("node name")
        .to_string()
}

/// Whether `node` sees any peer connected.
fn any_connected(node: &Node) -> bool {
    let (_, s) = node.get("/sync/status");
    s["peers"]
        .as_array()
        .is_some_and(|p| p.iter().any(|x| x["connected"] == true))
}

/// A node's `GET /stock/value`: each store's value (a store with no stock
/// yet may be absent or at 0.00), in transit, and the chain's total.
fn value(node: &Node) -> (BTreeMap<String, String>, String, String) {
    let (s, v) = node.get("/stock/value");
    assert_eq!(s, 200, "{v}");
    let stores = v["stores"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["value"] != "0.00")
        .map(|x| {
            (
                x["store"].as_str().unwrap().to_string(),
                x["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let text = |k: &str| {
        v[k].as_str()
            .unwrap_or_else(|| panic!("{k}: {v}"))
            .to_string()
    };
    (stores, text("in_transit"), text("chain"))
}

fn expected_value(
    stores: &[(&str, &str)],
    in_transit: &str,
    chain: &str,
) -> (BTreeMap<String, String>, String, String) {
    (
        stores
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        in_transit.into(),
        chain.into(),
    )
}

/// The scenario on a connected chain of store-1, store-2 and HQ
/// (`nodes[0..3]`, in that order).
fn transfer_across_a_partition_and_a_restart(chain: &mut Chain, cut: Cut<'_>) {
    let started = Instant::now();
    let all = [0, 1, 2];
    assert_eq!(
        chain.nodes.iter().map(name).collect::<Vec<_>>(),
        ["store-1", "store-2", "hq"]
    );

    // 1. HQ adds the products; store-1 stocks them in.
    {
        let hq = &chain.nodes[2];
        let (s, p) = hq.put(
            "/products/cola",
            json!({"name": "可口可乐 Cola 330ml", "barcode": COLA_BARCODE, "price": "3.50"}),
        );
        assert_eq!((s, &p["unit"]), (200, &json!("whole")), "{p}");
        let (s, p) = hq.put(
            "/products/rice",
            json!({"name": "散装大米 Rice", "price": "6.80", "unit": "measured", "unit_label": "kg"}),
        );
        assert_eq!((s, &p["unit"]), (200, &json!("measured")), "{p}");
    }
    for i in [0, 1] {
        wait_for("the products at the stores", REPLICATE, || {
            let n = &chain.nodes[i];
            n.get("/products/cola").0 == 200 && n.get("/products/rice").0 == 200
        });
    }
    // And durable there: a store resolves a stock line's barcode from its
    // redb table, written at the commit, while `GET /products` reads the
    // catalogue held in memory, updated before (see
    // `stock_in_by_barcode_as_soon_as_the_product_is_readable`).
    chain.wait_converged(&all, CONVERGE);
    let [s1, s2, hq] = [&chain.nodes[0], &chain.nodes[1], &chain.nodes[2]];
    let (s, o) = s1.post(
        "/stock/in",
        json!({"supplier": "可口可乐华东", "note": "周一到货", "lines": [
            {"barcode": COLA_BARCODE, "qty": "10", "unit_cost": "2.50"},
            {"sku": "rice", "qty": "4", "unit_cost": "6.00"},
        ]}),
        Some("in-1"),
    );
    assert_eq!((s, &o["kind"]), (201, &json!("stock_in")), "{o}");
    assert_eq!(on_hand(s1, "store-1", "cola"), units(10));
    assert_eq!(on_hand(s1, "store-1", "rice"), units(4));

    // 2. Store-1 ships 6 cola and 1.5 kg of rice to store-2.
    let (s, o) = s1.post(
        "/transfers",
        json!({"to": "store-2", "note": "补货", "lines": [
            {"sku": "cola", "qty": "6"},
            {"sku": "rice", "qty": "1.5"},
        ]}),
        Some("ship-1"),
    );
    assert_eq!((s, &o["kind"]), (201, &json!("transfer_shipped")), "{o}");
    let id = o["transfer"]["id"]
        .as_str()
        .expect("transfer id")
        .to_string();
    assert_eq!(o["transfer"]["status"], "in_transit", "{o}");
    assert_eq!(o["transfer"]["from"], "store-1");
    assert_eq!(o["transfer"]["to"], "store-2");
    let shipped: Vec<(String, i64, Value, Value)> = o["transfer"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["sku"].as_str().unwrap().to_string(),
                milli(&l["shipped"]),
                l["received"].clone(),
                l["value"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shipped,
        [
            ("cola".into(), units(6), Value::Null, json!("15.00")),
            ("rice".into(), 1500, Value::Null, json!("9.00")),
        ]
    );
    // In transit at both ends (and at HQ) once replicated; chain-wide on
    // hand plus in transit is what came in.
    for n in [s2, hq] {
        wait_for("the shipment replicated", REPLICATE, || {
            transfer_status(n, &id).as_deref() == Some("in_transit")
        });
    }
    chain.wait_converged(&all, CONVERGE);
    for n in [s1, s2, hq] {
        assert_eq!(transfer_status(n, &id).as_deref(), Some("in_transit"));
        let cola = sku_view(n, "cola");
        assert_eq!(
            cola,
            SkuView {
                on_hand: [("store-1".into(), units(4))].into(),
                in_transit: units(6),
                short: 0,
            }
        );
        assert_eq!(cola.total(), units(10));
        let rice = sku_view(n, "rice");
        assert_eq!(
            (rice.in_transit, rice.total()),
            (1500, units(4)),
            "{rice:?}"
        );
        assert_eq!(
            value(n),
            expected_value(&[("store-1", "25.00")], "24.00", "49.00")
        );
    }
    println!("shipped and replicated: {:?}", started.elapsed());

    // 3. Store-2 is cut off from store-1 and HQ.
    match cut {
        Cut::Link(net) => net.link(2, false),
        Cut::Stop => {
            signal(chain.nodes[0].pid(), libc::SIGSTOP);
            signal(chain.nodes[2].pid(), libc::SIGSTOP);
        }
    }
    let cut_at = Instant::now();
    assert!(
        try_wait_for(NOTICE, || !any_connected(&chain.nodes[1])),
        "store-2 did not notice the partition within {NOTICE:?}:\n{}",
        chain.report()
    );
    println!("partition noticed by store-2 after {:?}", cut_at.elapsed());

    // It receives while cut off: 5 cola arrived (1 short), all the rice;
    // and is SIGKILLed as soon as the answer is in.
    let receive = json!({"note": "少一箱", "lines": [
        {"sku": "cola", "qty": "5"},
        {"sku": "rice", "qty": "1.5"},
    ]});
    let path = format!("/transfers/{id}/receive");
    let (s, first) = chain.nodes[1].post(&path, receive.clone(), Some("recv-1"));
    chain.nodes[1].kill9();
    assert_eq!(
        (s, &first["kind"]),
        (201, &json!("transfer_received")),
        "{first}"
    );
    assert_eq!(first["transfer"]["status"], "received", "{first}");
    let got: Vec<(i64, i64)> = first["transfer"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (milli(&l["shipped"]), milli(&l["received"])))
        .collect();
    assert_eq!(got, [(units(6), units(5)), (1500, 1500)], "{first}");

    // Restarted on its data directory, still cut off: the receipt is
    // durable and is not made twice.
    chain.nodes[1].restart();
    let s2 = &chain.nodes[1];
    assert!(!any_connected(s2), "store-2 is still cut off");
    assert_eq!(transfer_status(s2, &id).as_deref(), Some("received"));
    assert_eq!(on_hand(s2, "store-2", "cola"), units(5));
    assert_eq!(on_hand(s2, "store-2", "rice"), 1500);
    let (s, e) = s2.post(&path, receive.clone(), Some("recv-2"));
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("transfer_already_received")),
        "a second receipt under a new key: {e}"
    );
    let (s, again) = s2.post(&path, receive.clone(), Some("recv-1"));
    assert_eq!(
        (s, &again),
        (201, &first),
        "the first key replays the first answer"
    );
    assert_eq!(
        on_hand(s2, "store-2", "cola"),
        units(5),
        "nothing moved twice"
    );
    if let Cut::Link(_) = cut {
        // The other side still has it in transit: the partition is real.
        for n in [&chain.nodes[0], &chain.nodes[2]] {
            assert_eq!(transfer_status(n, &id).as_deref(), Some("in_transit"));
        }
    }

    // 4. Heal.
    match cut {
        Cut::Link(net) => net.link(2, true),
        Cut::Stop => {
            signal(chain.nodes[0].pid(), libc::SIGCONT);
            signal(chain.nodes[2].pid(), libc::SIGCONT);
        }
    }
    let healed = Instant::now();
    let hash = chain.wait_converged(&all, CONVERGE);
    println!(
        "converged {:?} after the heal, state hash {hash}",
        healed.elapsed()
    );
    let [s1, s2, hq] = [&chain.nodes[0], &chain.nodes[1], &chain.nodes[2]];
    for n in [s1, s2, hq] {
        let who = name(n);
        assert_eq!(
            transfer_status(n, &id).as_deref(),
            Some("received"),
            "{who}"
        );
        let (_, open) = n.get("/transfers?status=in_transit");
        assert_eq!(open["transfers"], json!([]), "{who}: nothing in transit");
        let cola = sku_view(n, "cola");
        assert_eq!(
            cola,
            SkuView {
                on_hand: [("store-1".into(), units(4)), ("store-2".into(), units(5))].into(),
                in_transit: 0,
                short: units(1),
            },
            "{who}"
        );
        assert_eq!(cola.total(), units(10), "{who}: conserved");
        let rice = sku_view(n, "rice");
        assert_eq!(
            rice,
            SkuView {
                on_hand: [("store-1".into(), 2500), ("store-2".into(), 1500)].into(),
                in_transit: 0,
                short: 0,
            },
            "{who}"
        );
        assert_eq!(
            value(n),
            expected_value(
                &[("store-1", "25.00"), ("store-2", "21.50")],
                "0.00",
                "46.50"
            ),
            "{who}"
        );
        // Store-2's ledger of cola: one receipt of 5, wherever it is read.
        let (_, m) = n.get("/stock/movements?store=store-2&sku=cola");
        let moves: Vec<(&str, i64)> = m["movements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["kind"].as_str().unwrap(), milli(&x["qty"])))
            .collect();
        assert_eq!(moves, [("receive", units(5))], "{who}: {m}");
    }

    // 5. A sale at store-2 by barcode takes cola off its stock.
    let (s, o) = s2.post(
        "/checkouts",
        json!({"lines": [{"barcode": COLA_BARCODE, "qty": "1"}], "tenders": [{"kind": "cash", "amount": "10"}]}),
        Some("sale-1"),
    );
    assert_eq!((s, &o["payable"]), (201, &json!("3.50")), "{o}");
    assert_eq!(on_hand(s2, "store-2", "cola"), units(4));
    chain.wait_converged(&all, CONVERGE);
    for n in [s1, s2, hq] {
        let who = name(n);
        assert_eq!(on_hand(n, "store-2", "cola"), units(4), "{who}");
        assert_eq!(on_hand(n, "store-1", "cola"), units(4), "{who}");
        assert_eq!(
            sku_view(n, "cola").total() + units(1),
            units(10),
            "{who}: on hand + in transit + short + sold"
        );
        assert_eq!(
            value(n),
            expected_value(
                &[("store-1", "25.00"), ("store-2", "19.00")],
                "0.00",
                "44.00"
            ),
            "{who}"
        );
    }
    println!("scenario done in {:?}", started.elapsed());
}

#[test]
fn stock_transfer_received_across_a_link_down_partition_and_a_restart() {
    let Some(mut nc) = NetChain::new(2) else {
        return;
    };
    let net = &nc.net;
    transfer_across_a_partition_and_a_restart(&mut nc.chain, Cut::Link(net));
}

#[test]
fn stock_transfer_received_while_the_peers_are_stopped_and_after_a_restart() {
    let mut chain = Chain::with_hq(2);
    transfer_across_a_partition_and_a_restart(&mut chain, Cut::Stop);
}

/// A store that answers `GET /products/{sku}` for a product HQ just added
/// takes a stock line naming it by barcode at once: the stock API resolves
/// barcodes from the catalogue the engine holds, as `GET /products` and
/// checkout do (it once read the db's barcode table, written when the
/// replicated change commits, a moment later: 24 of 40 tries refused).
#[test]
fn stock_in_by_barcode_as_soon_as_the_product_is_readable() {
    const TRIES: usize = 40;
    let chain = Chain::with_hq(1);
    let [s1, hq] = [&chain.nodes[0], &chain.nodes[1]];
    let mut refused = Vec::new();
    for i in 0..TRIES {
        let (sku, barcode) = (format!("p{i}"), format!("69020000{i:05}"));
        let (s, p) = hq.put(
            &format!("/products/{sku}"),
            json!({"name": format!("商品 {i}"), "barcode": barcode, "price": "1.00"}),
        );
        assert_eq!(s, 200, "{p}");
        // No sleep between polls: the window is the time of one commit.
        let deadline = Instant::now() + REPLICATE;
        while s1.get(&format!("/products/{sku}")).0 != 200 {
            assert!(Instant::now() < deadline, "{sku} never reached store-1");
        }
        let (s, o) = s1.post(
            "/stock/in",
            json!({"supplier": "供应商", "lines": [{"barcode": barcode, "qty": "1", "unit_cost": "0.50"}]}),
            Some(&format!("in-{i}")),
        );
        if s != 201 {
            refused.push(format!("{sku}: {s} {o}"));
        }
    }
    assert!(
        refused.is_empty(),
        "{} of {TRIES} stock-ins by barcode refused right after GET /products answered:\n{}",
        refused.len(),
        refused.join("\n")
    );
}
