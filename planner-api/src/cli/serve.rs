//! `luckygas serve [--listen ADDR]` and `luckygas migrate`: run the HTTP service or only apply
//! the database migrations. The database comes from `DATABASE_URL` (default
//! `sqlite://luckygas.db`, created when missing); planning workers and travel matrices are
//! configured by `PLAN_*`, `TRAVEL_*` and `LUCKYGAS_OSRM_*` variables (see [`WorkerConfig`],
//! [`TravelConfig`] and [`crate::osrm`]); token settings and the first admin by the
//! `LUCKYGAS_*` variables of [`crate::auth::config`]; CORS, security headers and rate limits by
//! those of [`crate::http::edge::EdgeConfig`]; timeouts, the connection limit, the drain deadline
//! and trusted proxies by those of [`crate::http::server::ServerConfig`]; the feature flags' poll
//! (SQLite) by `LUCKYGAS_FLAGS_POLL_S` ([`crate::flags::sync::SyncConfig`]). Each command builds its
//! own tokio runtime, so the rest of the command line stays synchronous.

use crate::auth::{bootstrap_admin, AdminBootstrap, AuthConfig, KeySource};
use crate::http::edge::{Edge, EdgeConfig};
use crate::http::server::ServerConfig;
use crate::http::{app, AppState};
use crate::osrm::{Osrm, OsrmConfig, OsrmMatrix, OsrmProfiles};
use crate::store::Store;
use crate::travel::{GreatCircle, RoutingProfile, TravelConfig, TravelMatrix};
use crate::worker::{Planner, WorkerConfig};
use anyhow::Context;
use clap::Args;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

/// The database used when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://luckygas.db";

/// Arguments of `luckygas serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Load a realistic demo distributor (2 depots, trucks and motorcycles, 300 customers, a day
    /// of orders) when the database has no depot yet.
    #[arg(long)]
    demo: bool,
    /// The day of the demo's orders (YYYY-MM-DD); today in Taipei when not given.
    #[arg(long, requires = "demo")]
    demo_date: Option<chrono::NaiveDate>,
}

/// Arguments of `luckygas migrate`.
#[derive(Args, Debug)]
pub struct MigrateArgs {}

