//! The body-read deadline ([`super::ServerConfig::body_timeout`]): a request body still to come
//! is read through a [`TimedBody`], which fails once the deadline passes before the body's end;
//! the request's [`BodyDeadline`] (in its extensions) then tells [`answer_body_timeouts`] to
//! answer `408 request-timeout`, and the accept loop to close the connection.

use super::Activity;
use crate::http::error::ApiError;
use crate::http::metrics::ConnectionMetrics;
use axum::body::Bytes;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// The body-read deadline of one request, shared by its body and (in its extensions) by
/// [`answer_body_timeouts`].
#[derive(Clone, Debug)]
pub struct BodyDeadline(Arc<DeadlineState>);

#[derive(Debug)]
struct DeadlineState {
    timeout: Duration,
    expired: AtomicBool,
}

impl BodyDeadline {
    pub(super) fn new(timeout: Duration) -> BodyDeadline {
        BodyDeadline(Arc::new(DeadlineState { timeout, expired: AtomicBool::new(false) }))
    }

    /// Whether the body did not arrive in time.
    pub fn expired(&self) -> bool {
        self.0.expired.load(Ordering::Acquire)
    }

    /// The deadline, counted from the end of the request's headers.
    pub fn timeout(&self) -> Duration {
        self.0.timeout
    }
}

/// The request body as it arrives, failing once its deadline passes before its end.
pub(super) struct TimedBody {
    body: Incoming,
    deadline: Pin<Box<Sleep>>,
    state: BodyDeadline,
    /// The connection, cut a header-read timeout after the deadline if it lingers.
    activity: Arc<Activity>,
    grace: Duration,
    metrics: ConnectionMetrics,
}

impl TimedBody {
    /// `body` under `state`'s deadline, counted from now; past it the connection of `activity`
    /// is cut after `grace` unless it closed by itself.
    pub(super) fn new(body: Incoming, state: BodyDeadline, activity: Arc<Activity>, grace: Duration, metrics: ConnectionMetrics) -> TimedBody {
        TimedBody { body, deadline: Box::pin(tokio::time::sleep(state.timeout())), state, activity, grace, metrics }
    }
}

/// The error a [`TimedBody`] fails with.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
struct BodyTimedOut(Duration);

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.state.expired() {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut(this.state.timeout())))));
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        // Nothing yet: the deadline's timer wakes this task if it passes first.
        if this.deadline.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        if !this.state.0.expired.swap(true, Ordering::AcqRel) {
            this.metrics.body_timeouts.inc();
            this.activity.cut_after(this.grace);
            tracing::info!(timeout_s = this.state.timeout().as_secs(), "a request body did not arrive in time; answering 408");
        }
        Poll::Ready(Some(Err(Box::new(BodyTimedOut(this.state.timeout())))))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Middleware: a request whose body did not arrive within its [`BodyDeadline`] is answered
/// `408 request-timeout`, whatever its handler made of the broken body (a `400`, or nothing
/// yet). Requests not served by [`run`] carry no deadline and pass untouched.
pub async fn answer_body_timeouts(req: axum::extract::Request, next: Next) -> Response {
    let deadline = req.extensions().get::<BodyDeadline>().cloned();
    let res = next.run(req).await;
    match deadline {
        Some(d) if d.expired() => ApiError::BodyTimeout { after_s: d.timeout().as_secs() }.into_response(),
        _ => res,
    }
}
