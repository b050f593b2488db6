//! The web console in a real browser (issue 19): headless Chromium from Debian, driven through
//! ChromeDriver, against the real `luckygas serve --demo` on loopback. The tests assert what the
//! page shows. Screenshots go to `$CARGO_TARGET_TMPDIR/screenshots` (and, when
//! `LUCKYGAS_SCREENSHOTS` names a folder, there too: `docs/screenshots` for the README).

mod support;

use serde_json::{json, Value};
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::browser::Browser;
use support::own_postgres::free_port;

/// `luckygas serve --demo` on a fresh SQLite file, killed on drop.
struct Demo {
    child: std::process::Child,
    base: String,
    email: String,
    password: String,
    _dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn demo() -> Demo {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_luckygas"))
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", format!("sqlite://{}", dir.path().join("demo.db").display()))
        .env("LUCKYGAS_JWT_SECRET", planner_api::auth::random_hex(32))
        .env("LUCKYGAS_TURNKEY_DIR", dir.path().join("turnkey"))
        .env("PLAN_WORKERS", "1")
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn luckygas serve --demo");
    // Read its standard output to the end (a closed pipe would fail its later writes), passing
    // on the line that says how to sign in.
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("--demo: sign in as") {
                let _ = tx.send(line);
            }
        }
    });
    let line = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(120)).expect("the demo says how to sign in")).await.expect("join");
    // "--demo: sign in as EMAIL with password PASSWORD"
    let words: Vec<&str> = line.split_whitespace().collect();
    let (email, password) = (words[4].to_owned(), words[7].to_owned());
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = std::time::Instant::now();
    while !http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(started.elapsed() < Duration::from_secs(120), "the demo is not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Demo { child, base, email, password, _dir: dir }
}

