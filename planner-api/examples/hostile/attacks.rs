//! Attacks on sign-in, the edge and sessions: the login flood, password guessing, trivial
//! passwords, rate limits / CORS / request ids / security headers, and signing keys and sessions.

use crate::server::{bearer, client_from, mib, status_counts, with_server, Database, Harness, Server, Start};
use crate::{Args, Rows, Verdict};
use anyhow::Context;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A password no policy refuses: long, random, mixed.
fn strong_password() -> String {
    format!("Lg-{}-Route!", planner_api::auth::random_hex(10))
}

/// Creates a user of `role` through the API: `(status, body)`.
pub async fn create_user(admin: &reqwest::Client, server: &Server, email: &str, password: &str, role: &str) -> anyhow::Result<(u16, Value)> {
    let res = admin.post(format!("{}/v1/users", server.base)).json(&json!({ "email": email, "password": password, "role": role })).send().await?;
    let status = res.status().as_u16();
    Ok((status, res.json().await.unwrap_or(Value::Null)))
}

/// 200 concurrent wrong sign-ins: peak (VmHWM) and settled resident memory, statuses.
pub async fn login_flood(args: &Args, harness: &Harness, out: &mut Rows) -> anyhow::Result<()> {
    with_server(harness, "login-flood", async |server| {
        let (idle, _) = server.memory_now();
        // Each sign-in from an address of its own, as from a botnet: limits per address do not
        // apply, the bound on password hashing must.
        let started = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..args.flood {
            let (http, url) = (client_from(i, Duration::from_secs(120)), format!("{}/v1/auth/login", server.base));
            let body = json!({ "email": format!("nobody{i}@luckygas.test"), "password": format!("wrong-password-{i}") });
            tasks.push(tokio::spawn(async move { http.post(url).json(&body).send().await.map_or(0, |r| r.status().as_u16()) }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap_or(0));
        }
        let took = started.elapsed();
        let (_, hwm) = server.memory_now();
        let peak = hwm.max(server.memory.window());
        let capped = server.memory.capped();
        out.add("idle resident memory", format!("{:.0} MiB", mib(idle)), "", Verdict::Info);
        let value = if capped { format!("≥ {:.0} MiB (cap: killed)", mib(harness.rss_cap_kib)) } else { format!("{:.0} MiB (VmHWM)", mib(peak)) };
        out.add(format!("peak resident, {} concurrent logins", args.flood), value, "8.1 GiB (50 logins: 2.0 GiB)", Verdict::of(!capped && peak < 512 * 1024));
        out.add("statuses of the flood", format!("{} in {:.1} s", status_counts(&statuses), took.as_secs_f64()), "all 401, none 429/503", Verdict::Info);
        if !capped {
            tokio::time::sleep(Duration::from_secs(args.flood_settle_s)).await;
            let (rss, _) = server.memory_now();
            out.add(
                format!("resident {} s after the flood", args.flood_settle_s),
                format!("{:.0} MiB", mib(rss)),
                "4.4 GiB 30 s later",
                Verdict::of(rss < 256 * 1024),
            );
        }
        Ok(())
    })
    .await
}

/// Wrong passwords against one account for `--guess-s`: checked (401) vs refused (429) guesses
/// per minute; the right password afterwards; whether the server logged the failures.
pub async fn guessing(args: &Args, harness: &Harness, out: &mut Rows) -> anyhow::Result<()> {
    with_server(harness, "guessing", async |server| {
        let admin = server.admin().await?;
        let (email, password) = ("guess-target@luckygas.test".to_owned(), strong_password());
        let (status, body) = create_user(&admin, server, &email, &password, "dispatcher").await?;
        anyhow::ensure!(status == 201, "creating the target user answered {status}: {body}");
        let log_before = server.log_text().len();
        let deadline = Instant::now() + Duration::from_secs(args.guess_s);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for g in 0..args.guessers {
            let (url, email) = (format!("{}/v1/auth/login", server.base), email.clone());
            tasks.push(tokio::spawn(async move {
                // Each guesser from an address of its own: what holds is the account's throttle.
                let http = client_from(g, Duration::from_secs(30));
                let mut seen = Vec::new();
                let mut retry_after = false;
                let mut n = 0;
                while Instant::now() < deadline {
                    n += 1;
                    let body = json!({ "email": email, "password": format!("guess-{g}-{n}-wrong") });
                    match http.post(&url).json(&body).send().await {
                        Ok(res) => {
                            retry_after |= res.headers().contains_key("retry-after");
                            seen.push(res.status().as_u16());
                        }
                        Err(_) => seen.push(0),
                    }
                }
                (seen, retry_after)
            }));
        }
        let (mut statuses, mut retry_after) = (Vec::new(), false);
        for t in tasks {
            let (s, r) = t.await?;
            statuses.extend(s);
            retry_after |= r;
        }
        let minutes = started.elapsed().as_secs_f64() / 60.0;
        let count = |s: u16| statuses.iter().filter(|&&x| x == s).count();
        #[allow(clippy::cast_precision_loss)]
        let per_minute = |n: usize| n as f64 / minutes;
        let (checked, refused) = (count(401), count(429));
        out.add(
            format!("guesses checked (401) per minute, {} s", args.guess_s),
            format!("{:.0}/min ({checked} in {:.0} s)", per_minute(checked), minutes * 60.0),
            "300 in 6.8 s (≈2,650/min)",
            Verdict::of(refused > 0 && per_minute(checked) < 60.0),
        );
        out.add(
            "guesses refused (429) per minute",
            format!("{:.0}/min; Retry-After {}; all: {}", per_minute(refused), if retry_after { "sent" } else { "absent" }, status_counts(&statuses)),
            "no 429",
            Verdict::Info,
        );
        let (right, _) = server.login(&reqwest::Client::new(), &email, &password).await?;
        out.add("right password right after", format!("{right}"), "200 (no lockout)", Verdict::Info);
        // The failures in the log: lines naming the account, or a failed sign-in.
        let log = server.log_text();
        let during = log.get(log_before..).unwrap_or("");
        let lines = during
            .lines()
            .filter(|l| {
                let l = l.to_lowercase();
                l.contains(&email)
                    || ((l.contains("login") || l.contains("sign-in") || l.contains("sign in"))
                        && (l.contains("fail") || l.contains("wrong") || l.contains("invalid")))
            })
            .count();
        out.add("log lines about the failed sign-ins", format!("{lines}"), "not logged", Verdict::of(lines > 0));
        Ok(())
    })
    .await
}

/// Whether `aaaaaaaaaaaa` and twelve spaces are accepted as passwords.
pub async fn passwords(harness: &Harness, out: &mut Rows) -> anyhow::Result<()> {
    with_server(harness, "passwords", async |server| {
        let admin = server.admin().await?;
        let (a, _) = create_user(&admin, server, "trivial-a@luckygas.test", "aaaaaaaaaaaa", "dispatcher").await?;
        let (blank, _) = create_user(&admin, server, "trivial-blank@luckygas.test", "            ", "dispatcher").await?;
        let (strong, body) = create_user(&admin, server, "strong@luckygas.test", &strong_password(), "dispatcher").await?;
        out.add("`aaaaaaaaaaaa` as a password", format!("{a}"), "accepted", Verdict::of((400..500).contains(&a)));
        out.add("twelve spaces as a password", format!("{blank}"), "accepted", Verdict::of((400..500).contains(&blank)));
        let note = if strong == 201 { String::new() } else { format!(": {body}") };
        out.add("a long random password (control)", format!("{strong}{note}"), "201", Verdict::of(strong == 201));
        Ok(())
    })
    .await
}

/// Names of rate-limit headers present.
fn rate_headers(h: &HeaderMap) -> Vec<String> {
    h.keys().map(|k| k.as_str().to_owned()).filter(|k| k == "retry-after" || k.contains("ratelimit") || k.contains("rate-limit")).collect()
}

/// A burst of `n` requests, 10 at a time: statuses and the rate-limit headers of the first 429.
async fn burst(http: &reqwest::Client, url: &str, n: usize) -> (Vec<u16>, Vec<String>) {
    let mut statuses = Vec::new();
    let mut headers = Vec::new();
    for chunk in 0..n.div_ceil(10) {
        let mut tasks = Vec::new();
        for _ in 0..10.min(n - chunk * 10) {
            let (http, url) = (http.clone(), url.to_owned());
            tasks.push(tokio::spawn(async move {
                match http.get(url).send().await {
                    Ok(r) => (r.status().as_u16(), rate_headers(r.headers())),
                    Err(_) => (0, Vec::new()),
                }
            }));
        }
        for t in tasks {
            let (s, h) = t.await.unwrap_or((0, Vec::new()));
            if s == 429 && headers.is_empty() {
                headers = h;
            }
            statuses.push(s);
        }
    }
    (statuses, headers)
}

/// Security headers, request ids, CORS, then bursts for the rate limits.
pub async fn edge(args: &Args, harness: &Harness, out: &mut Rows) -> anyhow::Result<()> {
    with_server(harness, "edge", async |server| {
        let admin = server.admin().await?;
        let anon = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
        // Security headers on an API answer.
        let res = admin.get(format!("{}/v1/depots", server.base)).send().await?;
        let h = res.headers();
        let wanted = ["x-content-type-options", "x-frame-options", "content-security-policy", "referrer-policy", "strict-transport-security"];
        let present: Vec<&str> = wanted.iter().copied().filter(|k| h.contains_key(*k)).collect();
        let frames =
            h.contains_key("x-frame-options") || h.get("content-security-policy").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("frame-ancestors"));
        out.add(
            "security headers on GET /v1/depots",
            if present.is_empty() { "none".to_owned() } else { present.join(", ") },
            "(not listed)",
            Verdict::of(h.contains_key("x-content-type-options") && frames),
        );
        // A 6 KB request id.
        let long_id = "a".repeat(6 * 1024);
        let res = anon.get(format!("{}/healthz", server.base)).header("x-request-id", &long_id).send().await?;
        let echoed = res.headers().get("x-request-id").map_or(0, |v| v.len());
        out.add("6 KB x-request-id: status, echoed length", format!("{}, {echoed} bytes", res.status().as_u16()), "echoed, 6 KB", Verdict::of(echoed <= 200));
        // CORS: an origin nobody allowed, then the configured one.
        let preflight = |origin: &str| {
            anon.request(reqwest::Method::OPTIONS, format!("{}/v1/orders", server.base))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "authorization,content-type")
                .send()
        };
        let res = preflight("https://evil.example").await?;
        let allow = res.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let status = res.status().as_u16();
        out.add(
            "preflight from an unlisted origin",
            format!("{status}, allow-origin {}", if allow.is_empty() { "absent" } else { &allow }),
            "401",
            Verdict::of(status != 401 && status < 500 && allow != "*" && allow != "https://evil.example"),
        );
        if let Some(origin) = &args.cors_origin {
            let res = preflight(origin).await?;
            let allow = res.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let status = res.status().as_u16();
            out.add(format!("preflight from {origin}"), format!("{status}, allow-origin {allow:?}"), "401", Verdict::of(status < 300 && allow == *origin));
        }
        // Bursts: anonymous (no token: 401 until a limit refuses), then signed in.
        let (statuses, headers) = burst(&anon, &format!("{}/v1/depots", server.base), 150).await;
        let limited = statuses.contains(&429);
        out.add(
            "150 anonymous requests in a burst",
            format!("{}; headers: {}", status_counts(&statuses), if headers.is_empty() { "none".to_owned() } else { headers.join(",") }),
            "no 429",
            Verdict::of(limited && headers.iter().any(|h| h == "retry-after")),
        );
        let (statuses, headers) = burst(&admin, &format!("{}/v1/depots?limit=1", server.base), 1100).await;
        out.add(
            "1,100 signed-in requests in a burst",
            format!("{}; headers: {}", status_counts(&statuses), if headers.is_empty() { "none".to_owned() } else { headers.join(",") }),
            "no 429",
            Verdict::of(statuses.contains(&429)),
        );
        Ok(())
    })
    .await
}

