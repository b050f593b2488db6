//! Prometheus metrics: one registry per application (so tests running several servers in one
//! process do not mix their counts), served as text at `/metrics`.
//!
//! - `luckygas_http_request_duration_seconds{method, route, status}`: latency histogram of every
//!   request, `route` being the matched route template (`/v1/depots/{id}`), never the raw path,
//!   so ids do not multiply the series (`unmatched` for unknown paths);
//! - `luckygas_planning_job_duration_seconds{outcome}` and `luckygas_solver_iterations_total`:
//!   fed by this process's planning workers through [`Metrics::observe_job`] and
//!   [`Metrics::add_solver_iterations`]; registered from the start, at zero;
//! - `luckygas_planning_queue_depth` (jobs waiting for a worker),
//!   `luckygas_planning_queue_oldest_seconds` (how long the oldest of them has waited) and
//!   `luckygas_planning_jobs_running` (jobs on a live lease): read from the store at every scrape
//!   ([`crate::store::Store::plan_queue_depth`]), because the queue is shared by every replica on
//!   the database and no single process sees all its changes.
//! - `luckygas_background_jobs_due`, `luckygas_background_jobs_failed`,
//!   `luckygas_outbox_pending` and `luckygas_outbox_oldest_seconds`: the shared job queue and
//!   the outbox (effects not yet delivered, e.g. Turnkey files);
//! - `luckygas_einvoice_messages_pending`, `…_oldest_unacknowledged_seconds`,
//!   `…_messages_near_deadline` (due within 12 h), `…_messages_overdue`, `…_messages_rejected`:
//!   MIG messages Turnkey has not acknowledged, against their upload deadlines (48 h B2C, 7 days
//!   B2B);
//! - `luckygas_payments_unmatched`, `…_unmatched_ntd`, `…_handins_flagged`: the accountant's
//!   queue and cash differences; `luckygas_bank_fetch_last_success_age_seconds` (−1 before the
//!   first) and `luckygas_bank_fetch_latest_failed`: the fetches from the bank's SFTP server;
//! - `luckygas_legacy_sync_pending`, `…_oldest_seconds`, `…_dead_letters`, `…_applied` (rate()
//!   gives applied per second) and `…_breaker_open`: the dual write to the old system;
//!   `luckygas_legacy_conflicts` (fields changed on both sides, decided) and
//!   `luckygas_legacy_drift` (records that differed at the latest reconciliation);
//! - `luckygas_backup_age_seconds`: since the newest backup `luckygas backup` recorded began
//!   (−1 before the first); `luckygas_ready`: 1 when `/readyz` would answer 200;
//!   `luckygas_osrm_breaker_open`: 1 while the circuit breaker to OSRM is open;
//! - `luckygas_invoice_numbers_remaining{period,branch}` and
//!   `luckygas_invoice_numbers_used_ratio{period,branch}`: what is left of the open number blocks
//!   (alert at 0.9, before issuing fails);
//! - `luckygas_rate_limited_total{scope}`: requests refused with 429 by the rate limits, per
//!   `anonymous` (address) or `user`;
//! - `luckygas_login_failures_total{reason}` (`unknown_email`, `wrong_password`, `inactive`,
//!   `busy`) and `luckygas_login_throttled_total{scope}` (`account`, `address`): refused
//!   sign-ins, fed by `POST /v1/auth/login`.
//! - `luckygas_database_up` (1 when `SELECT 1` answered within [`DATABASE_CHECK_TIMEOUT`] at
//!   this scrape, else 0), `luckygas_database_check_seconds` (how long that took), and the
//!   connection pool's `luckygas_database_pool_size` (open connections), `…_pool_idle`,
//!   `…_pool_in_use` and `…_pool_max`, sampled before the scrape's own queries so that it does
//!   not count itself. While the database is down the scrape skips its other store reads (each
//!   would wait out the pool's acquire timeout and the scrape would time out, hiding the very
//!   gauge that says why); their gauges keep their last values;
//! - the accept loop's `luckygas_http_connections_open`, `luckygas_http_connections_max`,
//!   `luckygas_http_connections_accepted_total`, `luckygas_http_connection_limit_reached_total`,
//!   `luckygas_http_header_read_timeouts_total`, `luckygas_http_idle_closes_total` and
//!   `luckygas_http_body_timeouts_total` ([`connections`]), fed by [`super::server::run`];
//! - `luckygas_flag_evaluations_total{key, variant}` and `luckygas_flag_reloads_total{scope}`
//!   (`one`, `all`): feature flags evaluated by this process and reloaded from the database
//!   ([`crate::flags::FlagMetrics`]);
//! - the process's `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
//!   `process_open_fds`, `process_max_fds`, `process_cpu_seconds_total`, `process_threads` and
//!   `process_start_time_seconds`, read from `/proc/self` at every scrape ([`process`]).
//!
//! The alert rules over these live in `ops/prometheus/alerts.yml`, with a runbook entry each.