pub(crate) fn database_url() -> String {
    std::env::var("DATABASE_URL").ok().filter(|u| !u.trim().is_empty()).unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

/// Shows the URL without its password.
pub(crate) fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user_info = &url[scheme + 3..at];
            let user = user_info.split(':').next().unwrap_or("");
            format!("{}://{user}@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

/// Logs to stderr: human-readable, or one JSON object per line with `LOG_FORMAT=json`; the level
/// comes from `RUST_LOG` (default `info`).
pub(crate) fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // `try_init` fails only when a subscriber is already set, which is harmless.
    let _ = if std::env::var("LOG_FORMAT").is_ok_and(|f| f == "json") { builder.json().try_init() } else { builder.try_init() };
}

/// Runs `luckygas migrate`.
pub fn migrate(_: MigrateArgs) -> anyhow::Result<ExitCode> {
    init_tracing();
    let url = database_url();
    runtime()?.block_on(async {
        let store = Store::open(&url).await.with_context(|| format!("cannot open and migrate {}", redacted(&url)))?;
        store.close().await;
        tracing::info!(database = %redacted(&url), "migrations applied");
        Ok(ExitCode::SUCCESS)
    })
}

/// The email of the demo's admin.
pub const DEMO_ADMIN: &str = "admin@demo.luckygas.tw";

/// Creates the demo admin with `password`, or gives the existing one that password.
async fn demo_admin(store: &Store, password: &str) -> anyhow::Result<String> {
    let admin = AdminBootstrap { email: DEMO_ADMIN.to_owned(), password: password.to_owned() };
    if bootstrap_admin(store, &admin).await.context("cannot create the demo admin")?.is_none() {
        let id = store.find_credentials(DEMO_ADMIN).await?.context("the demo admin")?.user.id;
        let update = crate::domain::UserUpdate { role: crate::domain::Role::Admin, driver_id: None, active: true, password: Some(password.to_owned()) };
        crate::auth::session::update_user(store, id, update).await.context("cannot reset the demo admin's password")?;
    }
    Ok(DEMO_ADMIN.to_owned())
}

/// The email of the demo's `n`-th driver user (1-based, in driver id order).
pub fn demo_driver_email(n: usize) -> String {
    format!("driver{n}@demo.luckygas.tw")
}

/// Gives every demo driver a driver user, `driver1@demo.luckygas.tw`, … (in driver id order), with
/// `password`: the phone view's sign-in. Returns how many.
async fn demo_drivers(store: &Store, password: &str) -> anyhow::Result<usize> {
    let drivers = store.list_drivers(crate::store::PageRequest::after(crate::store::MAX_LIMIT, None)).await?.items;
    for (i, driver) in drivers.iter().enumerate() {
        let email = demo_driver_email(i + 1);
        let update =
            crate::domain::UserUpdate { role: crate::domain::Role::Driver, driver_id: Some(driver.id), active: true, password: Some(password.to_owned()) };
        match store.find_credentials(&email).await? {
            Some(found) => crate::auth::session::update_user(store, found.user.id, update).await.context("cannot reset a demo driver's password")?,
            None => {
                let new = crate::domain::NewUser { email, password: password.to_owned(), role: crate::domain::Role::Driver, driver_id: Some(driver.id) };
                crate::auth::session::create_user(store, new).await.context("cannot create a demo driver user")?
            }
        };
    }
    Ok(drivers.len())
}

/// Runs `luckygas serve` until Ctrl-C or SIGTERM, then finishes in-flight requests within the
/// drain deadline.
pub fn serve(a: ServeArgs) -> anyhow::Result<ExitCode> {
    init_tracing();
    let url = database_url();
    let env = |name: &str| std::env::var(name).ok();
    let auth = AuthConfig::from_lookup(env).context("invalid authentication settings")?;
    let admin = AdminBootstrap::from_lookup(env).context("invalid first-admin settings")?;
    let edge = EdgeConfig::from_lookup(env).map_err(anyhow::Error::msg).context("invalid CORS, security header or rate-limit settings")?;
    let server = ServerConfig::from_lookup(env).map_err(anyhow::Error::msg).context("invalid connection settings")?;
    if auth.key_source == KeySource::Generated {
        tracing::warn!(
            "no LUCKYGAS_JWT_SECRET or LUCKYGAS_JWT_SECRET_FILE: signing tokens with a random key; \
             tokens will not survive a restart and other replicas will not accept them"
        );
    }
    runtime()?.block_on(async {
        let workers = WorkerConfig::from_env().map_err(anyhow::Error::msg)?;
        let travel = TravelConfig::from_env()?;
        let store = Store::open(&url).await.with_context(|| format!("cannot open and migrate {}", redacted(&url)))?;
        let mut demo_password = None;
        if let Some(admin) = &admin {
            match bootstrap_admin(&store, admin).await.context("cannot create the first admin")? {
                Some(user) => tracing::info!(email = %user.email, "created the admin from LUCKYGAS_ADMIN_EMAIL"),
                None => tracing::info!(email = %admin.email, "the admin from LUCKYGAS_ADMIN_EMAIL exists already; left as it is"),
            }
        } else if a.demo {
            // A demo anyone can sign in to: its admin gets a new password at every start.
            let password = crate::auth::random_hex(12);
            let user = demo_admin(&store, &password).await?;
            println!("--demo: sign in as {user} with password {password}");
            println!(
                "  curl -s localhost:{port}/v1/auth/login -H 'content-type: application/json' -d '{{\"email\":\"{user}\",\"password\":\"{password}\"}}'",
                port = a.listen.port()
            );
            tracing::info!(email = %user, "--demo: the demo admin's password is printed on standard output");
            demo_password = Some(password);
        } else if store.list_users(crate::store::PageRequest::after(1, None)).await?.items.is_empty() {
            tracing::warn!("no users yet and no LUCKYGAS_ADMIN_EMAIL: nobody can sign in");
        }
        if a.demo {
            let taipei = chrono::FixedOffset::east_opt(8 * 3600).context("UTC+8")?;
            let date = a.demo_date.unwrap_or_else(|| chrono::Utc::now().with_timezone(&taipei).date_naive());
            let loaded = crate::demo::load(&store, date).await.context("cannot load the demo distributor")?;
            if loaded == crate::demo::DemoSummary::default() {
                tracing::info!(%date, "--demo: the database already has the demo distributor and orders for the day");
            } else if loaded.depots == 0 {
                tracing::info!(%date, orders = loaded.orders, "--demo: the demo distributor's orders for the day loaded");
            } else {
                tracing::info!(%date, depots = loaded.depots, vehicles = loaded.vehicles, drivers = loaded.drivers,
                    customers = loaded.customers, orders = loaded.orders, "--demo: demo distributor loaded");
            }
            if let Some(password) = &demo_password {
                let drivers = demo_drivers(&store, password).await?;
                if drivers > 0 {
                    println!(
                        "--demo: drivers sign in on their phones as {} … {} with the same password",
                        demo_driver_email(1),
                        demo_driver_email(drivers)
                    );
                }
            }
        }
        let road = crate::road::RoadConfig::from_lookup(|k| std::env::var(k).ok())?;
        let matrices: Arc<dyn TravelMatrix> = match (OsrmConfig::from_env()?, road) {
            (Some(_), Some(_)) => anyhow::bail!("LUCKYGAS_OSRM_URL and LUCKYGAS_ROAD_GRAPH are both set: choose one source of road travel times"),
            (None, Some(road)) => {
                let started = std::time::Instant::now();
                let m = crate::road::RoadMatrix::load(&road, GreatCircle::new(travel)).map_err(anyhow::Error::msg)?;
                for (v, profile) in [(luckygas_osm::Vehicle::Truck, RoutingProfile::Truck), (luckygas_osm::Vehicle::Motorcycle, RoutingProfile::Motorcycle)] {
                    let s = m.graph().stats(v);
                    let bands: Vec<String> = m.rush_hours(profile).iter().map(|b| format!("{}-{} at {} %", b.start, b.end, b.speed_percent)).collect();
                    tracing::info!(extract = %road.extract.display(), vehicle = v.name(), nodes = s.nodes, edges = s.edges, unreachable_nodes = s.dropped_nodes,
                        rush_hours = %bands.join(", "), "travel matrices from the road graph, the great-circle estimate for stops off it");
                }
                tracing::info!(seconds = started.elapsed().as_secs_f64(), "road graph read");
                Arc::new(m)
            }
            (Some(osrm), None) => {
                tracing::info!(url = %osrm.base_url, "travel matrices from OSRM, the great-circle estimate as fallback");
                let profiles = OsrmProfiles::from_lookup(|k| std::env::var(k).ok());
                Arc::new(OsrmMatrix::new(Osrm::new(osrm)?, profiles, GreatCircle::new(travel)))
            }
            (None, None) => Arc::new(GreatCircle::new(travel)),
        };
        let planner = Planner::new(workers, matrices);
        let pool = crate::worker::spawn(&planner, &store);
        // Invoicing: a seller from the environment, or the demo seller with --demo.
        let invoicing_config = match crate::invoicing::InvoicingConfig::from_env().map_err(anyhow::Error::msg)? {
            Some(config) => Some(config),
            None if a.demo => {
                let taipei = chrono::FixedOffset::east_opt(8 * 3600).context("UTC+8")?;
                let date = a.demo_date.unwrap_or_else(|| chrono::Utc::now().with_timezone(&taipei).date_naive());
                crate::demo::load_invoicing(&store, date).await.context("cannot load the demo prices and number block")?;
                let root = std::env::var("LUCKYGAS_TURNKEY_DIR").unwrap_or_else(|_| "turnkey".into());
                let mut config = crate::invoicing::InvoicingConfig::new(crate::demo::demo_seller(), root.into());
                // A throwaway QR key, so demo proofs print; a real one comes from LUCKYGAS_QR_AES_KEY_FILE.
                config.qr_key = einvoice::proof::QrKey::from_hex(&crate::auth::random_hex(16)).ok();
                tracing::info!(turnkey = %config.turnkey_root.display(), "--demo: invoicing as the demo seller");
                Some(config)
            }
            None => {
                tracing::warn!("no LUCKYGAS_SELLER_BAN: invoicing is off (deliveries queue their invoices until it is configured)");
                None
            }
        };
        let invoicing = invoicing_config.map(|config| crate::invoicing::Invoicing::new(store.clone(), config));
        let mut handlers = crate::jobs::Handlers::default();
        let mut channels = crate::jobs::Channels::default();
        if let Some(invoicing) = &invoicing {
            invoicing.register(&mut handlers, &mut channels);
            invoicing.schedule().await.context("cannot schedule the invoicing jobs")?;
        }
        // Payments: the virtual-account layout and the bank's SFTP server, from the environment
        // (the demo uses Cathay United's layout with a made-up company code).
        let mut receivables_config = crate::receivables::ReceivablesConfig::from_env().map_err(anyhow::Error::msg)?;
        if receivables_config.layout.is_none() && a.demo {
            receivables_config.layout = Some(payments::virtual_account::Layout::cathay_16("9527").map_err(|e| anyhow::anyhow!("{e}"))?);
        }
        if receivables_config.layout.is_none() {
            tracing::warn!("no LUCKYGAS_VA_COMPANY_CODE or LUCKYGAS_VA_LAYOUT_FILE: virtual accounts and bank statement imports are off");
        }
        if let Some(sftp) = &receivables_config.sftp {
            tracing::info!(host = %sftp.sftp.host, port = sftp.sftp.port, inbox = %sftp.inbox, every_s = sftp.every.as_secs(), "bank statements fetched over SFTP");
        }
        let receivables = crate::receivables::Receivables::new(store.clone(), receivables_config);
        receivables.register(&mut handlers);
        receivables.schedule().await.context("cannot schedule the payments jobs")?;
        // The old system: with LUCKYGAS_LEGACY_DATABASE_URL, every change of customers, orders and
        // collections is queued for it and applied by the `legacy.sync` job.
        let legacy_sync = crate::sync::LegacySync::from_env(&store).map_err(anyhow::Error::msg)?;
        if let Some(sync) = &legacy_sync {
            sync.register(&mut handlers);
            sync.start().await.context("cannot start the legacy sync")?;
        }
        // Spent sign-in throttle rows and ended rate-limit windows, deleted once a minute.
        let pruning = crate::jobs::prune::Pruning::new(auth.throttle, std::time::Duration::from_secs(crate::http::ratelimit::WINDOW_S.unsigned_abs()));
        pruning.register(&mut handlers);
        crate::jobs::prune::Pruning::schedule(&store).await.context("cannot schedule the pruning job")?;
        let background = crate::jobs::Background::new(store.clone(), handlers, channels);
        let jobs_bell = background.bell();
        let background = background.spawn(background_workers()?);
        let listener = tokio::net::TcpListener::bind(a.listen).await.with_context(|| format!("cannot listen on {}", a.listen))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, database = %redacted(&url), backend = store.backend(), workers = planner.config().workers,
            anonymous_per_min = edge.rate_limits.anonymous_per_min, user_per_min = edge.rate_limits.user_per_min,
            max_connections = server.max_connections, "listening");
        let heavy = crate::http::heavy::HeavyWork::from_lookup(env).map_err(anyhow::Error::msg)?;
        let state = AppState {
            planner: planner.clone(),
            invoicing,
            receivables,
            legacy_sync,
            jobs_bell: Some(jobs_bell),
            edge: Arc::new(Edge::new(edge)),
            heavy,
            ..AppState::new(store.clone(), auth)
        };
        planner.attach_metrics(state.metrics.clone());
        if let Some(sync) = &state.legacy_sync {
            sync.worker.attach_flags(state.flags.clone());
        }
        // Feature flags: every flag loaded before the first request, then kept current.
        let flag_config = crate::flags::sync::SyncConfig::from_lookup(env).map_err(anyhow::Error::msg)?;
        let flag_sync = crate::flags::sync::FlagSync::start(store.clone(), state.flags.clone(), flag_config).await.context("cannot load the feature flags")?;
        // `/readyz` wants at least one live worker, unless this is a serve-only replica.
        for (name, probe) in pool.probes().into_iter().chain(background.probes()) {
            state.health.register_worker(name, probe);
        }
        let stopping = async move {
            shutdown_signal().await;
            // End event streams, which would otherwise hold the graceful shutdown open.
            planner.stop();
        };
        let connections = state.metrics.connections();
        crate::http::server::run(listener, app(state), server, connections, stopping).await;
        // Running plans go back to the queue for the next process or another replica.
        pool.shutdown().await;
        background.shutdown().await;
        flag_sync.shutdown().await;
        store.close().await;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// `LUCKYGAS_BACKGROUND_WORKERS`: workers of the background queue and outbox (default 1; 0 for
/// a replica that only serves). They run the pruning job, and with invoicing on its jobs too.
fn background_workers() -> anyhow::Result<usize> {
    match std::env::var("LUCKYGAS_BACKGROUND_WORKERS") {
        Ok(v) => v.trim().parse::<usize>().map_err(|_| anyhow::anyhow!("LUCKYGAS_BACKGROUND_WORKERS must be a whole number, not {v:?}")),
        Err(_) => Ok(1),
    }
}

/// Completes on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_the_password_of_a_database_url() {
        assert_eq!(redacted("postgres://app:secret@db:5432/lg"), "postgres://app@db:5432/lg");
        assert_eq!(redacted("sqlite://luckygas.db"), "sqlite://luckygas.db");
    }
}
