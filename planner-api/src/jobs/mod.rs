//! Everything that runs later or on a schedule, on one lease-based runner ([`runner`]):
//! - the background queue (`jobs` table): handlers registered by kind ([`Handlers`]); a job is
//!   enqueued in the transaction of the change that causes it (`enqueue_job!`), recurring jobs
//!   are rows that run again after each run;
//! - the transactional outbox (`outbox` table): effects outside the database (Turnkey files, later
//!   legacy writes and SMS) written in the transaction of their change (`enqueue_outbox!`) and
//!   delivered here, at least once, by the channel's deliverer ([`Channels`]);
//! - planning jobs ([`crate::worker`]) run on the same runner with their own queue table;
//! - [`prune`]: the recurring job that deletes spent sign-in throttle rows and ended rate-limit
//!   windows.
//!
//! A runner claims only the job kinds it has handlers for and the outbox channels it delivers:
//! the jobs of a module that is off in this process (invoicing without a seller) wait for one
//! that runs it.
//!
//! A clean shutdown is no failed attempt: a job still running when its runner is told to stop
//! gets [`Background::grace`] to finish; past that it is stopped and given back to the queue
//! with its attempt uncounted, as a planning job is (a killed process's jobs are retaken once
//! their lease expires, and that claim does count).

pub mod prune;
pub mod runner;

use crate::store::jobs::{ClaimedEffect, ClaimedTask, TaskEnd};
use crate::store::plans::epoch_ms;
use crate::store::Store;
use chrono::Utc;
use runner::Lane;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How a job's run ended, as its handler says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done for good.
    Done,
    /// A recurring job: run again after this long.
    Every(Duration),
    /// A passing failure: try again later (with backoff), up to [`Background::max_attempts`].
    Retry(String),
    /// A failure that another try will not fix.
    Fail(String),
}

/// A job handler: given the store and the claimed job, does the work.
pub type Handler = Arc<dyn Fn(Store, ClaimedTask) -> Pin<Box<dyn Future<Output = Outcome> + Send>> + Send + Sync>;

/// A deliverer of one outbox channel; runs on a blocking thread (files, sockets).
pub type Deliverer = Arc<dyn Fn(&ClaimedEffect) -> Result<(), String> + Send + Sync>;

/// Job handlers by kind.
#[derive(Clone, Default)]
pub struct Handlers(HashMap<&'static str, Handler>);

impl Handlers {
    /// The kinds handled (the only ones a runner claims).
    fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.0.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }
}

impl Handlers {
    /// Registers `handler` for jobs of `kind`.
    pub fn on<F, Fut>(&mut self, kind: &'static str, handler: F) -> &mut Self
    where
        F: Fn(Store, ClaimedTask) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        self.0.insert(kind, Arc::new(move |store, task| Box::pin(handler(store, task))));
        self
    }
}

/// Outbox deliverers by channel.
#[derive(Clone, Default)]
pub struct Channels(HashMap<&'static str, Deliverer>);

impl Channels {
    /// The channels delivered (the only ones a runner claims).
    fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.0.keys().copied().collect();
        names.sort_unstable();
        names
    }
}

impl Channels {
    /// Registers the deliverer of `channel`.
    pub fn on(&mut self, channel: &'static str, deliver: impl Fn(&ClaimedEffect) -> Result<(), String> + Send + Sync + 'static) -> &mut Self {
        self.0.insert(channel, Arc::new(deliver));
        self
    }
}

