//! The accept loop of `luckygas serve` and of the test servers ([`run`]): HTTP/1 connections of
//! hyper, each watched for slow and idle clients, under a connection limit, with a drain
//! deadline on shutdown. It replaces `axum::serve`, which has none of these: one client sending
//! partial headers kept the process alive after SIGTERM for ever.
//!
//! - **Header-read timeout** ([`ServerConfig::header_read_timeout`]): a request's headers must
//!   arrive in full within it, counted from the connection's accept or from the first byte of a
//!   later request; a client that is slower is disconnected.
//! - **Idle timeout** ([`ServerConfig::idle_timeout`]): a keep-alive connection with no request
//!   for this long is closed. A connection serving a request (including an event stream) is never
//!   idle.
//! - **Body timeout** ([`ServerConfig::body_timeout`]): a request's body must arrive in full
//!   within it, counted from the end of its headers, however it trickles in. Past it, reading
//!   the body fails, the request is answered `408 request-timeout` (by [`answer_body_timeouts`],
//!   whatever the handler made of the broken body) with `Connection: close`, and a connection
//!   that has not closed a header-read timeout after that is dropped.
//! - **Connection limit** ([`ServerConfig::max_connections`]): at the limit, new connections
//!   *wait*: the loop stops accepting, and the kernel's listen backlog holds them until a slot
//!   frees (the two timeouts above bound how long a slot can be held by a client that sends
//!   nothing). Waiting rather than refusing lets a burst through a little later instead of
//!   failing it; a load balancer's connect timeout moves clients to another replica.
//! - **Shutdown**: when the `shutdown` future completes, the listener is closed, every connection
//!   finishes the request it is serving and closes, and after [`ServerConfig::drain`] whatever is
//!   left is dropped, so the process can exit.
//! - **Client address**: every request carries `ConnectInfo<SocketAddr>` in its extensions, the
//!   client's address: the peer, or, when the peer is one of [`ServerConfig::trusted_proxies`],
//!   the address `X-Forwarded-For` names (the right-most one that is not itself a trusted proxy;
//!   its port is then 0). Handlers and the rate limits read it from there.
//! - **Metrics**: open connections, the limit, accepted connections, the times the limit was
//!   reached, and the closes for each timeout, in the [`ConnectionMetrics`] given to [`run`].

mod body;

pub use body::{answer_body_timeouts, BodyDeadline};

use super::metrics::ConnectionMetrics;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, HeaderValue, Request};
use axum::Router;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use luckygas_wire::forwarded;
/// An address block of `LUCKYGAS_TRUSTED_PROXIES` (`luckygas_wire::forwarded::IpNet`).
pub use luckygas_wire::forwarded::IpNet;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

/// Settings of the accept loop, read from `LUCKYGAS_*` variables by [`ServerConfig::from_lookup`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// `LUCKYGAS_HEADER_READ_TIMEOUT_SECS` (default 10): the longest a request's headers may take.
    pub header_read_timeout: Duration,
    /// `LUCKYGAS_IDLE_TIMEOUT_SECS` (default 60): the longest a keep-alive connection may wait
    /// for its next request.
    pub idle_timeout: Duration,
    /// `LUCKYGAS_BODY_TIMEOUT_SECS` (default 30): the longest a request's body may take to
    /// arrive, from the end of its headers.
    pub body_timeout: Duration,
    /// `LUCKYGAS_MAX_CONNECTIONS` (default 1024): connections served at once; more wait.
    pub max_connections: usize,
    /// `LUCKYGAS_DRAIN_SECONDS` (default 20): how long connections may finish after shutdown
    /// begins before they are dropped.
    pub drain: Duration,
    /// `LUCKYGAS_TRUSTED_PROXIES` (default none): comma-separated addresses or CIDR blocks of
    /// reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            drain: Duration::from_secs(20),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Reads a whole number setting, `default` when unset or blank.
pub(crate) fn number<T: std::str::FromStr>(get: &impl Fn(&str) -> Option<String>, name: &str, default: T) -> Result<T, String> {
    match get(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| format!("{name} must be a whole number, not {v:?}")),
    }
}