fn save_screenshot(name: &str, png: &[u8]) {
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let mut dirs = vec![std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots")];
    if let Ok(extra) = std::env::var("LUCKYGAS_SCREENSHOTS") {
        dirs.push(extra.into());
    }
    for dir in dirs {
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        std::fs::write(dir.join(name), png).expect("write screenshot");
    }
}

/// `GET path` as the admin.
async fn api_get(demo: &Demo, path: &str) -> Value {
    let http = reqwest::Client::new();
    let tokens: Value = http
        .post(format!("{}/v1/auth/login", demo.base))
        .json(&json!({ "email": demo.email, "password": demo.password }))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("tokens");
    let token = tokens["access_token"].as_str().expect("token");
    http.get(format!("{}{path}", demo.base)).bearer_auth(token).send().await.expect("GET").json().await.expect("json")
}

/// The day's orders through the API, as the admin.
async fn api_orders(demo: &Demo) -> Vec<Value> {
    let today = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8")).date_naive();
    let page = api_get(demo, &format!("/v1/orders?date={today}&limit=200")).await;
    page["items"].as_array().expect("items").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_signs_in_finds_cancels_and_plans_the_day_and_opens_a_stop_on_the_map() {
    let demo = demo().await;
    // The page and its policy: no inline script or style allowed.
    let res = reqwest::get(format!("{}/", demo.base)).await.expect("GET /");
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"].to_str().expect("csp").to_owned();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(res.headers()["content-type"].to_str().expect("type").starts_with("text/html"));

    let browser = Browser::start(1280, 900).await;
    browser.goto(&format!("{}/", demo.base)).await;
    // Traditional Chinese by default.
    browser.wait_for("the sign-in form", "return document.querySelector('#signin')", Duration::from_secs(20)).await;
    assert_eq!(browser.text("form h1").await, "登入");
    assert_eq!(browser.eval("return document.documentElement.lang", json!([])).await, "zh-TW");
    // English on the toggle, and back.
    browser.click("#lang").await;
    assert_eq!(browser.text("form h1").await, "Sign in");
    assert_eq!(browser.text("label[for=email]").await, "Email");
    // A wrong password is refused, in the chosen language, and nothing else happens.
    browser.type_into("#email", &demo.email).await;
    browser.type_into("#password", "not-the-password").await;
    browser.click("#signin").await;
    let refused = browser.wait_for("the refusal", "const e = document.querySelector('[role=alert]'); return e && e.innerText", Duration::from_secs(10)).await;
    assert!(refused.as_str().is_some_and(|t| t.starts_with("Sign-in failed")), "{refused}");
    browser.click("#lang").await;
    assert_eq!(browser.text("form h1").await, "登入");

    // Signed in: the day's orders, as many as the API has.
    browser.type_into("#email", &demo.email).await;
    browser.type_into("#password", &demo.password).await;
    browser.click("#signin").await;
    browser.wait_for("the orders", "return document.querySelectorAll('table.orders tbody tr').length", Duration::from_secs(20)).await;
    let orders = api_orders(&demo).await;
    assert!(!orders.is_empty());
    let rows = browser.eval("return document.querySelectorAll('table.orders tbody tr').length", json!([])).await;
    assert_eq!(rows.as_u64(), Some(orders.len() as u64));
    assert!(browser.text("#title").await.contains(&format!("（{} 筆）", orders.len())), "{}", browser.text("#title").await);
    save_screenshot("console-orders.png", &browser.screenshot().await);

    // A new order for a customer found by phone number (server-side search), urgent.
    let customers = api_get(&demo, "/v1/customers?limit=200").await;
    let pick = customers["items"].as_array().expect("customers").iter().rev().find(|c| c["phone"].is_string()).expect("a customer with a phone").clone();
    let digits: String = pick["phone"].as_str().expect("phone").chars().filter(char::is_ascii_digit).collect();
    browser.click("#new-order summary").await;
    browser.type_into("#customer-search", &digits[digits.len() - 7..]).await;
    let button = format!("#customer-results button[data-customer=\"{}\"]", pick["id"]);
    browser.wait_for("the customer found", &format!("return document.querySelector('{}')", button.replace('\'', "\\'")), Duration::from_secs(10)).await;
    browser.click(&button).await;
    assert!(browser.text("#chosen").await.contains(pick["name"].as_str().expect("name")));
    browser.click("#urgent").await;
    browser.type_into("#note", "後門進出").await;
    browser.click("#add-order").await;
    let said = browser.wait_for("the new order", "const e = document.querySelector('.notice'); return e && e.innerText", Duration::from_secs(20)).await;
    assert!(said.as_str().is_some_and(|t| t.contains("已新增")), "{said}");
    let with_new = api_orders(&demo).await;
    assert_eq!(with_new.len(), orders.len() + 1);
    let added = with_new.iter().max_by_key(|o| o["id"].as_i64()).expect("the new order");
    assert_eq!((added["customer_id"].clone(), added["priority"].as_str(), added["note"].as_str()), (pick["id"].clone(), Some("urgent"), Some("後門進出")));
    let rows = browser.eval("return document.querySelectorAll('table.orders tbody tr').length", json!([])).await;
    assert_eq!(rows.as_u64(), Some(with_new.len() as u64));
    let orders = with_new;

    // Search narrows the list to the customer found.
    let first = browser.text("table.orders tbody tr td").await;
    let name = first.lines().next().expect("a name").to_owned();
    browser.type_into("#search", &name).await;
    let shown = browser.eval("return [...document.querySelectorAll('table.orders tbody tr')].map(r => r.innerText)", json!([])).await;
    let shown = shown.as_array().expect("rows");
    assert!(!shown.is_empty() && shown.len() < orders.len(), "{} of {}", shown.len(), orders.len());
    assert!(shown.iter().all(|r| r.as_str().is_some_and(|t| t.contains(&name))), "{shown:?}");

    // Cancel that order, in English: the page says so and so does the API.
    browser.click("#lang").await;
    browser
        .wait_for(
            "the English page",
            "return document.querySelector('#title') && document.querySelector('#title').innerText.startsWith('Orders of')",
            Duration::from_secs(20),
        )
        .await;
    browser.type_into("#search", &name).await;
    let order_id = browser.eval("return Number(document.querySelector('table.orders tbody button.danger').dataset.order)", json!([])).await;
    let order_id = order_id.as_i64().expect("an order to cancel");
    browser.click("table.orders tbody button.danger").await;
    browser.accept_dialog().await;
    let said = browser.wait_for("the confirmation", "const e = document.querySelector('.notice'); return e && e.innerText", Duration::from_secs(20)).await;
    assert!(said.as_str().is_some_and(|t| t.contains("is cancelled")), "{said}");
    let after = api_orders(&demo).await;
    let cancelled = after.iter().find(|o| o["id"] == order_id).expect("the order");
    assert_eq!(cancelled["status"], "cancelled");
    browser
        .wait_for(
            "the row's new status",
            &format!("const r = document.querySelector('tr[data-order=\"{order_id}\"] td.status'); return r && r.innerText === 'Cancelled'"),
            Duration::from_secs(20),
        )
        .await;

    // Plan the day with a short search: a progress bar, then the map with every planned stop
    // numbered in its vehicle's colour, and a stop's popup with what the plan says of it.
    browser.eval("const s = document.querySelector('#time-limit'); s.value = '5'; return s.value", json!([])).await;
    browser.click("#plan").await;
    browser.wait_for("the progress bar", "return document.querySelector('#progress')", Duration::from_secs(10)).await;
    browser.wait_for("the map", "return document.querySelectorAll('svg.map g.stop').length", Duration::from_secs(120)).await;
    let plans = api_get(&demo, "/v1/plans?status=succeeded&limit=200").await;
    let plan_id = plans["items"].as_array().expect("items").iter().filter_map(|j| j["id"].as_i64()).max().expect("a plan");
    let job = api_get(&demo, &format!("/v1/plans/{plan_id}")).await;
    let stops: Vec<&Value> = job["result"]["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .flat_map(|r| r["trips"].as_array().expect("trips"))
        .flat_map(|t| t["stops"].as_array().expect("stops"))
        .collect();
    let drawn = browser.eval("return document.querySelectorAll('svg.map g.stop').length", json!([])).await;
    assert_eq!(drawn.as_u64(), Some(stops.len() as u64), "every planned stop is on the map");
    let towns = browser.eval("return document.querySelectorAll('svg.map g.towns path').length", json!([])).await;
    assert!(towns.as_u64().is_some_and(|n| n > 10), "the basemap's districts are drawn: {towns}");
    assert_eq!(browser.text("#plan-title").await, format!("Plan #{plan_id}"));
    let first = stops[0];
    browser.click(&format!("svg.map g.stop[data-order=\"{}\"]", first["order_id"])).await;
    browser.wait_for("the popup", "const p = document.querySelector('#popup'); return p && !p.hidden", Duration::from_secs(10)).await;
    assert!(browser.text("#popup h3").await.ends_with(first["name"].as_str().expect("name")), "{}", browser.text("#popup h3").await);
    assert_eq!(browser.text("#popup .arrival").await, first["arrival"].as_str().expect("arrival"));
    // The timeline: a row per vehicle, a marker per stop, hollow where the arrival misses the window.
    let rows = browser.eval("return document.querySelectorAll('svg.timeline g.vehicle').length", json!([])).await;
    assert_eq!(rows.as_u64(), Some(job["result"]["routes"].as_array().expect("routes").len() as u64));
    let markers = browser.eval("return document.querySelectorAll('svg.timeline circle.stop').length", json!([])).await;
    assert_eq!(markers.as_u64(), Some(stops.len() as u64));
    let late_in_plan = stops
        .iter()
        .filter(|st| {
            let at = st["arrival"].as_str().unwrap_or_default();
            let windows = st["time_windows"].as_array().map(Vec::as_slice).unwrap_or_default();
            !windows.is_empty() && !windows.iter().any(|w| w["start"].as_str().unwrap_or_default() <= at && at <= w["end"].as_str().unwrap_or_default())
        })
        .count();
    let late_drawn = browser.eval("return document.querySelectorAll('svg.timeline circle.late').length", json!([])).await;
    assert_eq!(late_drawn.as_u64(), Some(late_in_plan as u64), "stops drawn as missing their window");
    browser.eval("document.querySelector('.plan').scrollIntoView(); return true", json!([])).await;
    save_screenshot("console-map.png", &browser.screenshot().await);
    browser.eval("document.querySelector('.timeline-holder').scrollIntoView(); return true", json!([])).await;
    save_screenshot("console-timeline.png", &browser.screenshot().await);

    // No errors in the browser console (a CSP violation would be one), but for the refused
    // sign-in above, which Chromium reports as a failed load.
    let errors: Vec<_> =
        browser.console().await.into_iter().filter(|(level, m)| level == "SEVERE" && !(m.contains("/v1/auth/login") && m.contains("401"))).collect();
    assert!(errors.is_empty(), "{errors:?}");
    browser.quit().await;
}