pub mod connections;
mod process;

use super::health::DATABASE_CHECK_TIMEOUT;
use super::AppState;
use crate::store::{PoolStats, QueueDepth};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
pub use connections::{ConnectionCounts, ConnectionMetrics};
use prometheus::{Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};
use std::time::Instant;

/// The label-less gauges of the background queue, the outbox and the e-invoice backlog.
const BACKGROUND_GAUGES: &[(&str, &str)] = &[
    ("luckygas_background_jobs_due", "Background jobs due and not yet claimed"),
    ("luckygas_background_jobs_failed", "Background jobs that gave up"),
    ("luckygas_outbox_pending", "Effects outside the database not yet delivered"),
    ("luckygas_outbox_oldest_seconds", "Age of the oldest undelivered effect"),
    ("luckygas_einvoice_messages_pending", "MIG messages Turnkey has not acknowledged"),
    ("luckygas_einvoice_oldest_unacknowledged_seconds", "Age of the oldest unacknowledged MIG message"),
    ("luckygas_einvoice_messages_near_deadline", "Unacknowledged MIG messages due within 12 hours"),
    ("luckygas_einvoice_messages_overdue", "Unacknowledged MIG messages past their upload deadline"),
    ("luckygas_einvoice_messages_rejected", "MIG messages Turnkey rejected, not yet re-sent"),
    ("luckygas_payments_unmatched", "Payments waiting in the accountant's queue (no customer known)"),
    ("luckygas_payments_unmatched_ntd", "NT$ waiting in the accountant's queue"),
    ("luckygas_payments_handins_flagged", "Cash hand-ins with a difference not resolved"),
    ("luckygas_bank_fetch_last_success_age_seconds", "Seconds since the last fetch that reached the bank's SFTP server (-1: none yet)"),
    ("luckygas_bank_fetch_latest_failed", "1 when the latest fetch from the bank's SFTP server failed"),
    ("luckygas_legacy_sync_pending", "Changes queued for the old system and not yet applied (dead letters apart)"),
    ("luckygas_legacy_sync_oldest_seconds", "Age of the oldest change not yet applied to the old system"),
    ("luckygas_legacy_sync_dead_letters", "Changes given up after repeated failure, waiting for an operator"),
    ("luckygas_legacy_sync_applied", "Changes applied to the old system so far (rate() gives applied per second)"),
    ("luckygas_legacy_sync_breaker_open", "1 while this process's circuit breaker to the legacy database is open"),
    ("luckygas_legacy_conflicts", "Fields changed on both sides and decided by their rule so far (rate() gives conflicts per second)"),
    ("luckygas_legacy_drift", "Records that differed between both sides at the latest reconciliation (-1 before the first)"),
    ("luckygas_backup_age_seconds", "Seconds since the newest completed backup began, what a restore of it would lose (-1: none recorded)"),
    ("luckygas_planning_queue_oldest_seconds", "How long the oldest waiting planning job has waited (0: none waits)"),
    ("luckygas_ready", "1 when this process passes its readiness checks (database, migrations, workers), as /readyz answers"),
    (
        "luckygas_osrm_breaker_open",
        "1 while this process's circuit breaker to OSRM is open (travel times fall back to the estimate); 0 otherwise or without OSRM",
    ),
];

/// Outcomes of planning jobs, pre-registered so their series exist before the first job.
pub const JOB_OUTCOMES: &[&str] = &["succeeded", "failed", "cancelled"];

