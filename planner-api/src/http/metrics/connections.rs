//! The accept loop's series ([`crate::http::server`]), fed as connections come and go:
//!
//! - `luckygas_http_connections_open`: connections being served now;
//! - `luckygas_http_connections_max`: the connection limit (`LUCKYGAS_MAX_CONNECTIONS`), so
//!   that an alert can compare the two;
//! - `luckygas_http_connections_accepted_total`: connections accepted;
//! - `luckygas_http_connection_limit_reached_total`: times a connection took the last free
//!   slot, so that the loop stopped accepting and new connections waited in the listen backlog
//!   (the service makes them wait rather than refusing them; the kernel refuses them only once
//!   that backlog is full, which no counter of the process can see);
//! - `luckygas_http_header_read_timeouts_total`: connections closed because a request's headers
//!   did not arrive in time (a silent new connection included);
//! - `luckygas_http_idle_closes_total`: keep-alive connections closed after waiting too long
//!   for their next request;
//! - `luckygas_http_body_timeouts_total`: requests whose body did not arrive in time, answered
//!   `408`.

use prometheus::{IntCounter, IntGauge, Opts, Registry};

/// The accept loop's gauges and counters; clones share them.
#[derive(Clone, Debug)]
pub struct ConnectionMetrics {
    pub(crate) open: IntGauge,
    pub(crate) max: IntGauge,
    pub(crate) accepted: IntCounter,
    pub(crate) limit_reached: IntCounter,
    pub(crate) header_read_timeouts: IntCounter,
    pub(crate) idle_closes: IntCounter,
    pub(crate) body_timeouts: IntCounter,
}

/// What [`ConnectionMetrics`] hold now (for tests and logs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionCounts {
    /// Connections being served.
    pub open: u64,
    /// The connection limit.
    pub max: u64,
    /// Connections accepted.
    pub accepted: u64,
    /// Times the last free slot was taken.
    pub limit_reached: u64,
    /// Connections closed for slow or missing headers.
    pub header_read_timeouts: u64,
    /// Keep-alive connections closed when idle.
    pub idle_closes: u64,
    /// Requests answered 408 for a slow body.
    pub body_timeouts: u64,
}

impl Default for ConnectionMetrics {
    /// Series registered nowhere (a server whose metrics nobody scrapes, or a test's).
    fn default() -> Self {
        // Names are constants: creating the series cannot fail.
        let gauge = |name: &str, help: &str| IntGauge::with_opts(Opts::new(name, help)).expect("valid gauge");
        let counter = |name: &str, help: &str| IntCounter::with_opts(Opts::new(name, help)).expect("valid counter");
        ConnectionMetrics {
            open: gauge("luckygas_http_connections_open", "HTTP connections being served"),
            max: gauge("luckygas_http_connections_max", "Most HTTP connections served at once (LUCKYGAS_MAX_CONNECTIONS)"),
            accepted: counter("luckygas_http_connections_accepted_total", "HTTP connections accepted"),
            limit_reached: counter(
                "luckygas_http_connection_limit_reached_total",
                "Times a connection took the last free slot and new connections had to wait in the listen backlog",
            ),
            header_read_timeouts: counter("luckygas_http_header_read_timeouts_total", "Connections closed because request headers did not arrive in time"),
            idle_closes: counter("luckygas_http_idle_closes_total", "Keep-alive connections closed after waiting too long for a request"),
            body_timeouts: counter("luckygas_http_body_timeouts_total", "Requests answered 408 because their body did not arrive in time"),
        }
    }
}

impl ConnectionMetrics {
    /// The series, registered in `registry`.
    pub(super) fn register(registry: &Registry) -> ConnectionMetrics {
        let m = ConnectionMetrics::default();
        for g in [&m.open, &m.max] {
            registry.register(Box::new(g.clone())).expect("unique metric");
        }
        for c in [&m.accepted, &m.limit_reached, &m.header_read_timeouts, &m.idle_closes, &m.body_timeouts] {
            registry.register(Box::new(c.clone())).expect("unique metric");
        }
        m
    }

    /// The values now.
    pub fn counts(&self) -> ConnectionCounts {
        ConnectionCounts {
            open: u64::try_from(self.open.get()).unwrap_or(0),
            max: u64::try_from(self.max.get()).unwrap_or(0),
            accepted: self.accepted.get(),
            limit_reached: self.limit_reached.get(),
            header_read_timeouts: self.header_read_timeouts.get(),
            idle_closes: self.idle_closes.get(),
            body_timeouts: self.body_timeouts.get(),
        }
    }
}
