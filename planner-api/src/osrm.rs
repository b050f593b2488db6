//! A client of OSRM's `table` service, the road-network travel matrices of production.
//!
//! [`Osrm::table`] asks an OSRM server (`GET /table/v1/{profile}/{lon,lat;…}`) for the distances
//! and durations between every pair of points. OSRM refuses tables over its `--max-table-size`
//! (100 locations by default), so a large matrix is asked for in blocks of sources × destinations
//! whose locations together stay within [`OsrmConfig::max_table_size`].
//!
//! Every request has a timeout, and a circuit breaker guards the server: after
//! [`OsrmConfig::failure_threshold`] failed tables in a row it opens and calls fail at once with
//! [`OsrmError::CircuitOpen`] for [`OsrmConfig::cooldown`]; then one trial call is let through
//! (half-open), and its success closes the breaker again. The caller falls back to the embedded
//! estimate on any error and says so in the plan; a failing OSRM never fails a plan.
//!
//! The client is blocking: the planner builds matrices on its worker threads, off the async
//! executor.

use crate::travel::{GreatCircle, Matrices, RoutingProfile, TravelError, TravelMatrix, TravelSource};
use serde::Deserialize;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where the OSRM server is and how patient to be with it.
#[derive(Clone, Debug, PartialEq)]
pub struct OsrmConfig {
    /// The server's base URL, e.g. `http://osrm:5000`.
    pub base_url: String,
    /// Timeout of one HTTP request.
    pub timeout: Duration,
    /// Locations (sources and destinations together) in one request.
    pub max_table_size: usize,
    /// Failed tables in a row that open the breaker.
    pub failure_threshold: u32,
    /// How long the open breaker refuses calls before it lets a trial through.
    pub cooldown: Duration,
}

impl OsrmConfig {
    /// Defaults for a server at `base_url`: 5 s timeout, 100 locations a request, the breaker
    /// opening after 3 failures for 30 s.
    pub fn new(base_url: impl Into<String>) -> OsrmConfig {
        OsrmConfig { base_url: base_url.into(), timeout: Duration::from_secs(5), max_table_size: 100, failure_threshold: 3, cooldown: Duration::from_secs(30) }
    }

    /// The configuration from the environment: `LUCKYGAS_OSRM_URL` (none: no OSRM, `Ok(None)`),
    /// `LUCKYGAS_OSRM_TIMEOUT_MS`, `LUCKYGAS_OSRM_MAX_TABLE_SIZE`,
    /// `LUCKYGAS_OSRM_FAILURE_THRESHOLD`, `LUCKYGAS_OSRM_COOLDOWN_S`.
    pub fn from_env() -> Result<Option<OsrmConfig>, OsrmError> {
        OsrmConfig::from_lookup(|k| std::env::var(k).ok())
    }

    /// As [`OsrmConfig::from_env`], reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<OsrmConfig>, OsrmError> {
        let Some(url) = lookup("LUCKYGAS_OSRM_URL").filter(|u| !u.trim().is_empty()) else {
            return Ok(None);
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(OsrmError::Config(format!("LUCKYGAS_OSRM_URL must start with http:// or https://, not {url:?}")));
        }
        let mut c = OsrmConfig::new(url.trim_end_matches('/'));
        let number = |key: &str, min: u64| -> Result<Option<u64>, OsrmError> {
            match lookup(key) {
                None => Ok(None),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if n >= min => Ok(Some(n)),
                    _ => Err(OsrmError::Config(format!("{key} must be a whole number of at least {min}, not {v:?}"))),
                },
            }
        };
        if let Some(ms) = number("LUCKYGAS_OSRM_TIMEOUT_MS", 1)? {
            c.timeout = Duration::from_millis(ms);
        }
        if let Some(n) = number("LUCKYGAS_OSRM_MAX_TABLE_SIZE", 2)? {
            c.max_table_size = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = number("LUCKYGAS_OSRM_FAILURE_THRESHOLD", 1)? {
            c.failure_threshold = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(s) = number("LUCKYGAS_OSRM_COOLDOWN_S", 0)? {
            c.cooldown = Duration::from_secs(s);
        }
        Ok(Some(c))
    }
}