impl ServerConfig {
    /// Reads the settings through `get` (e.g. `|k| std::env::var(k).ok()`); unset ones take their
    /// defaults. Timeouts and the connection limit must be at least 1.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<ServerConfig, String> {
        let d = ServerConfig::default();
        let positive = |name: &str, value: u64| if value == 0 { Err(format!("{name} must be at least 1")) } else { Ok(value) };
        let header = positive("LUCKYGAS_HEADER_READ_TIMEOUT_SECS", number(&get, "LUCKYGAS_HEADER_READ_TIMEOUT_SECS", d.header_read_timeout.as_secs())?)?;
        let idle = positive("LUCKYGAS_IDLE_TIMEOUT_SECS", number(&get, "LUCKYGAS_IDLE_TIMEOUT_SECS", d.idle_timeout.as_secs())?)?;
        let body = positive("LUCKYGAS_BODY_TIMEOUT_SECS", number(&get, "LUCKYGAS_BODY_TIMEOUT_SECS", d.body_timeout.as_secs())?)?;
        let max_connections = number(&get, "LUCKYGAS_MAX_CONNECTIONS", d.max_connections)?;
        if max_connections == 0 {
            return Err("LUCKYGAS_MAX_CONNECTIONS must be at least 1".into());
        }
        let drain = number(&get, "LUCKYGAS_DRAIN_SECONDS", d.drain.as_secs())?;
        let trusted_proxies = match get("LUCKYGAS_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<IpNet>().map_err(|()| format!("LUCKYGAS_TRUSTED_PROXIES: {s:?} is not an address or CIDR block")))
                .collect::<Result<_, _>>()?,
        };
        Ok(ServerConfig {
            header_read_timeout: Duration::from_secs(header),
            idle_timeout: Duration::from_secs(idle),
            body_timeout: Duration::from_secs(body),
            max_connections,
            drain: Duration::from_secs(drain),
            trusted_proxies,
        })
    }
}

/// The client of a request from `peer`: the peer itself, or when the peer is a trusted proxy,
/// the right-most address of `X-Forwarded-For` that is not a trusted proxy (proxies append the
/// address they saw on the right, so everything left of the first untrusted hop may be forged).
/// The walk is `luckygas_wire::forwarded::client_ip` (fuzzed there); header values that are not
/// visible ASCII are skipped.
pub fn client_addr(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNet]) -> SocketAddr {
    let peer_ip = peer.ip().to_canonical();
    let forwarded_for = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    forwarded::client_ip(peer_ip, forwarded_for, trusted).map_or(SocketAddr::new(peer_ip, peer.port()), |ip| SocketAddr::new(ip, 0))
}

/// What a connection is doing, for its timeouts.
#[derive(Debug)]
struct Phase {
    /// Requests being served, until their response body is dropped.
    in_flight: usize,
    /// When the current wait began: the accept, the end of the last response, or the first byte
    /// of the next request.
    since: Instant,
    /// Whether a request's head is being read (bytes have come since `since`).
    reading_head: bool,
    /// When to drop the connection even while it serves a request: set when a request's body
    /// timed out, leaving the `408` time to be written.
    cut_at: Option<Instant>,
}

/// Why a connection is closed by its watcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Close {
    /// A request's head did not arrive in time (or nothing came on a new connection).
    HeaderRead,
    /// No new request came on a keep-alive connection.
    Idle,
    /// A body timed out and the connection did not close after its `408`.
    AfterBodyTimeout,
}

/// One connection's [`Phase`], shared by its reader, its requests and its watcher.
#[derive(Debug)]
struct Activity(Mutex<Phase>);

impl Activity {
    fn new() -> Activity {
        // A new connection is waiting for its first request's head.
        Activity(Mutex::new(Phase { in_flight: 0, since: Instant::now(), reading_head: true, cut_at: None }))
    }

    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bytes_read(&self) {
        let mut p = self.phase();
        if p.in_flight == 0 && !p.reading_head {
            p.reading_head = true;
            p.since = Instant::now();
        }
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.phase().in_flight += 1;
        Busy(self.clone())
    }

