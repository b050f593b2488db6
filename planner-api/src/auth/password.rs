//! Password hashing with argon2id (the crate's defaults: the OWASP-recommended 19 MiB, two
//! passes), under a process-wide bound.
//!
//! Each hash fills 19 MiB and costs tens of milliseconds of CPU on purpose, so an unbounded
//! number of concurrent sign-ins is a memory attack (200 wrong logins at once reached 8.1 GiB).
//! Every hash and every check therefore runs through one [`HashLimiter`] per process: at most
//! `permits` run at once (off the async executor), at most `queue` more wait, each for at most
//! `queue_timeout`; anything beyond answers [`Busy`] at once (a 503 with `Retry-After`). The
//! 19 MiB work areas are kept, one per permit, and reused, so the memory of hashing is
//! `permits × 19 MiB` whatever the allocator does with freed blocks.

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Default waiting sign-ins per hashing slot.
pub const QUEUE_PER_PERMIT: u32 = 16;

/// The bound on concurrent hashing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashLimits {
    /// Hashes computed at once.
    pub permits: u32,
    /// Callers waiting for a slot at most; more are refused at once.
    pub queue: u32,
    /// Longest wait for a slot.
    pub queue_timeout: Duration,
}

impl Default for HashLimits {
    /// One slot per available CPU (hashing is CPU-bound: more slots only add memory), 16
    /// waiting per slot, 5 s of waiting.
    fn default() -> Self {
        let permits = std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX)).max(1);
        HashLimits { permits, queue: permits.saturating_mul(QUEUE_PER_PERMIT), queue_timeout: Duration::from_secs(5) }
    }
}

/// Hashing is saturated: the queue is full or the wait timed out. Retry after `retry_after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("password hashing is saturated; retry in {retry_after:?}")]
pub struct Busy {
    /// When to try again.
    pub retry_after: Duration,
}

/// Runs argon2 with at most `permits` at once, reusing their work areas.
#[derive(Debug)]
pub struct HashLimiter {
    limits: HashLimits,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    /// Work areas not in use (at most one per permit ever exists).
    areas: Mutex<Vec<Vec<Block>>>,
}

impl HashLimiter {
    /// A limiter with `limits`.
    pub fn new(limits: HashLimits) -> HashLimiter {
        let permits = usize::try_from(limits.permits.max(1)).unwrap_or(1);
        HashLimiter { limits, permits: Arc::new(Semaphore::new(permits)), waiting: AtomicUsize::new(0), areas: Mutex::new(Vec::new()) }
    }

    /// Its limits.
    pub fn limits(&self) -> HashLimits {
        self.limits
    }

    /// Waits for a hashing slot: at once when one is free, else in the queue for at most
    /// `queue_timeout`; [`Busy`] when the queue is full or the wait times out. The slot is
    /// held until the [`Slot`] is used or dropped.
    pub async fn slot(&'static self) -> Result<Slot, Busy> {
        let busy = Busy { retry_after: self.limits.queue_timeout.max(Duration::from_secs(1)) };
        let permit = match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                // Count ourselves in the queue first, so that concurrent callers cannot all slip in.
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.limits.queue as usize {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(busy);
                }
                let acquired = tokio::time::timeout(self.limits.queue_timeout, Arc::clone(&self.permits).acquire_owned()).await;
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                match acquired {
                    Ok(Ok(permit)) => permit,
                    // The semaphore is never closed; a timeout is the only other way out.
                    _ => return Err(busy),
                }
            }
        };
        Ok(Slot { limiter: self, _permit: permit })
    }

    /// Hashes `password` with a fresh random salt into a PHC string (`$argon2id$v=19$…`).
    pub async fn hash(&'static self, password: &str) -> Result<String, Busy> {
        Ok(self.slot().await?.hash(password).await)
    }

    /// Whether `password` matches the PHC string `phc`; a malformed hash matches nothing.
    pub async fn verify(&'static self, password: &str, phc: &str) -> Result<bool, Busy> {
        Ok(self.slot().await?.verify(password, phc).await)
    }
}