/// Why a table could not be had from OSRM.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OsrmError {
    /// The configuration is unusable.
    #[error("OSRM configuration: {0}")]
    Config(String),
    /// The breaker is open after repeated failures.
    #[error("OSRM is not asked for {retry_in:?} after repeated failures")]
    CircuitOpen {
        /// Time until a trial call is let through.
        retry_in: Duration,
    },
    /// No answer within the timeout.
    #[error("OSRM did not answer within the timeout")]
    Timeout,
    /// The connection failed.
    #[error("OSRM could not be reached: {0}")]
    Transport(String),
    /// The server answered with an HTTP error status and no OSRM error code.
    #[error("OSRM answered HTTP {0}")]
    Status(u16),
    /// The server answered with an OSRM error code (`InvalidQuery`, `TooBig`, …).
    #[error("OSRM refused the table: {code}: {message}")]
    Refused {
        /// OSRM's code.
        code: String,
        /// OSRM's message.
        message: String,
    },
    /// The answer is not a table of the asked size.
    #[error("OSRM's answer is not a table: {0}")]
    Protocol(String),
    /// No road connects two of the points.
    #[error("OSRM finds no route from point {from} to point {to}")]
    Unroutable {
        /// Index of the origin among the asked points.
        from: usize,
        /// Index of the destination.
        to: usize,
    },
}

/// Distances (metres) and durations (seconds) between every pair of the asked points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsrmTable {
    /// `distance_m[a][b]`: metres from point `a` to point `b`.
    pub distance_m: Vec<Vec<i64>>,
    /// `duration_s[a][b]`: seconds from point `a` to point `b`.
    pub duration_s: Vec<Vec<i64>>,
}

/// The breaker's state, for health reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; this many failed in a row.
    Closed {
        /// Consecutive failures so far.
        failures: u32,
    },
    /// Calls fail at once until the cooldown ends.
    Open,
    /// One trial call is let through.
    HalfOpen,
}

#[derive(Debug)]
enum Breaker {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { trial: bool },
}

/// A clock, replaceable in tests of the breaker.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// An OSRM `table` client with a timeout and a circuit breaker.
pub struct Osrm {
    config: OsrmConfig,
    client: reqwest::blocking::Client,
    breaker: Mutex<Breaker>,
    clock: Clock,
}

impl fmt::Debug for Osrm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Osrm").field("config", &self.config).field("breaker", &self.breaker_state()).finish()
    }
}

impl Osrm {
    /// A client with the system clock.
    pub fn new(config: OsrmConfig) -> Result<Osrm, OsrmError> {
        Osrm::with_clock(config, Arc::new(Instant::now))
    }