    /// Drops the connection after `grace` even if a request is still being served.
    fn cut_after(&self, grace: Duration) {
        let mut p = self.phase();
        let at = Instant::now() + grace;
        p.cut_at = Some(p.cut_at.map_or(at, |c| c.min(at)));
    }

    /// When the connection must be closed if nothing changes, and why; while a request is
    /// served only a cut (after a body timeout) closes it.
    fn deadline(&self, config: &ServerConfig) -> Option<(Instant, Close)> {
        let p = self.phase();
        let waiting = (p.in_flight == 0).then(|| {
            if p.reading_head {
                (p.since + config.header_read_timeout, Close::HeaderRead)
            } else {
                (p.since + config.idle_timeout, Close::Idle)
            }
        });
        match (waiting, p.cut_at) {
            (Some(w), Some(cut)) if w.0 <= cut => Some(w),
            (_, Some(cut)) => Some((cut, Close::AfterBodyTimeout)),
            (w, None) => w,
        }
    }
}

/// A request in flight; dropped with its response body (or with the request, if it never got one).
#[derive(Debug)]
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let mut p = self.0.phase();
        p.in_flight = p.in_flight.saturating_sub(1);
        if p.in_flight == 0 {
            p.since = Instant::now();
            p.reading_head = false;
        }
    }
}