/// A held hashing slot: one hash or check runs with it, then it is free again.
#[derive(Debug)]
pub struct Slot {
    limiter: &'static HashLimiter,
    _permit: OwnedSemaphorePermit,
}

impl Slot {
    /// Runs `f` with the slot's work area (default size or more) on a blocking thread. The
    /// slot travels with the work: if the caller goes away (a client hanging up), the hash
    /// still finishes before the slot is free again, so no more than `permits` ever run.
    async fn run<T: Send + 'static>(self, f: impl FnOnce(&mut [Block]) -> T + Send + 'static) -> T {
        let work = tokio::task::spawn_blocking(move || {
            let areas = &self.limiter.areas;
            let mut area = areas.lock().unwrap_or_else(PoisonError::into_inner).pop().unwrap_or_default();
            let blocks = Params::DEFAULT_M_COST as usize;
            if area.len() < blocks {
                area.resize(blocks, Block::default());
            }
            let result = f(&mut area);
            areas.lock().unwrap_or_else(PoisonError::into_inner).push(area);
            // The permit is released here, after the area is back.
            drop(self);
            result
        });
        match work.await {
            Ok(result) => result,
            // argon2 over valid parameters does not panic; if it did, surface it.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Hashes `password` with a fresh random salt into a PHC string (`$argon2id$v=19$…`).
    pub async fn hash(self, password: &str) -> String {
        let password = password.to_owned();
        self.run(move |area| hash_with(&password, area)).await
    }

    /// Whether `password` matches the PHC string `phc`; a malformed hash matches nothing.
    pub async fn verify(self, password: &str, phc: &str) -> bool {
        let (password, phc) = (password.to_owned(), phc.to_owned());
        self.run(move |area| verify_with(&password, &phc, area)).await
    }

    /// Checks `password` against a hash of a random password, so that signing in with an
    /// unknown email costs as much as with a wrong password and does not reveal which emails
    /// exist.
    pub async fn verify_against_nothing(self, password: &str) -> bool {
        static DUMMY: OnceLock<String> = OnceLock::new();
        let password = password.to_owned();
        self.run(move |area| {
            let dummy = match DUMMY.get() {
                Some(d) => d,
                None => {
                    let d = hash_with(&super::random_hex(16), area);
                    DUMMY.get_or_init(|| d)
                }
            };
            verify_with(&password, dummy, area)
        })
        .await
    }
}

static LIMITER: OnceLock<HashLimiter> = OnceLock::new();

/// The process's limiter: installed by [`install`], or else made at first use from the
/// `LUCKYGAS_HASH_…` variables (checked at start by `AuthConfig::from_lookup`; a value that
/// does not parse falls back to the defaults here).
pub fn limiter() -> &'static HashLimiter {
    LIMITER.get_or_init(|| HashLimiter::new(HashLimits::from_lookup(|k| std::env::var(k).ok()).unwrap_or_default()))
}

/// Installs the process's limiter with `limits` before its first use; `false` when one is in
/// use already (its limits stay).
pub fn install(limits: HashLimits) -> bool {
    LIMITER.set(HashLimiter::new(limits)).is_ok()
}

fn hash_with(password: &str, area: &mut [Block]) -> String {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).expect("the operating system's random source works");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    let params = Params::default();
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt.decode_b64(&mut salt_bytes).expect("a salt we encoded decodes");
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::default()
        .hash_password_into_with_memory(password.as_bytes(), salt_raw, &mut out, area)
        .expect("argon2 with default parameters hashes any password");
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).expect("default parameters encode"),
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).expect("32 bytes are a valid output")),
    };
    phc.to_string()
}