/// The service's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    http_duration: HistogramVec,
    job_duration: HistogramVec,
    queue_depth: IntGauge,
    jobs_running: IntGauge,
    solver_iterations: IntCounter,
    background: std::collections::HashMap<&'static str, IntGauge>,
    numbers_remaining: IntGaugeVec,
    numbers_used: GaugeVec,
    login_failures: IntCounterVec,
    login_throttled: IntCounterVec,
    database: DatabaseGauges,
    rate_limited: IntCounterVec,
    connections: ConnectionMetrics,
    flags: crate::flags::FlagMetrics,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics(..)")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Metrics {
        // Names and label sets are constants: registration cannot fail.
        let registry = Registry::new();
        let http_duration = HistogramVec::new(
            HistogramOpts::new("luckygas_http_request_duration_seconds", "HTTP request latency by route and status")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["method", "route", "status"],
        )
        .expect("valid histogram");
        let job_duration = HistogramVec::new(
            HistogramOpts::new("luckygas_planning_job_duration_seconds", "Planning job run time by outcome")
                .buckets(vec![0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0]),
            &["outcome"],
        )
        .expect("valid histogram");
        let queue_depth = IntGauge::with_opts(Opts::new("luckygas_planning_queue_depth", "Planning jobs waiting to run")).expect("valid gauge");
        let jobs_running = IntGauge::with_opts(Opts::new("luckygas_planning_jobs_running", "Planning jobs a live worker is solving")).expect("valid gauge");
        let solver_iterations =
            IntCounter::with_opts(Opts::new("luckygas_solver_iterations_total", "Solver iterations run by planning jobs")).expect("valid counter");
        let numbers_remaining = IntGaugeVec::new(Opts::new("luckygas_invoice_numbers_remaining", "Invoice numbers left in open blocks"), &["period", "branch"])
            .expect("valid gauge");
        let numbers_used = GaugeVec::new(Opts::new("luckygas_invoice_numbers_used_ratio", "Share of the open blocks' numbers used"), &["period", "branch"])
            .expect("valid gauge");
        for outcome in JOB_OUTCOMES {
            job_duration.with_label_values(&[*outcome]);
        }
        registry.register(Box::new(http_duration.clone())).expect("unique metric");
        registry.register(Box::new(job_duration.clone())).expect("unique metric");
        registry.register(Box::new(queue_depth.clone())).expect("unique metric");
        registry.register(Box::new(jobs_running.clone())).expect("unique metric");
        registry.register(Box::new(solver_iterations.clone())).expect("unique metric");
        registry.register(Box::new(numbers_remaining.clone())).expect("unique metric");
        registry.register(Box::new(numbers_used.clone())).expect("unique metric");
        let login_failures = IntCounterVec::new(Opts::new("luckygas_login_failures_total", "Refused sign-ins by reason"), &["reason"]).expect("valid counter");
        let login_throttled = IntCounterVec::new(Opts::new("luckygas_login_throttled_total", "Sign-ins refused by a lock, by what was locked"), &["scope"])
            .expect("valid counter");
        for reason in ["unknown_email", "wrong_password", "inactive", "busy"] {
            login_failures.with_label_values(&[reason]);
        }
        for scope in ["account", "address"] {
            login_throttled.with_label_values(&[scope]);
        }
        registry.register(Box::new(login_failures.clone())).expect("unique metric");
        registry.register(Box::new(login_throttled.clone())).expect("unique metric");
        let mut background = std::collections::HashMap::new();
        for (name, help) in BACKGROUND_GAUGES {
            let gauge = IntGauge::with_opts(Opts::new(*name, *help)).expect("valid gauge");
            registry.register(Box::new(gauge.clone())).expect("unique metric");
            background.insert(*name, gauge);
        }
        let database = DatabaseGauges::register(&registry);
        registry.register(Box::new(process::ProcessCollector::new())).expect("unique metric");
        let rate_limited =
            IntCounterVec::new(Opts::new("luckygas_rate_limited_total", "Requests refused by the rate limits"), &["scope"]).expect("valid counter");
        for scope in ["anonymous", "user"] {
            rate_limited.with_label_values(&[scope]);
        }
        registry.register(Box::new(rate_limited.clone())).expect("unique metric");
        let connections = ConnectionMetrics::register(&registry);
        let flags = crate::flags::FlagMetrics::new();
        flags.register(&registry);
        Metrics {
            registry,
            http_duration,
            job_duration,
            queue_depth,
            jobs_running,
            solver_iterations,
            background,
            numbers_remaining,
            numbers_used,
            login_failures,
            login_throttled,
            database,
            rate_limited,
            connections,
            flags,
        }
    }

    /// The feature flags' counters, for the [`crate::flags::FlagSet`] to feed.
    pub fn flags(&self) -> crate::flags::FlagMetrics {
        self.flags.clone()
    }

    /// The accept loop's series, for [`super::server::run`] to feed.
    pub fn connections(&self) -> ConnectionMetrics {
        self.connections.clone()
    }

    /// Records one HTTP request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.http_duration.with_label_values(&[method, route, &status.to_string()]).observe(seconds);
    }

    /// Records a finished planning job (`outcome` one of [`JOB_OUTCOMES`]).
    pub fn observe_job(&self, outcome: &str, seconds: f64) {
        self.job_duration.with_label_values(&[outcome]).observe(seconds);
    }

    /// Sets the number of planning jobs waiting and running.
    pub fn set_queue_depth(&self, depth: QueueDepth) {
        self.queue_depth.set(depth.queued);
        self.jobs_running.set(depth.running);
    }

    /// Sets one of the background gauges by name (see the module docs).
    pub fn set_background(&self, name: &str, value: i64) {
        if let Some(gauge) = self.background.get(name) {
            gauge.set(value);
        }
    }

    /// Sets what is left of the open number blocks of `period` and `branch`.
    pub fn set_numbers(&self, period: &str, branch: &str, remaining: i64, total: i64) {
        self.numbers_remaining.with_label_values(&[period, branch]).set(remaining);
        #[allow(clippy::cast_precision_loss)]
        let used = if total > 0 { (total - remaining) as f64 / total as f64 } else { 0.0 };
        self.numbers_used.with_label_values(&[period, branch]).set(used);
    }

    /// Counts a refused sign-in (`reason`: `unknown_email`, `wrong_password`, `inactive`, `busy`).
    pub fn login_failed(&self, reason: &str) {
        self.login_failures.with_label_values(&[reason]).inc();
    }

    /// Counts a sign-in refused by a lock on the `account` or the `address`.
    pub fn login_throttled(&self, scope: &str) {
        self.login_throttled.with_label_values(&[scope]).inc();
    }

    /// Counts a request refused by the rate limit of `scope` (`anonymous` or `user`).
    pub fn count_rate_limited(&self, scope: &str) {
        self.rate_limited.with_label_values(&[scope]).inc();
    }

    /// Adds solver iterations.
    pub fn add_solver_iterations(&self, n: u64) {
        self.solver_iterations.inc_by(n);
    }

    /// Sets the database gauges: whether it answered (and how fast) and the pool's counts.
    pub fn set_database(&self, up: bool, check_seconds: f64, pool: PoolStats) {
        self.database.set(up, check_seconds, pool);
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        // Encoding gathered families into a String cannot fail.
        TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_default()
    }
}

