//! Prometheus metrics: one registry per application (so tests running several servers in one
//! process do not mix their counts), served as text at `/metrics`.
//!
//! - `luckygas_http_request_duration_seconds{method, route, status}`: latency histogram of every
//!   request, `route` being the matched route template (`/v1/depots/{id}`), never the raw path,
//!   so ids do not multiply the series (`unmatched` for unknown paths);
//! - `luckygas_planning_job_duration_seconds{outcome}` and `luckygas_solver_iterations_total`:
//!   fed by this process's planning workers through [`Metrics::observe_job`] and
//!   [`Metrics::add_solver_iterations`]; registered from the start, at zero;
//! - `luckygas_planning_queue_depth` (jobs waiting for a worker) and
//!   `luckygas_planning_jobs_running` (jobs on a live lease): read from the store at every scrape
//!   ([`crate::store::Store::plan_queue_depth`]), because the queue is shared by every replica on
//!   the database and no single process sees all its changes.

use super::AppState;
use crate::store::QueueDepth;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntGauge, Opts, Registry, TextEncoder};
use std::time::Instant;

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
        for outcome in JOB_OUTCOMES {
            job_duration.with_label_values(&[*outcome]);
        }
        registry.register(Box::new(http_duration.clone())).expect("unique metric");
        registry.register(Box::new(job_duration.clone())).expect("unique metric");
        registry.register(Box::new(queue_depth.clone())).expect("unique metric");
        registry.register(Box::new(jobs_running.clone())).expect("unique metric");
        registry.register(Box::new(solver_iterations.clone())).expect("unique metric");
        Metrics { registry, http_duration, job_duration, queue_depth, jobs_running, solver_iterations }
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

    /// Adds solver iterations.
    pub fn add_solver_iterations(&self, n: u64) {
        self.solver_iterations.inc_by(n);
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
    match state.store.plan_queue_depth(chrono::Utc::now()).await {
        Ok(depth) => state.metrics.set_queue_depth(depth),
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the planning queue depth"),
    }
    let mut res = state.metrics.render().into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    res
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
        m.set_queue_depth(QueueDepth { queued: 4, running: 2 });
        m.add_solver_iterations(250);
        m.observe_request("GET", "/v1/depots/{id}", 200, 0.002);
        let text = m.render();
        assert!(text.contains("luckygas_planning_job_duration_seconds_count{outcome=\"failed\"} 1"), "{text}");
        assert!(text.contains("luckygas_planning_queue_depth 4") && text.contains("luckygas_planning_jobs_running 2"), "{text}");
        assert!(text.contains("luckygas_solver_iterations_total 250"));
        assert!(text.contains("route=\"/v1/depots/{id}\",status=\"200\""), "{text}");
    }
}