/// A response body that keeps its request [`Busy`] until it has been sent (or dropped).
struct Tracked {
    body: Body,
    _busy: Busy,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, noting when bytes arrive.
struct Watched {
    io: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains (see the module docs),
/// feeding `metrics`. Returns once every connection is closed or dropped.
pub async fn run(listener: TcpListener, router: Router, config: ServerConfig, metrics: ConnectionMetrics, shutdown: impl Future<Output = ()>) {
    metrics.max.set(i64::try_from(config.max_connections).unwrap_or(i64::MAX));
    let config = Arc::new(config);
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let (stopping, stop) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        // At the limit, wait for a slot before accepting: new connections queue in the backlog.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        // Finished connections are reaped while waiting, so the set holds only open ones.
        let accepted = loop {
            tokio::select! {
                () = &mut shutdown => break None,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => break Some(accepted),
            }
        };
        let (stream, peer) = match accepted {
            None => break,
            Some(Ok(accepted)) => accepted,
            Some(Err(e)) => {
                accept_failed(&e).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        metrics.accepted.inc();
        if slots.available_permits() == 0 {
            // The next connection waits in the backlog until one of these ends.
            metrics.limit_reached.inc();
            tracing::debug!(max = config.max_connections, "every connection slot is taken; new connections wait");
        }
        let served = serve_connection(stream, peer, router.clone(), config.clone(), metrics.clone(), stop.clone());
        connections.spawn(async move {
            served.await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    while connections.try_join_next().is_some() {}
    let open = connections.len();
    let drained = tokio::time::timeout(config.drain, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(open, left = connections.len(), drain_s = config.drain.as_secs(), "drain deadline passed: dropping the connections left");
        connections.shutdown().await;
    }
}

/// An error of `accept`: a connection that died in the backlog is nothing; anything else (out of
/// file descriptors) is logged and the loop pauses briefly, as hyper's server did.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "accept failed; pausing");
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// Serves one connection until it ends, times out or is dropped at the drain deadline.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    config: Arc<ServerConfig>,
    metrics: ConnectionMetrics,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched { io: stream, activity: activity.clone() });
    let settings = config.clone();
    let requests = activity.clone();
    let body_metrics = metrics.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let busy = requests.begin();
        let client = client_addr(peer, req.headers(), &settings.trusted_proxies);
        // A body still to come gets its deadline, counted from now (the end of the headers).
        let deadline = (!req.body().is_end_stream()).then(|| BodyDeadline::new(settings.body_timeout));
        let mut req = req.map(|body| match &deadline {
            Some(state) => Body::new(body::TimedBody::new(body, state.clone(), requests.clone(), settings.header_read_timeout, body_metrics.clone())),
            None => Body::new(body),
        });
        req.extensions_mut().insert(ConnectInfo(client));
        if let Some(d) = &deadline {
            req.extensions_mut().insert(d.clone());
        }
        let router = router.clone();
        async move {
            let Ok(mut res) = router.oneshot(req).await;
            if deadline.is_some_and(|d| d.expired()) {
                // The rest of the body may still be on its way: this connection is done.
                res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok::<_, Infallible>(res.map(|body| Body::new(Tracked { body, _busy: busy })))
        }
    });
    let mut conn = pin!(hyper::server::conn::http1::Builder::new().serve_connection(io, service));
    // Declared after the connection so that it is dropped first: the gauge is down by the time
    // the socket closes (also when the task is dropped at the drain deadline).
    let _open = OpenConnection::new(&metrics);
    // The watcher looks again at least this often, to notice a wait that began after it slept.
    let recheck = config.header_read_timeout.min(config.idle_timeout);
    let mut draining = false;
    loop {
        let now = Instant::now();
        let wake = match activity.deadline(&config) {
            Some((deadline, why)) if deadline <= now => {
                match why {
                    Close::HeaderRead => metrics.header_read_timeouts.inc(),
                    Close::Idle => metrics.idle_closes.inc(),
                    Close::AfterBodyTimeout => {}
                }
                tracing::debug!(%peer, ?why, "closing a connection that is idle or too slow");
                return;
            }
            Some((deadline, _)) => deadline.min(now + recheck),
            None => now + recheck,
        };
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = tokio::time::sleep_until(wake) => {}
            _ = stop.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// One open connection, counted in `luckygas_http_connections_open` while it lives.
struct OpenConnection(prometheus::IntGauge);

impl OpenConnection {
    fn new(metrics: &ConnectionMetrics) -> OpenConnection {
        metrics.open.inc();
        OpenConnection(metrics.open.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn reads_settings_with_defaults_and_refuses_nonsense() {
        assert_eq!(ServerConfig::from_lookup(lookup(&[])), Ok(ServerConfig::default()));
        let c = ServerConfig::from_lookup(lookup(&[
            ("LUCKYGAS_HEADER_READ_TIMEOUT_SECS", "3"),
            ("LUCKYGAS_DRAIN_SECONDS", "0"),
            ("LUCKYGAS_BODY_TIMEOUT_SECS", "7"),
            ("LUCKYGAS_TRUSTED_PROXIES", "10.0.0.0/8, ::1"),
        ]))
        .expect("valid");
        assert_eq!((c.header_read_timeout, c.drain, c.trusted_proxies.len()), (Duration::from_secs(3), Duration::ZERO, 2));
        assert_eq!((c.body_timeout, ServerConfig::default().body_timeout), (Duration::from_secs(7), Duration::from_secs(30)));
        assert!(ServerConfig::from_lookup(lookup(&[("LUCKYGAS_BODY_TIMEOUT_SECS", "0")])).is_err());
        assert!(ServerConfig::from_lookup(lookup(&[("LUCKYGAS_MAX_CONNECTIONS", "0")])).is_err());
        assert!(ServerConfig::from_lookup(lookup(&[("LUCKYGAS_IDLE_TIMEOUT_SECS", "soon")])).is_err());
        assert!(ServerConfig::from_lookup(lookup(&[("LUCKYGAS_TRUSTED_PROXIES", "10.0.0.0/33")])).is_err());
    }

    #[test]
    fn believes_forwarded_addresses_only_from_trusted_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.2".parse().expect("header"));
        let proxy: SocketAddr = "10.0.0.1:5000".parse().expect("addr");
        let trusted = ["10.0.0.0/8".parse().expect("block")];
        assert_eq!(client_addr(proxy, &headers, &trusted), "203.0.113.7:0".parse().expect("addr"), "the right-most untrusted hop");
        let stranger: SocketAddr = "198.51.100.4:4000".parse().expect("addr");
        assert_eq!(client_addr(stranger, &headers, &trusted), stranger, "a client's own header is ignored");
        assert_eq!(client_addr(proxy, &HeaderMap::new(), &trusted), proxy, "no header: the proxy itself");
        headers.insert("x-forwarded-for", "not an address".parse().expect("header"));
        assert_eq!(client_addr(proxy, &headers, &trusted), proxy);
    }
}
