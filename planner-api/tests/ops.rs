//! `ops/`: every query of the Grafana dashboard (`ops/grafana/luckygas.json`) and every alerting
//! rule (`ops/prometheus/alerts.yml`) names a metric that the running server exports, so no
//! panel stays empty and no alert watches a name that does not exist.

mod support;

use serde_json::{json, Value};
use std::collections::BTreeSet;
use support::{Backend, TestApp};

const DASHBOARD: &str = include_str!("../../ops/grafana/luckygas.json");
const ALERTS: &str = include_str!("../../ops/prometheus/alerts.yml");

/// The metric names in a PromQL expression: identifiers of the service's and the process's
/// families (label names and functions have neither prefix).
fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if starts_word && (expr[i..].starts_with("luckygas_") || expr[i..].starts_with("process_")) {
            let end = expr[i..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(expr.len(), |n| i + n);
            out.push(expr[i..end].to_owned());
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// The series names a scrape carries: each family's name, and a histogram's `_bucket`, `_sum`
/// and `_count`.
fn exported(scrape: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in scrape.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                names.insert(name.to_owned());
                if kind == "histogram" || kind == "summary" {
                    for suffix in ["_bucket", "_sum", "_count"] {
                        names.insert(format!("{name}{suffix}"));
                    }
                }
            }
        }
    }
    names
}

fn dashboard_exprs(dashboard: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap_or("?").to_owned();
            out.push((title, target["expr"].as_str().expect("an expr").to_owned()));
        }
    }
    out
}

fn alert_exprs(rules: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut alert = String::new();
    for line in rules.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix("- alert:") {
            alert = name.trim().to_owned();
        } else if let Some(expr) = line.strip_prefix("expr:") {
            let expr = expr.trim();
            assert!(!matches!(expr, "" | ">" | "|" | ">-" | "|-"), "alert {alert}: keep each expr on its line (this check reads them line by line)");
            out.push((alert.clone(), expr.to_owned()));
        }
    }
    out
}

#[test]
fn the_dashboard_is_well_formed() {
    let dashboard: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    let ids: BTreeSet<i64> = panels.iter().filter_map(|p| p["id"].as_i64()).collect();
    assert_eq!(ids.len(), panels.len(), "every panel has its own id");
    for p in panels.iter().filter(|p| p["type"] != "row") {
        assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
        assert_eq!(p["datasource"]["uid"], "${datasource}", "panels read the chosen Prometheus: {}", p["title"]);
        assert!(!p["targets"].as_array().expect("targets").is_empty(), "{}", p["title"]);
    }
    assert_eq!(
        metric_names("max(luckygas_a_b) / luckygas_c{route=\"x\"} and on (instance) process_max_fds"),
        ["luckygas_a_b", "luckygas_c", "process_max_fds"]
    );
    assert_eq!(alert_exprs(ALERTS).len(), ALERTS.matches("- alert:").count());
}

#[tokio::test]
async fn every_dashboard_query_and_alert_names_a_metric_the_server_exports() {
    let app = TestApp::start(Backend::Sqlite).await;
    // Families with labels appear once something is counted: a request, a refused sign-in, a
    // flag evaluated.
    assert_eq!(app.get("/v1/customers").await.0, 200);
    let res =
        app.client.post(app.url("/v1/auth/login")).json(&json!({ "email": "nobody@test", "password": "wrong-password-123" })).send().await.expect("login");
    assert_eq!(res.status().as_u16(), 401);
    assert_eq!(app.get("/v1/flags/legacy.orders/evaluate").await.0, 200);
    // The invoice number gauges are per open block: open one.
    let today = chrono::Utc::now().with_timezone(&einvoice::calendar::taipei()).date_naive();
    let period = einvoice::calendar::Period::of(today).expect("a period").key();
    let (status, _, body) = app.post("/v1/number-blocks", &json!({ "period": period, "track": "AB", "first": "00000000", "last": "00000049" })).await;
    assert_eq!(status, 201, "{body}");
    let scrape = app.client.get(app.url("/metrics")).send().await.expect("GET /metrics").text().await.expect("text");
    let names = exported(&scrape);
    assert!(names.contains("luckygas_database_up"), "{scrape}");

    let dashboard: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    let mut missing = Vec::new();
    let queries = dashboard_exprs(&dashboard).into_iter().map(|(t, e)| (format!("dashboard panel {t:?}"), e));
    let rules = alert_exprs(ALERTS).into_iter().map(|(a, e)| (format!("alert {a}"), e));
    let mut checked = 0;
    for (what, expr) in queries.chain(rules) {
        let used = metric_names(&expr);
        assert!(!used.is_empty(), "{what} names no metric: {expr}");
        for name in used {
            checked += 1;
            if !names.contains(&name) {
                missing.push(format!("{what}: {name}"));
            }
        }
    }
    assert!(missing.is_empty(), "not exported by the server:\n{}", missing.join("\n"));
    assert!(checked > 50, "{checked}");
    app.finish().await;
}

const RUNBOOKS: &str = include_str!("../../ops/runbooks.md");

/// Every alert links its runbook entry, and the entry exists (a heading with the alert's name,
/// or the one the link's anchor names).
#[test]
fn every_alert_links_a_runbook_entry_that_exists() {
    let headings: BTreeSet<String> = RUNBOOKS.lines().filter_map(|l| l.strip_prefix("## ")).map(|h| h.trim().to_lowercase().replace(' ', "-")).collect();
    let mut alerts = 0;
    let mut alert = String::new();
    for line in ALERTS.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("- alert:") {
            alert = name.trim().to_owned();
            alerts += 1;
        } else if let Some(link) = line.strip_prefix("runbook:") {
            let link = link.trim().trim_matches('"');
            let anchor =
                link.strip_prefix("ops/runbooks.md#").unwrap_or_else(|| panic!("alert {alert}: the runbook link {link:?} is not into ops/runbooks.md"));
            assert!(headings.contains(anchor), "alert {alert}: ops/runbooks.md has no entry #{anchor}");
        }
    }
    assert_eq!(ALERTS.matches("runbook:").count(), alerts, "every alert has a runbook annotation");
    assert!(alerts >= 20, "{alerts}");
}