    /// A client whose breaker reads time from `clock`.
    pub fn with_clock(config: OsrmConfig, clock: Clock) -> Result<Osrm, OsrmError> {
        if config.max_table_size < 2 {
            return Err(OsrmError::Config("max_table_size must be at least 2".into()));
        }
        let client = reqwest::blocking::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| OsrmError::Config(e.to_string()))?;
        Ok(Osrm { config, client, breaker: Mutex::new(Breaker::Closed { failures: 0 }), clock })
    }

    /// The configuration.
    pub fn config(&self) -> &OsrmConfig {
        &self.config
    }

    /// The breaker's state now.
    pub fn breaker_state(&self) -> BreakerState {
        let now = (self.clock)();
        match *self.breaker.lock().unwrap_or_else(|e| e.into_inner()) {
            Breaker::Closed { failures } => BreakerState::Closed { failures },
            Breaker::Open { until } if now < until => BreakerState::Open,
            Breaker::Open { .. } | Breaker::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Distances and durations between every pair of `points` (`(lat, lon)` in degrees) for the
    /// OSRM profile `profile` (the path segment after `/table/v1/`, e.g. `driving`).
    pub fn table(&self, profile: &str, points: &[(f64, f64)]) -> Result<OsrmTable, OsrmError> {
        if profile.is_empty() || !profile.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(OsrmError::Config(format!("profile {profile:?} is not a plain name")));
        }
        if let Some(k) = points.iter().position(|&(lat, lon)| !(lat.abs() <= 90.0 && lon.abs() <= 180.0)) {
            return Err(OsrmError::Config(format!("point {k} is not a latitude and longitude")));
        }
        self.admit()?;
        let result = self.blocks(profile, points);
        self.record(result.is_ok());
        result
    }

    fn admit(&self) -> Result<(), OsrmError> {
        let now = (self.clock)();
        let mut b = self.breaker.lock().unwrap_or_else(|e| e.into_inner());
        match *b {
            Breaker::Closed { .. } => Ok(()),
            Breaker::Open { until } if now < until => Err(OsrmError::CircuitOpen { retry_in: until - now }),
            Breaker::Open { .. } | Breaker::HalfOpen { trial: false } => {
                *b = Breaker::HalfOpen { trial: true };
                Ok(())
            }
            // A trial is already out: the others wait for its verdict.
            Breaker::HalfOpen { trial: true } => Err(OsrmError::CircuitOpen { retry_in: Duration::ZERO }),
        }
    }

    fn record(&self, ok: bool) {
        let now = (self.clock)();
        let mut b = self.breaker.lock().unwrap_or_else(|e| e.into_inner());
        *b = match (&*b, ok) {
            (_, true) => Breaker::Closed { failures: 0 },
            (Breaker::Closed { failures }, false) if failures + 1 < self.config.failure_threshold => Breaker::Closed { failures: failures + 1 },
            (_, false) => Breaker::Open { until: now + self.config.cooldown },
        };
    }

    /// Asks for the table in blocks of at most `max_table_size` locations.
    fn blocks(&self, profile: &str, points: &[(f64, f64)]) -> Result<OsrmTable, OsrmError> {
        let n = points.len();
        let mut table = OsrmTable { distance_m: vec![vec![0; n]; n], duration_s: vec![vec![0; n]; n] };
        if n <= 1 {
            return Ok(table);
        }
        let whole = n <= self.config.max_table_size;
        let chunk = if whole { n } else { self.config.max_table_size / 2 };
        for s0 in (0..n).step_by(chunk) {
            for d0 in (0..n).step_by(chunk) {
                let sources: Vec<usize> = (s0..(s0 + chunk).min(n)).collect();
                let destinations: Vec<usize> = (d0..(d0 + chunk).min(n)).collect();
                self.block(profile, points, &sources, &destinations, whole, &mut table)?;
            }
        }
        Ok(table)
    }

    fn block(
        &self,
        profile: &str,
        points: &[(f64, f64)],
        sources: &[usize],
        destinations: &[usize],
        whole: bool,
        table: &mut OsrmTable,
    ) -> Result<(), OsrmError> {
        // The locations of this request: the sources, then the destinations not among them.
        let mut locations: Vec<usize> = sources.to_vec();
        locations.extend(destinations.iter().filter(|d| !sources.contains(d)));
        let position = |p: usize| locations.iter().position(|&l| l == p).unwrap_or(0);
        let coords: Vec<String> = locations.iter().map(|&p| format!("{:.6},{:.6}", points[p].1, points[p].0)).collect();
        let mut url = format!("{}/table/v1/{}/{}?annotations=duration,distance", self.config.base_url.trim_end_matches('/'), profile, coords.join(";"));
        if !whole {
            let join = |v: &[usize]| v.iter().map(|&p| position(p).to_string()).collect::<Vec<_>>().join(";");
            url.push_str(&format!("&sources={}&destinations={}", join(sources), join(destinations)));
        }
        let response = self.client.get(&url).send().map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().map_err(transport)?;
        let part = match parse_table(&body, sources.len(), destinations.len()) {
            Err(OsrmError::Protocol(_)) if !(200..300).contains(&status) => return Err(OsrmError::Status(status)),
            other => other?,
        };
        for (i, &s) in sources.iter().enumerate() {
            for (j, &d) in destinations.iter().enumerate() {
                let (metres, seconds) = (part.distance_m[i][j], part.duration_s[i][j]);
                if metres < 0 || seconds < 0 {
                    return Err(OsrmError::Unroutable { from: s, to: d });
                }
                table.distance_m[s][d] = metres;
                table.duration_s[s][d] = seconds;
            }
        }
        Ok(())
    }
}

