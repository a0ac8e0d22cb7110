//! The node's daily jobs: once a chain day (UTC+8), at start and then when
//! the day turns, the birthday coupons of the members whose home is this
//! store (`Engine::birthday_coupons`; each is issued once a year, under
//! its own key, so a restart the same day issues nothing twice).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tongka_actors::Engine;
use tongka_core::day::Day;

/// How often the job looks at the clock.
const TICK: Duration = Duration::from_secs(600);

fn today() -> Day {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Day::of_ms(ms)
}

/// Run the daily jobs until the returned task is aborted (at shutdown).
pub(crate) fn spawn(engine: Engine) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut done: Option<Day> = None;
        loop {
            let day = today();
            if done != Some(day) {
                match engine.birthday_coupons(day).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(issued = n, %day, "birthday coupons issued"),
                    Err(e) => tracing::warn!(error = %e, %day, "birthday coupons failed"),
                }
                done = Some(day);
            }
            tokio::time::sleep(TICK).await;
        }
    })
}
