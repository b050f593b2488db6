//! Work that costs the server much: a big day planned and listed, and cheap requests that cost a
//! lot (a driver with 100,000 skills, a VROOM problem of 4,990 jobs) with `/healthz` timed
//! meanwhile.

use crate::server::{mb, mib, ms, percentile, status_counts, with_server, with_server_on, Database, Harness, Probe, Prober, Server};
use crate::{Args, Rows, Verdict};
use anyhow::Context;
use planner_api::domain::{CustomerInput, OrderInput};
use planner_api::store::Store;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The big day.
const DAY: &str = "2026-03-02";

/// Loads the demo distributor (its depots, vehicles, drivers, 300 customers and their orders of
/// [`DAY`]) through the store, then one order each for new customers until the day has `orders`
/// orders. Returns the day's orders.
async fn seed(db: &Database, orders: usize) -> anyhow::Result<usize> {
    let store = Store::open(&db.url()?).await?;
    let date = chrono::NaiveDate::parse_from_str(DAY, "%Y-%m-%d")?;
    let demo = planner_api::demo::load(&store, date).await?;
    let extra = orders.saturating_sub(demo.orders);
    let data = datasets::distributor::distributor(16, extra, DAY);
    let customers = data["customers"].as_array().cloned().unwrap_or_default();
    // A few writers at once: PostgreSQL takes them in parallel, SQLite one after the other.
    let mut tasks = Vec::new();
    for (part, chunk) in customers.chunks(extra.div_ceil(4).max(1)).enumerate() {
        let (store, chunk) = (store.clone(), chunk.to_vec());
        tasks.push(tokio::spawn(async move {
            for (i, mut c) in chunk.into_iter().enumerate() {
                c["code"] = json!(format!("H{part}{i:05}"));
                // Vehicle types by index are the demo's: these extra customers take any vehicle.
                if let Some(o) = c.as_object_mut() {
                    o.remove("allowed_vehicle_types");
                }
                let usual = c["usual_cylinders"].clone();
                let input: CustomerInput = serde_json::from_value(c)?;
                let new = input.validate().map_err(|e| anyhow::anyhow!("a seeded customer is invalid: {e:?}"))?;
                let customer = store.create_customer(&new).await?;
                let preference = [Value::Null, json!("morning"), json!("afternoon")][i % 3].clone();
                let order: OrderInput = serde_json::from_value(json!({
                    "customer_id": customer.id, "delivery_date": DAY, "cylinders": usual, "priority": "normal", "preference": preference,
                }))?;
                let new = order.validate().map_err(|e| anyhow::anyhow!("a seeded order is invalid: {e:?}"))?;
                store.create_order(&new, "hostile").await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    store.close().await;
    Ok(demo.orders + extra)
}

/// Reads a body without keeping it: `(status, bytes, time)`.
async fn download(http: &reqwest::Client, url: &str) -> anyhow::Result<(u16, u64, Duration)> {
    let (status, bytes, took, _) = download_upto(http, url, u64::MAX).await?;
    Ok((status, bytes, took))
}

/// [`download`] that stops reading (and drops the connection) after `cap` bytes: `(status,
/// bytes read, time, whether the body ended)`.
async fn download_upto(http: &reqwest::Client, url: &str, cap: u64) -> anyhow::Result<(u16, u64, Duration, bool)> {
    let started = Instant::now();
    let mut res = http.get(url).send().await?;
    let status = res.status().as_u16();
    let mut bytes = 0u64;
    while let Some(chunk) = res.chunk().await? {
        bytes += chunk.len() as u64;
        if bytes >= cap {
            return Ok((status, bytes, started.elapsed(), false));
        }
    }
    Ok((status, bytes, started.elapsed(), true))
}

/// Plans the day through the API: `(final job, wall time, size of the finished job's JSON)`.
async fn plan(args: &Args, server: &Server, http: &reqwest::Client) -> anyhow::Result<(Value, Duration, usize)> {
    let depots: Value = http.get(format!("{}/v1/depots", server.base)).send().await?.json().await?;
    let depot_ids: Vec<i64> = depots["items"].as_array().context("depots")?.iter().filter_map(|d| d["id"].as_i64()).collect();
    let body = json!({ "date": DAY, "depot_ids": depot_ids, "options": { "time_limit_s": args.big_time_limit_s } });
    let started = Instant::now();
    let res = http.post(format!("{}/v1/plans", server.base)).json(&body).send().await?;
    let status = res.status().as_u16();
    let job: Value = res.json().await.unwrap_or(Value::Null);
    if status != 202 {
        return Ok((json!({ "status": format!("refused {status}"), "error": job }), started.elapsed(), 0));
    }
    let id = job["id"].as_i64().context("the plan's id")?;
    let deadline = started + Duration::from_secs(args.big_deadline_s);
    loop {
        let res = http.get(format!("{}/v1/plans/{id}", server.base)).send().await;
        match res {
            Ok(res) => {
                let bytes = res.bytes().await?;
                let job: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                if matches!(job["status"].as_str(), Some("succeeded" | "failed" | "cancelled")) {
                    return Ok((job, started.elapsed(), bytes.len()));
                }
            }
            Err(_) if server.memory.capped() => return Ok((json!({ "status": "server killed at the memory cap" }), started.elapsed(), 0)),
            Err(_) => {}
        }
        if Instant::now() > deadline {
            let _ = http.delete(format!("{}/v1/plans/{id}", server.base)).send().await;
            return Ok((json!({ "status": format!("unfinished after {} s (cancelled)", args.big_deadline_s), "id": id }), started.elapsed(), 0));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `--big-orders` orders across the demo's depots: seeded, planned, downloaded and listed.
pub async fn big_day(args: &Args, harness: &Harness, out: &mut Rows) -> anyhow::Result<()> {
    let db = Database::fresh(harness, "big-day").await?;
    let seeding = Instant::now();
    let orders = match seed(&db, args.big_orders).await {
        Ok(n) => n,
        Err(e) => {
            db.drop_now().await;
            return Err(e.context("seeding the big day"));
        }
    };
    println!("  seeded {orders} orders of {DAY} in {:.0} s", seeding.elapsed().as_secs_f64());
    let size_before = db.size_bytes().await?;
    with_server_on(harness, db, async |server| {
        let http = server.admin().await?;
        let (job, wall, job_bytes) = plan(args, server, &http).await?;
        let status = job["status"].as_str().unwrap_or("?").to_owned();
        let (_, hwm) = server.memory_now();
        let capped = server.memory.capped();
        let succeeded = status == "succeeded";
        let error = if succeeded || job["error"].is_null() { String::new() } else { format!(": {}", job["error"]).chars().take(160).collect() };
        out.add(
            format!("plan of {orders} orders: status, wall time"),
            format!("{status} in {:.0} s{error}", wall.as_secs_f64()),
            "4,200 orders: fails after 234 s",
            Verdict::of(succeeded),
        );
        if !succeeded {
            for line in server.log_problems(6) {
                println!("  server: {}", line.chars().take(300).collect::<String>());
            }
        }
        let over = capped || hwm >= 2 * 1024 * 1024;
        let peak = if capped { format!("≥ {:.0} MiB (cap: killed)", mib(harness.rss_cap_kib)) } else { format!("{:.0} MiB (VmHWM)", mib(hwm)) };
        // Below the goal only counts for a plan that got through.
        let verdict = if over {
            Verdict::NotHeld
        } else if succeeded {
            Verdict::Held
        } else {
            Verdict::Info
        };
        out.add("server peak resident memory", peak, "3,000 orders: 2.2-2.7 GiB", verdict);
        if capped {
            return Ok(());
        }
        let size_after = server.db.size_bytes().await?;
        let growth = size_after.saturating_sub(size_before);
        let tables: Vec<String> = server.db.largest_tables(3).await.iter().map(|(t, b)| format!("{t} {:.1}", mb(u64::try_from(*b).unwrap_or(0)))).collect();
        let verdict = if growth >= 50_000_000 {
            Verdict::NotHeld
        } else if succeeded {
            Verdict::Held
        } else {
            Verdict::Info
        };
        out.add(
            "database growth by the plan",
            format!("{:.1} MB (largest MB: {})", mb(growth), if tables.is_empty() { "n/a".to_owned() } else { tables.join(", ") }),
            "1,000: 62 MB; 3,000: 552 MB",
            verdict,
        );
        match job["id"].as_i64() {
            Some(id) if succeeded => {
                out.add("GET /v1/plans/{id} of the finished plan", format!("{:.1} MB", mb(job_bytes as u64)), "", Verdict::Info);
                // Without matrices: what an analyst downloads to see the day.
                let (status, bytes, took) = download(&http, &format!("{}/v1/plans/{id}/problem?matrices=false", server.base)).await?;
                out.add(
                    "solver input download, ?matrices=false",
                    format!("{status}, {:.1} MB in {:.1} s", mb(bytes), took.as_secs_f64()),
                    "3,000 orders: 551 MB",
                    Verdict::of(status == 200 && bytes < 50_000_000),
                );
                // With the matrices, streamed: read the first 256 MB (a 10,000-order day's are
                // gigabytes of text), then hang up; the server's memory is what matters.
                let (status, bytes, took, ended) = download_upto(&http, &format!("{}/v1/plans/{id}/problem", server.base), 256 << 20).await?;
                let rate = mb(bytes) / took.as_secs_f64().max(1e-3);
                let peak = server.memory_now().1 / 1024;
                out.add(
                    "solver input with matrices, streamed",
                    format!("{status}, {}{:.1} MB at {rate:.0} MB/s; server peak so far {peak} MiB", if ended { "" } else { "first " }, mb(bytes)),
                    "3,000 orders: 551 MB, four at once 4.1 GiB",
                    if status == 200 && peak < 2048 { Verdict::Info } else { Verdict::NotHeld },
                );
            }
            _ => out.add("solver input download", "no finished plan", "3,000 orders: 551 MB", Verdict::Skipped),
        }
        // The day's orders, a page of 100 at a time: the first page, then pages further in.
        let mut latencies = Vec::new();
        let mut statuses = Vec::new();
        for i in 0..30u64 {
            let offset = if i < 15 { 0 } else { (i - 15) * (orders as u64 / 15).max(1) / 100 * 100 };
            let url = format!("{}/v1/orders?date={DAY}&limit=100&offset={offset}", server.base);
            let (status, _, took) = download(&http, &url).await?;
            statuses.push(status);
            if status == 200 {
                latencies.push(took);
            }
        }
        let (p50, p95) = (percentile(&latencies, 0.5), percentile(&latencies, 0.95));
        out.add(
            format!("GET /v1/orders of the day ({orders}) p50 / p95"),
            format!("{:.0} / {:.0} ms ({})", ms(p50), ms(p95), status_counts(&statuses)),
            "8k orders: 306 ms p50 (SQLite)",
            Verdict::of(!latencies.is_empty() && p50 < Duration::from_millis(100)),
        );
        Ok(())
    })
    .await
}

/// p95 of the answered probes, and the statuses.
fn healthz(probes: &[Probe]) -> (Duration, String) {
    let latencies: Vec<Duration> = probes.iter().map(|p| p.latency).collect();
    let statuses: Vec<u16> = probes.iter().map(|p| p.status).collect();
    (percentile(&latencies, 0.95), status_counts(&statuses))
}

/// A VROOM problem of `jobs` jobs at distinct places around Taipei and five vehicles of two
/// profiles sharing one depot: few enough places for the matrices, one slot too many for the
/// model (jobs + 2 × vehicles + 1 > 5,000).
fn vroom_problem(jobs: usize) -> Value {
    let jobs: Vec<Value> = (0..jobs)
        .map(|i| {
            #[allow(clippy::cast_precision_loss)]
            let (x, y) = ((i % 71) as f64, (i / 71) as f64);
            json!({ "id": i + 1, "location": [121.40 + x * 0.0035, 24.95 + y * 0.0025], "delivery": [1], "service": 120 })
        })
        .collect();
    let vehicles: Vec<Value> = (0..5)
        .map(|v| json!({ "id": v + 1, "profile": if v < 3 { "car" } else { "motorcycle" }, "start": [121.55, 25.06], "end": [121.55, 25.06], "capacity": [1200] }))
        .collect();
    json!({ "vehicles": vehicles, "jobs": jobs })
}

/// Two drivers with 100,000 skills at once, then (on a fresh server, as a request given up by
/// its client may still run) a VROOM problem of 4,990 jobs; `/healthz` is timed throughout.
/// A request unanswered after `--heavy-timeout-s` is given up and reads "none".
pub async fn costly(args: &Args, harness: &Harness, out: &mut Rows) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(args.heavy_timeout_s);
    with_server(harness, "costly-skills", async |server| {
        let http = server.admin().await?;
        // Idle first, for comparison.
        let prober = Prober::start(&server.base);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (idle_p95, _) = healthz(&prober.stop().await);

        let skills: Vec<String> = (0..100_000).map(|i| format!("s{i}")).collect();
        let body = json!({ "name": "技能很多的司機", "skills": skills });
        let prober = Prober::start(&server.base);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let (http, url, body) = (http.clone(), format!("{}/v1/drivers", server.base), body.clone());
            tasks.push(tokio::spawn(async move {
                let sent = Instant::now();
                let status = http.post(url).json(&body).timeout(timeout).send().await.map_or(0, |r| r.status().as_u16());
                (status, sent.elapsed())
            }));
        }
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await?);
        }
        let both = started.elapsed();
        let (p95, probes) = healthz(&prober.stop().await);
        let slowest = answers.iter().map(|a| a.1).max().unwrap_or_default();
        out.add(
            "two drivers with 100,000 skills: statuses, time",
            format!("{} in {:.1} s", status_counts(&answers.iter().map(|a| a.0).collect::<Vec<_>>()), both.as_secs_f64()),
            "13 s of CPU each",
            Verdict::of(answers.iter().all(|a| a.0 != 0) && slowest < Duration::from_secs(2)),
        );
        out.add(
            "/healthz p95 meanwhile (idle p95)",
            format!("{:.0} ms ({:.0} ms idle); {probes}", ms(p95), ms(idle_p95)),
            "frozen for 25 s",
            Verdict::of(p95 < Duration::from_millis(500)),
        );
        Ok(())
    })
    .await?;

    with_server(harness, "costly-vroom", async |server| {
        let http = server.admin().await?;
        server.memory.window();
        let prober = Prober::start(&server.base);
        let sent = Instant::now();
        let res = http.post(format!("{}/v1/vroom?time_limit_s=5", server.base)).json(&vroom_problem(4990)).timeout(timeout).send().await;
        let took = sent.elapsed();
        let (p95, probes) = healthz(&prober.stop().await);
        let peak = server.memory.window();
        let capped = server.memory.capped();
        let status = match res {
            Ok(r) => r.status().as_u16().to_string(),
            Err(e) if e.is_timeout() => "none".to_owned(),
            Err(e) => format!("no answer ({e})"),
        };
        let memory = if capped { format!("≥ {:.0} MiB (cap: killed)", mib(harness.rss_cap_kib)) } else { format!("{:.0} MiB", mib(peak)) };
        out.add(
            "POST /v1/vroom, 4,990 jobs: status, time, RSS",
            format!("{status} in {:.1} s, {memory}", took.as_secs_f64()),
            "30 s at 2.5 GiB, then refused",
            Verdict::of(!capped && took < Duration::from_secs(10) && peak < 1024 * 1024),
        );
        out.add("/healthz p95 meanwhile", format!("{:.0} ms; {probes}", ms(p95)), "", Verdict::of(p95 < Duration::from_millis(500)));
        Ok(())
    })
    .await
}