/// OSRM's profile names for our routing profiles (`LUCKYGAS_OSRM_PROFILE_TRUCK`,
/// `LUCKYGAS_OSRM_PROFILE_MOTORCYCLE`; both `driving` unless set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsrmProfiles {
    /// Profile asked for truck matrices.
    pub truck: String,
    /// Profile asked for motorcycle matrices.
    pub motorcycle: String,
}

impl OsrmProfiles {
    /// The names from the environment, through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> OsrmProfiles {
        let name = |k: &str| lookup(k).filter(|v| !v.trim().is_empty()).unwrap_or_else(|| "driving".to_owned());
        OsrmProfiles { truck: name("LUCKYGAS_OSRM_PROFILE_TRUCK"), motorcycle: name("LUCKYGAS_OSRM_PROFILE_MOTORCYCLE") }
    }

    fn of(&self, profile: RoutingProfile) -> &str {
        match profile {
            RoutingProfile::Truck => &self.truck,
            RoutingProfile::Motorcycle => &self.motorcycle,
        }
    }
}

/// Road matrices from OSRM, with the embedded estimate standing in whenever OSRM fails (the
/// plan's travel source then says so and why).
#[derive(Debug)]
pub struct OsrmMatrix {
    osrm: Osrm,
    profiles: OsrmProfiles,
    fallback: GreatCircle,
}

impl OsrmMatrix {
    /// OSRM through `osrm`, asking `profiles`, falling back to `fallback`.
    pub fn new(osrm: Osrm, profiles: OsrmProfiles, fallback: GreatCircle) -> OsrmMatrix {
        OsrmMatrix { osrm, profiles, fallback }
    }

    /// The client, for health reports.
    pub fn client(&self) -> &Osrm {
        &self.osrm
    }
}

impl TravelMatrix for OsrmMatrix {
    fn breaker_open(&self) -> Option<bool> {
        Some(self.osrm.breaker_state() == BreakerState::Open)
    }

    fn matrices(&self, profile: RoutingProfile, points: &[(f64, f64)]) -> Result<Matrices, TravelError> {
        match self.osrm.table(self.profiles.of(profile), points) {
            Ok(t) => Ok(Matrices {
                distance_m: t.distance_m,
                duration_s: t.duration_s,
                source: TravelSource { profile: profile.name().to_owned(), provider: "osrm".to_owned(), fallback_reason: None, rush_hours: Vec::new() },
            }),
            Err(e) => {
                tracing::warn!(error = %e, profile = profile.name(), "OSRM table failed; using the great-circle estimate");
                let mut m = self.fallback.matrices(profile, points)?;
                m.source.fallback_reason = Some(e.to_string());
                Ok(m)
            }
        }
    }
}

/// A failed request: a timeout, or a transport error without the URL (it holds coordinates).
fn transport(e: reqwest::Error) -> OsrmError {
    if e.is_timeout() {
        OsrmError::Timeout
    } else {
        OsrmError::Transport(e.without_url().to_string())
    }
}

#[derive(Deserialize)]
struct TableResponse {
    code: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    durations: Option<Vec<Vec<Option<f64>>>>,
    #[serde(default)]
    distances: Option<Vec<Vec<Option<f64>>>>,
}

