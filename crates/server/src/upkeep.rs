//! Background upkeep while the server runs: every third of a job lease, renew this instance's
//! leases and end jobs whose instance died; every few seconds, fold the latency samples recorded
//! since into the metrics histograms; every minute, sweep idle sessions, old images and old quota
//! counters out of the store.

use std::sync::Arc;
use std::time::Duration;

use store::Store;
use tokio_util::sync::CancellationToken;

use crate::jobs::Jobs;

/// How often the store is swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How often recorded latencies are folded into their histograms. The Prometheus recorder keeps
/// every sample until then (8 bytes each): without this, an instance nobody scrapes would grow by
/// the request rate for ever.
const METRICS_UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Runs until `stop` is cancelled.
pub async fn run(jobs: Arc<Jobs>, store: Store, stop: CancellationToken) {
    let lease_every = (store.jobs.lease() / 3).max(Duration::from_millis(500));
    let mut leases = tokio::time::interval(lease_every);
    let mut sweeps = tokio::time::interval(SWEEP_EVERY);
    let mut metrics = tokio::time::interval(METRICS_UPKEEP_EVERY);
    for timer in [&mut leases, &mut sweeps, &mut metrics] {
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = leases.tick() => {
                if let Err(e) = jobs.renew_leases().await {
                    tracing::warn!(error = %e, "could not renew job leases");
                }
                if let Err(e) = jobs.expire_lapsed().await {
                    tracing::warn!(error = %e, "could not end jobs with lapsed leases");
                }
            }
            _ = metrics.tick() => crate::observability::prometheus().run_upkeep(),
            _ = sweeps.tick() => match store.sweep().await {
                Ok(swept) => tracing::debug!(?swept, "store swept"),
                Err(e) => tracing::warn!(error = %e, "could not sweep the store"),
            },
        }
    }
}