/// The background queue and the outbox, as work of the shared runner.
#[derive(Clone)]
pub struct Background {
    store: Store,
    handlers: Arc<Handlers>,
    channels: Arc<Channels>,
    /// The kinds of `handlers` and the names of `channels`: what this runner claims.
    kinds: Arc<[&'static str]>,
    channel_names: Arc<[&'static str]>,
    bell: Arc<Notify>,
    /// How long a claim holds a job or an outbox row (a dead runner's work is retaken after it).
    pub lease: Duration,
    /// How often idle workers look for due work.
    pub poll: Duration,
    /// A job retried this many times fails.
    pub max_attempts: i64,
    /// How long a running job may still take once its runner is told to stop, before it is
    /// stopped and given back to the queue.
    pub grace: Duration,
}

impl Background {
    /// The queue and outbox of `store`, with these handlers and deliverers.
    pub fn new(store: Store, handlers: Handlers, channels: Channels) -> Background {
        Background {
            store,
            kinds: handlers.kinds().into(),
            channel_names: channels.names().into(),
            handlers: Arc::new(handlers),
            channels: Arc::new(channels),
            bell: Arc::new(Notify::new()),
            lease: Duration::from_secs(60),
            poll: Duration::from_millis(500),
            max_attempts: 8,
            grace: Duration::from_secs(5),
        }
    }

    /// A handle that wakes idle workers (after enqueueing in this process).
    pub fn bell(&self) -> Arc<Notify> {
        Arc::clone(&self.bell)
    }

    /// Starts `workers` workers.
    pub fn spawn(self, workers: usize) -> runner::Pool {
        let stale_after = self.lease.max(self.poll * 4);
        runner::spawn("background", self, workers, stale_after)
    }

    fn lease_until(&self) -> i64 {
        epoch_ms(Utc::now()).saturating_add(i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX / 2))
    }

    /// Delivers one outbox row if one is waiting; `Ok(false)` when none.
    pub async fn deliver_one(&self, owner: &str) -> Result<bool, String> {
        let Some(effect) = self.store.claim_effect(owner, Utc::now(), self.lease_until(), &self.channel_names).await.map_err(|e| e.to_string())? else {
            return Ok(false);
        };
        let outcome = match self.channels.0.get(effect.channel.as_str()).cloned() {
            Some(deliver) => {
                let effect = effect.clone();
                tokio::task::spawn_blocking(move || deliver(&effect)).await.unwrap_or_else(|e| Err(format!("the deliverer stopped: {e}")))
            }
            None => Err(format!("no deliverer for channel {}", effect.channel)),
        };
        if let Err(e) = &outcome {
            tracing::warn!(outbox = effect.id, destination = %effect.destination, attempt = effect.attempts, error = %e, "outbox delivery failed; will retry");
        }
        let retry_at = epoch_ms(Utc::now()) + backoff_ms(effect.attempts);
        self.store.finish_effect(effect.id, owner, outcome.as_ref().map(|_| ()).map_err(String::as_str), retry_at).await.map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// Runs one due job if there is one; `Ok(false)` when none.
    pub async fn run_task(&self, owner: &str) -> Result<bool, String> {
        self.run_task_until(owner, std::future::pending()).await
    }

    /// Runs one due job if there is one, until `stopping` resolves: then the job has
    /// [`Background::grace`] to end, else it is stopped and released uncounted.
    async fn run_task_until(&self, owner: &str, stopping: impl Future<Output = ()> + Send) -> Result<bool, String> {
        let Some(task) = self.store.claim_task(owner, Utc::now(), self.lease_until(), &self.kinds).await.map_err(|e| e.to_string())? else {
            return Ok(false);
        };
        let (id, attempts) = (task.id, task.attempts);
        let outcome = match self.handlers.0.get(task.kind.as_str()).cloned() {
            Some(handler) => {
                let kind = task.kind.clone();
                let mut run = tokio::spawn(handler(self.store.clone(), task));
                let joined = tokio::select! {
                    joined = &mut run => Some(joined),
                    () = stopping => tokio::time::timeout(self.grace, &mut run).await.ok(),
                };
                match joined {
                    Some(Ok(outcome)) => outcome,
                    // A handler that panics fails its job instead of killing the worker.
                    Some(Err(e)) => Outcome::Fail(format!("the {kind} handler stopped: {e}")),
                    None => {
                        run.abort();
                        let released = self.store.release_task(id, owner).await.map_err(|e| e.to_string())?;
                        tracing::info!(job = id, kind = %kind, released, "background job stopped by the shutdown; given back to the queue uncounted");
                        return Ok(true);
                    }
                }
            }
            None => Outcome::Fail(format!("no handler for jobs of kind {}", task.kind)),
        };
        let now = Utc::now();
        let end = match &outcome {
            Outcome::Done => TaskEnd::Done,
            Outcome::Every(every) => TaskEnd::Again { at: now + chrono::Duration::from_std(*every).unwrap_or(chrono::Duration::MAX), error: None },
            Outcome::Retry(why) if attempts < self.max_attempts => {
                TaskEnd::Again { at: now + chrono::Duration::milliseconds(backoff_ms(attempts)), error: Some(why.as_str()) }
            }
            Outcome::Retry(why) | Outcome::Fail(why) => TaskEnd::Failed(why.as_str()),
        };
        if let TaskEnd::Failed(why) | TaskEnd::Again { error: Some(why), .. } = end {
            tracing::warn!(job = id, attempt = attempts, error = %why, "background job did not succeed");
        }
        self.store.finish_task(id, owner, end).await.map_err(|e| e.to_string())?;
        Ok(true)
    }
}

/// Exponential backoff: 1 s, 2 s, 4 s … capped at 5 minutes.
fn backoff_ms(attempts: i64) -> i64 {
    let exp = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    1_000i64.saturating_mul(1i64 << exp).min(300_000)
}

impl runner::Work for Background {
    async fn run_one(&self, lane: &mut Lane) -> Result<bool, String> {
        // Effects first: they are what someone outside waits for.
        if self.deliver_one(&lane.owner).await? {
            return Ok(true);
        }
        let mut stop = lane.stop_signal();
        // A closed channel means the pool is gone: stopping too.
        let stopping = async move {
            let _ = stop.wait_for(|stopping| *stopping).await;
        };
        self.run_task_until(&lane.owner, stopping).await
    }

    fn woken(&self) -> impl Future<Output = ()> + Send {
        let bell = Arc::clone(&self.bell);
        async move { bell.notified().await }
    }

    fn poll(&self) -> Duration {
        self.poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_exponentially_up_to_five_minutes() {
        assert_eq!(backoff_ms(1), 1_000);
        assert_eq!(backoff_ms(2), 2_000);
        assert_eq!(backoff_ms(4), 8_000);
        assert_eq!(backoff_ms(40), 300_000);
        assert_eq!(backoff_ms(0), 1_000);
    }
}