/// Decodes base64url without padding (the parts of a JWT).
fn base64url(s: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push(u8::try_from((bits >> n) & 0xff).ok()?);
        }
    }
    Some(out)
}

/// The header and claims of a JWT, unverified.
fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut part = || parts.next().and_then(base64url).and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null);
    (part(), part())
}

/// A weak signing key, token claims, concurrent refreshes, a deactivated user.
pub async fn keys(harness: &Harness, out: &mut Rows) -> anyhow::Result<()> {
    // 32 × `a` as the signing key: does serve refuse to start?
    let db = Database::fresh(harness, "weak-key").await?;
    let mut weak = Server::start(harness, db, Start { jwt_secret: Some("a".repeat(32)), no_wait: true }).await?;
    let refused = match weak.wait_ready(Duration::from_secs(60)).await {
        Ok(()) => "started and answered /healthz".to_owned(),
        Err(_) => match weak.try_exit() {
            Some(status) => format!("refused to start ({status})"),
            None => "neither started nor exited in 60 s".to_owned(),
        },
    };
    let held = refused.starts_with("refused");
    weak.finish().await;
    out.add("serve with LUCKYGAS_JWT_SECRET = 32 × a", refused, "accepted", Verdict::of(held));

    with_server(harness, "keys", async |server| {
        let anon = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
        let (status, tokens) = server.login(&anon, &server.admin_email, &server.admin_password).await?;
        anyhow::ensure!(status == 200, "the admin's sign-in answered {status}");
        let access = tokens["access_token"].as_str().context("access_token")?.to_owned();
        let (header, claims) = jwt_parts(&access);
        let has = |v: &Value, k: &str| v.get(k).is_some_and(|x| !x.is_null());
        out.add(
            "access token: kid, iss, aud",
            format!("kid {}, iss {}, aud {}", has(&header, "kid"), has(&claims, "iss"), has(&claims, "aud")),
            "none of them",
            Verdict::of(has(&header, "kid") && has(&claims, "iss") && has(&claims, "aud")),
        );
        // Two tabs refresh the same token at once.
        let refresh = tokens["refresh_token"].as_str().context("refresh_token")?.to_owned();
        let url = format!("{}/v1/auth/refresh", server.base);
        let send = |token: String| {
            let (anon, url) = (anon.clone(), url.clone());
            tokio::spawn(async move {
                let res = anon.post(url).json(&json!({ "refresh_token": token })).send().await?;
                let status = res.status().as_u16();
                Ok::<_, reqwest::Error>((status, res.json::<Value>().await.unwrap_or(Value::Null)))
            })
        };
        let (a, b) = (send(refresh.clone()), send(refresh));
        let ((sa, ba), (sb, bb)) = (a.await??, b.await??);
        // And the session goes on with what each tab got.
        let mut later = Vec::new();
        for body in [&ba, &bb] {
            if let Some(t) = body["refresh_token"].as_str() {
                later.push(send(t.to_owned()).await??.0);
            }
        }
        out.add(
            "two concurrent refreshes of one token",
            format!("{sa} and {sb}; next refreshes: {}", if later.is_empty() { "none possible".to_owned() } else { status_counts(&later) }),
            "the user is signed out",
            Verdict::of(sa == 200 && sb == 200 && later.iter().all(|&s| s == 200)),
        );
        // A deactivated user's access token.
        let admin = bearer(&access)?;
        let (email, password) = ("leaver@luckygas.test", strong_password());
        let (status, user) = create_user(&admin, server, email, &password, "dispatcher").await?;
        anyhow::ensure!(status == 201, "creating the user answered {status}: {user}");
        let id = user["id"].as_i64().context("user id")?;
        let (_, user_tokens) = server.login(&anon, email, &password).await?;
        let user_http = bearer(user_tokens["access_token"].as_str().context("user's access_token")?)?;
        let before = user_http.get(format!("{}/v1/depots", server.base)).send().await?.status().as_u16();
        let res = admin.put(format!("{}/v1/users/{id}", server.base)).json(&json!({ "role": "dispatcher", "active": false })).send().await?;
        let deactivated = res.status().as_u16();
        let after = user_http.get(format!("{}/v1/depots", server.base)).send().await?.status().as_u16();
        out.add(
            "deactivated user's access token",
            format!("{before} before, deactivation {deactivated}, {after} after"),
            "works for 15 minutes",
            Verdict::of(deactivated == 200 && after == 401),
        );
        Ok(())
    })
    .await
}
