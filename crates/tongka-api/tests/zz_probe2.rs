mod common;
use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_sales_overflow_fen() {
    let app = App::new();
    let lines: Vec<_> = (0..200)
        .map(|_| json!({"description": "x", "unit_price": "10000000.00", "qty": "100000"}))
        .collect();
    let body = json!({"lines": lines, "tenders": [{"kind": "cash"}]});
    let t = std::time::Instant::now();
    for i in 0..470 {
        let a = app
            .call(
                "POST",
                "/api/v1/checkouts",
                body.to_string().into_bytes(),
                Some(&format!("big-{i}")),
            )
            .await;
        if a.status != 201 || i % 100 == 0 {
            println!(
                "{i}: {} {}",
                a.status,
                String::from_utf8_lossy(&a.body[..a.body.len().min(300)])
            );
        }
        if a.status != 201 {
            let a = app
                .call(
                    "POST",
                    "/api/v1/members",
                    json!({"phone":"13800000000","name":"x"})
                        .to_string()
                        .into_bytes(),
                    None,
                )
                .await;
            println!(
                "then register: {} {}",
                a.status,
                String::from_utf8_lossy(&a.body)
            );
            break;
        }
    }
    println!("{:?}", t.elapsed());
    let (_, l) = app.get("/api/v1/ledger/summary").await;
    println!("{l}");
}