/// Parses an OSRM `table` answer of `rows` sources by `cols` destinations. Unroutable pairs
/// (OSRM's `null`) come back as −1; the caller reports them.
pub fn parse_table(body: &[u8], rows: usize, cols: usize) -> Result<OsrmTable, OsrmError> {
    let r: TableResponse = serde_json::from_slice(body).map_err(|e| OsrmError::Protocol(e.to_string()))?;
    if r.code != "Ok" {
        return Err(OsrmError::Refused { code: r.code, message: r.message.unwrap_or_default() });
    }
    let grid = |name: &str, g: Option<Vec<Vec<Option<f64>>>>| -> Result<Vec<Vec<i64>>, OsrmError> {
        let g = g.ok_or_else(|| OsrmError::Protocol(format!("no {name} in the answer")))?;
        if g.len() != rows || g.iter().any(|row| row.len() != cols) {
            return Err(OsrmError::Protocol(format!("{name} is not {rows}×{cols}")));
        }
        g.into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|v| match v {
                        None => Ok(-1),
                        // A day's drive is far below i64's range; NaN and negatives are refused.
                        #[allow(clippy::cast_possible_truncation)]
                        Some(x) if x.is_finite() && (0.0..1e12).contains(&x) => Ok(x.round() as i64),
                        Some(x) => Err(OsrmError::Protocol(format!("{name} holds {x}"))),
                    })
                    .collect()
            })
            .collect()
    };
    Ok(OsrmTable { duration_s: grid("durations", r.durations)?, distance_m: grid("distances", r.distances)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_table_with_an_unroutable_pair() {
        let body = br#"{"code":"Ok","durations":[[0,10.4],[null,0]],"distances":[[0,99.5],[120,0]]}"#;
        let t = parse_table(body, 2, 2).unwrap();
        assert_eq!(t.duration_s, vec![vec![0, 10], vec![-1, 0]]);
        assert_eq!(t.distance_m, vec![vec![0, 100], vec![120, 0]]);
    }

    #[test]
    fn refuses_wrong_shapes_codes_and_values() {
        assert!(matches!(parse_table(b"{\"code\":\"TooBig\",\"message\":\"x\"}", 1, 1), Err(OsrmError::Refused { .. })));
        assert!(matches!(parse_table(b"{\"code\":\"Ok\",\"durations\":[[0]]}", 1, 1), Err(OsrmError::Protocol(_))));
        let wrong = br#"{"code":"Ok","durations":[[0,1]],"distances":[[0,1]]}"#;
        assert!(matches!(parse_table(wrong, 2, 2), Err(OsrmError::Protocol(_))));
        let negative = br#"{"code":"Ok","durations":[[-5]],"distances":[[0]]}"#;
        assert!(matches!(parse_table(negative, 1, 1), Err(OsrmError::Protocol(_))));
        assert!(matches!(parse_table(b"<html>", 1, 1), Err(OsrmError::Protocol(_))));
    }

    #[test]
    fn configuration_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| move |k: &str| pairs.iter().find(|(a, _)| *a == k).map(|(_, v)| v.to_string());
        assert_eq!(OsrmConfig::from_lookup(env(&[])).unwrap(), None);
        let c = OsrmConfig::from_lookup(env(&[("LUCKYGAS_OSRM_URL", "http://osrm:5000/"), ("LUCKYGAS_OSRM_TIMEOUT_MS", "250")])).unwrap().unwrap();
        assert_eq!(c.base_url, "http://osrm:5000");
        assert_eq!(c.timeout, Duration::from_millis(250));
        assert!(OsrmConfig::from_lookup(env(&[("LUCKYGAS_OSRM_URL", "osrm:5000")])).is_err());
        assert!(OsrmConfig::from_lookup(env(&[("LUCKYGAS_OSRM_URL", "http://o"), ("LUCKYGAS_OSRM_MAX_TABLE_SIZE", "1")])).is_err());
    }
}