/// Middleware: times each request and records it under its route template.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let res = next.run(req).await;
    state.metrics.observe_request(&method, &route, res.status().as_u16(), start.elapsed().as_secs_f64());
    res
}

/// `GET /metrics`: reads the queue depth from the store first (if the database does not
/// answer, the gauges keep their last values and the rest is served anyway).
#[utoipa::path(get, operation_id = "getMetrics", path = "/metrics", tag = "health", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let up = check_database(&state).await;
    if up {
        read_store_gauges(&state).await;
    }
    let ready = up && super::health::readiness(&state).await.is_ok();
    state.metrics.set_background("luckygas_ready", i64::from(ready));
    let mut res = state.metrics.render().into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    res
}

/// Reads the queue, outbox, e-invoice and number-block gauges from the store.
async fn read_store_gauges(state: &AppState) {
    let now = chrono::Utc::now();
    match state.store.plan_queue_depth(now).await {
        Ok(depth) => {
            state.metrics.set_queue_depth(depth);
            state.metrics.set_background("luckygas_planning_queue_oldest_seconds", depth.oldest_waiting_s);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the planning queue depth"),
    }
    match state.store.background_depth(now).await {
        Ok(d) => {
            let m = &state.metrics;
            m.set_background("luckygas_background_jobs_due", d.jobs_due);
            m.set_background("luckygas_background_jobs_failed", d.jobs_failed);
            m.set_background("luckygas_outbox_pending", d.outbox_pending);
            m.set_background("luckygas_outbox_oldest_seconds", d.outbox_oldest_s);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the background queue"),
    }
    match state.store.message_backlog(now, chrono::Duration::hours(12)).await {
        Ok(b) => {
            let m = &state.metrics;
            m.set_background("luckygas_einvoice_messages_pending", b.pending);
            m.set_background("luckygas_einvoice_oldest_unacknowledged_seconds", b.oldest_s);
            m.set_background("luckygas_einvoice_messages_near_deadline", b.near_deadline);
            m.set_background("luckygas_einvoice_messages_overdue", b.overdue);
            m.set_background("luckygas_einvoice_messages_rejected", b.rejected);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the e-invoice backlog"),
    }
    match state.store.payments_backlog(now).await {
        Ok(b) => {
            let m = &state.metrics;
            m.set_background("luckygas_payments_unmatched", b.unmatched);
            m.set_background("luckygas_payments_unmatched_ntd", b.unmatched_amount);
            m.set_background("luckygas_payments_handins_flagged", b.handins_flagged);
            m.set_background("luckygas_bank_fetch_last_success_age_seconds", b.last_fetch_ok_age_s.unwrap_or(-1));
            m.set_background("luckygas_bank_fetch_latest_failed", i64::from(b.latest_fetch_failed));
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the payments backlog"),
    }
    match state.store.legacy_depth(now).await {
        Ok(d) => {
            let m = &state.metrics;
            m.set_background("luckygas_legacy_sync_pending", d.pending);
            m.set_background("luckygas_legacy_sync_oldest_seconds", d.oldest_s);
            m.set_background("luckygas_legacy_sync_dead_letters", d.dead);
            m.set_background("luckygas_legacy_sync_applied", d.applied);
            m.set_background("luckygas_legacy_conflicts", d.conflicts);
            m.set_background("luckygas_legacy_drift", d.drift);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the legacy sync queue"),
    }
    match state.store.last_backup_started().await {
        Ok(at) => state.metrics.set_background("luckygas_backup_age_seconds", at.map_or(-1, |t| (now - t).num_seconds().max(0))),
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the latest backup"),
    }
    let osrm_open = state.planner.travel().breaker_open().unwrap_or(false);
    state.metrics.set_background("luckygas_osrm_breaker_open", i64::from(osrm_open));
    let breaker = state.legacy_sync.as_ref().is_some_and(|s| s.worker.breaker_open());
    state.metrics.set_background("luckygas_legacy_sync_breaker_open", i64::from(breaker));
    match state.store.list_number_blocks(None).await {
        Ok(blocks) => {
            let mut open: std::collections::BTreeMap<(String, String), (i64, i64)> = std::collections::BTreeMap::new();
            for b in blocks.iter().filter(|b| b.closed_at.is_none()) {
                let e = open.entry((b.period.clone(), b.branch.clone())).or_default();
                e.0 += b.remaining;
                e.1 += b.used + b.remaining;
            }
            for ((period, branch), (remaining, total)) in open {
                state.metrics.set_numbers(&period, &branch, remaining, total);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the number blocks"),
    }
}

// Database and connection pool gauges (issue 16, point 8).

/// `luckygas_database_*`: whether the database answers and the connection pool's counts.
#[derive(Clone)]
struct DatabaseGauges {
    up: IntGauge,
    check_seconds: Gauge,
    pool_size: IntGauge,
    pool_idle: IntGauge,
    pool_in_use: IntGauge,
    pool_max: IntGauge,
}

impl DatabaseGauges {
    fn register(registry: &Registry) -> DatabaseGauges {
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::with_opts(Opts::new(name, help)).expect("valid gauge");
            registry.register(Box::new(g.clone())).expect("unique metric");
            g
        };
        let check_seconds = Gauge::with_opts(Opts::new("luckygas_database_check_seconds", "Time the last database check took")).expect("valid gauge");
        registry.register(Box::new(check_seconds.clone())).expect("unique metric");
        DatabaseGauges {
            up: gauge("luckygas_database_up", "1 if the database answered the last check in time, else 0"),
            check_seconds,
            pool_size: gauge("luckygas_database_pool_size", "Connections the pool holds open"),
            pool_idle: gauge("luckygas_database_pool_idle", "Open connections idle in the pool"),
            pool_in_use: gauge("luckygas_database_pool_in_use", "Open connections lent out to queries"),
            pool_max: gauge("luckygas_database_pool_max", "Most connections the pool may open"),
        }
    }

    fn set(&self, up: bool, check_seconds: f64, pool: PoolStats) {
        self.up.set(i64::from(up));
        self.check_seconds.set(check_seconds);
        self.pool_size.set(i64::from(pool.size));
        self.pool_idle.set(i64::from(pool.idle));
        self.pool_in_use.set(i64::from(pool.in_use));
        self.pool_max.set(i64::from(pool.max));
    }
}

/// Samples the pool, then checks that the database answers within [`DATABASE_CHECK_TIMEOUT`];
/// returns whether it did.
async fn check_database(state: &AppState) -> bool {
    let pool = state.store.pool_stats();
    let start = Instant::now();
    let up = match tokio::time::timeout(DATABASE_CHECK_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: the database does not answer");
            false
        }
        Err(_) => {
            tracing::warn!(timeout_s = DATABASE_CHECK_TIMEOUT.as_secs_f64(), "metrics: the database check timed out");
            false
        }
    };
    state.metrics.set_database(up, start.elapsed().as_secs_f64(), pool);
    up
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_zero_job_series_before_any_job_and_counts_what_is_fed() {
        let m = Metrics::new();
        let text = m.render();
        assert!(text.contains("luckygas_planning_job_duration_seconds_count{outcome=\"succeeded\"} 0"), "{text}");
        assert!(text.contains("luckygas_planning_queue_depth 0"));
        m.observe_job("failed", 3.0);
        m.set_queue_depth(QueueDepth { queued: 4, running: 2, oldest_waiting_s: 30 });
        m.add_solver_iterations(250);
        m.observe_request("GET", "/v1/depots/{id}", 200, 0.002);
        let text = m.render();
        assert!(text.contains("luckygas_planning_job_duration_seconds_count{outcome=\"failed\"} 1"), "{text}");
        assert!(text.contains("luckygas_planning_queue_depth 4") && text.contains("luckygas_planning_jobs_running 2"), "{text}");
        assert!(text.contains("luckygas_solver_iterations_total 250"));
        assert!(text.contains("route=\"/v1/depots/{id}\",status=\"200\""), "{text}");
    }

    #[test]
    fn exposes_the_database_check_and_the_pool_as_set() {
        let m = Metrics::new();
        m.set_database(true, 0.004, PoolStats { size: 3, idle: 1, in_use: 2, max: 8 });
        let text = m.render();
        for line in [
            "luckygas_database_up 1",
            "luckygas_database_check_seconds 0.004",
            "luckygas_database_pool_size 3",
            "luckygas_database_pool_idle 1",
            "luckygas_database_pool_in_use 2",
            "luckygas_database_pool_max 8",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
        m.set_database(false, 2.0, PoolStats { size: 0, idle: 0, in_use: 0, max: 8 });
        assert!(m.render().lines().any(|l| l == "luckygas_database_up 0"));
    }

    #[test]
    fn exposes_the_connection_series_at_zero_and_as_fed() {
        let m = Metrics::new();
        let text = m.render();
        for name in [
            "luckygas_http_connections_open",
            "luckygas_http_connections_max",
            "luckygas_http_connections_accepted_total",
            "luckygas_http_connection_limit_reached_total",
            "luckygas_http_header_read_timeouts_total",
            "luckygas_http_idle_closes_total",
            "luckygas_http_body_timeouts_total",
        ] {
            assert!(text.lines().any(|l| l == format!("{name} 0")), "{name} 0 in:\n{text}");
        }
        let c = m.connections();
        c.open.inc();
        c.max.set(1024);
        c.body_timeouts.inc();
        let text = m.render();
        for line in ["luckygas_http_connections_open 1", "luckygas_http_connections_max 1024", "luckygas_http_body_timeouts_total 1"] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn exposes_the_process_gauges_read_at_each_render() {
        let text = Metrics::new().render();
        assert!(text.contains("# TYPE process_cpu_seconds_total counter"), "{text}");
        let value = |name: &str| {
            text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok()).unwrap_or_else(|| panic!("{name} in:\n{text}"))
        };
        assert!(value("process_resident_memory_bytes") > 0.0 && value("process_virtual_memory_bytes") >= value("process_resident_memory_bytes"));
        assert!(value("process_open_fds") >= 1.0 && value("process_max_fds") >= value("process_open_fds"));
        assert!(value("process_threads") >= 1.0 && value("process_start_time_seconds") > 1.7e9);
    }
}