fn verify_with(password: &str, phc: &str, area: &mut [Block]) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (Algorithm::try_from(parsed.algorithm), Params::try_from(&parsed), parsed.salt, parsed.hash)
    else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_raw) = salt.decode_b64(&mut salt_bytes) else { return false };
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params.clone());
    let computed = if params.block_count() <= area.len() {
        argon.hash_password_into_with_memory(password.as_bytes(), salt_raw, &mut out, area)
    } else {
        // A hash made with more memory than ours (none of ours): its own, temporary area.
        argon.hash_password_into(password.as_bytes(), salt_raw, &mut out)
    };
    // `Output`'s equality is constant-time.
    computed.is_ok() && Output::new(&out).is_ok_and(|o| o == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    fn limiter(limits: HashLimits) -> &'static HashLimiter {
        Box::leak(Box::new(HashLimiter::new(limits)))
    }

    #[tokio::test]
    async fn verifies_the_right_password_only_and_salts_each_hash() {
        let l = limiter(HashLimits::default());
        let h = l.hash("correct horse battery").await.expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(l.verify("correct horse battery", &h).await, Ok(true));
        assert_eq!(l.verify("correct horse batterY", &h).await, Ok(false));
        assert_ne!(h, l.hash("correct horse battery").await.expect("hash"), "a fresh salt each time");
        assert_eq!(l.verify("anything", "not a phc string").await, Ok(false));
        assert!(!l.slot().await.expect("slot").verify_against_nothing("anything").await);
    }

    #[tokio::test]
    async fn reads_and_writes_the_same_hashes_as_the_argon2_crate() {
        let l = limiter(HashLimits::default());
        // A hash stored before the bound existed still verifies, and ours verify there.
        let salt = SaltString::encode_b64(&[9u8; 16]).expect("salt");
        let old = Argon2::default().hash_password(b"an existing password", &salt).expect("hash").to_string();
        assert_eq!(l.verify("an existing password", &old).await, Ok(true));
        let small = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(64 * 1024, 1, 1, None).expect("params"));
        let bigger = small.hash_password(b"more memory", &salt).expect("hash").to_string();
        assert_eq!(l.verify("more memory", &bigger).await, Ok(true), "a hash needing more than our area");
        let ours = l.hash("a new password").await.expect("hash");
        let parsed = PasswordHash::new(&ours).expect("PHC");
        assert!(Argon2::default().verify_password(b"a new password", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"a new passworD", &parsed).is_err());
    }

    #[tokio::test]
    async fn refuses_at_once_when_the_queue_is_full_and_reuses_work_areas() {
        let l = limiter(HashLimits { permits: 1, queue: 1, queue_timeout: Duration::from_secs(30) });
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        // Hold the only slot until told to let go.
        let slot = l.slot().await.expect("a free slot");
        let holder = tokio::spawn(slot.run(move |_| rx.recv().is_ok()));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while l.permits.available_permits() > 0 {
            assert!(std::time::Instant::now() < deadline, "the holder takes the slot");
            tokio::task::yield_now().await;
        }
        let waiter = tokio::spawn(l.verify("waits in the queue", "not a phc string"));
        while l.waiting.load(Ordering::SeqCst) == 0 {
            assert!(std::time::Instant::now() < deadline, "the waiter queues");
            tokio::task::yield_now().await;
        }
        let refused = l.hash("one too many").await;
        assert_eq!(refused, Err(Busy { retry_after: Duration::from_secs(30) }), "the queue of one is full");
        tx.send(()).expect("release the holder");
        assert!(holder.await.expect("holder"));
        assert_eq!(waiter.await.expect("waiter"), Ok(false), "the queued check ran once the slot was free");
        assert_eq!(l.areas.lock().map(|a| a.len()).unwrap_or(0), 1, "one slot, one work area, reused");
    }

    #[tokio::test]
    async fn gives_up_waiting_after_the_timeout() {
        let l = limiter(HashLimits { permits: 1, queue: 4, queue_timeout: Duration::from_millis(50) });
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let slot = l.slot().await.expect("a free slot");
        let holder = tokio::spawn(slot.run(move |_| rx.recv().is_ok()));
        while l.permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(l.hash("waits too long").await.map(|_| ()), Err(Busy { retry_after: Duration::from_secs(1) }));
        tx.send(()).expect("release");
        assert!(holder.await.expect("holder"));
    }
}
