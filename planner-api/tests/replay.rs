//! End-to-end tests of `luckygas replay`: the real binary on two public instances.

use std::path::PathBuf;
use std::process::Command;

fn luckygas() -> Command {
    Command::new(env!("CARGO_BIN_EXE_luckygas"))
}

fn public_instance(relative: &str) -> PathBuf {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/datasets"));
    let path = root.join(relative);
    assert!(path.is_file(), "public instance missing at {} (../shared/datasets from the project root)", path.display());
    path
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("luckygas-replay-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One CSV line split into fields (the fields of these rows hold no quotes or commas).
fn fields(line: &str) -> Vec<&str> {
    line.split(',').collect()
}

#[test]
fn replays_a_cvrp_and_a_solomon_instance_and_writes_csv_json_and_svg() {
    let dir = temp_dir("two");
    let (csv, json) = (dir.join("rows.csv"), dir.join("rows.json"));
    let cvrp = public_instance("pyvrp-instances/CVRP/X-n101-k25.vrp");
    let solomon = public_instance("solomon/C101.txt");
    let out = luckygas()
        .arg("replay")
        .arg(&cvrp)
        .arg(&solomon)
        .args(["--max-iterations", "20", "--seeds", "1,2", "--csv"])
        .arg(&csv)
        .arg("--json")
        .arg(&json)
        .arg("--svg")
        .arg(dir.join("run"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "replay failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));

    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    let header = fields(lines[0]);
    assert_eq!(header, ["instance", "family", "path", "clients", "seed", "cost", "bks", "gap_pct", "feasible", "routes", "elapsed_s", "iterations", "error"]);
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let expected = [("X-n101-k25", "CVRP", "100", "1"), ("X-n101-k25", "CVRP", "100", "2"), ("C101", "SOLOMON", "100", "1"), ("C101", "SOLOMON", "100", "2")];
    // The limit is per run of a thread: the genetic search on the plain CVRP instance, one
    // ruin-and-recreate walk on C101 (time windows).
    for (line, (instance, family, clients, seed)) in lines[1..].iter().zip(expected) {
        let f = fields(line);
        assert_eq!(f.len(), header.len(), "{line}");
        assert_eq!([f[col("instance")], f[col("family")], f[col("clients")], f[col("seed")]], [instance, family, clients, seed], "{line}");
        assert_eq!((f[col("feasible")], f[col("error")]), ("true", ""), "{line}");
        assert_eq!(f[col("iterations")], "20", "{line}");
        let cost: f64 = f[col("cost")].parse().unwrap();
        if family == "CVRP" {
            // The best known (27591) comes from the .sol beside the instance, evaluated.
            assert_eq!(f[col("bks")], "27591", "{line}");
            let gap: f64 = f[col("gap_pct")].parse().unwrap();
            assert!((gap - 100.0 * (cost - 27591.0) / 27591.0).abs() < 1e-3, "{line}");
            assert!((0.0..15.0).contains(&gap), "{line}");
        } else {
            assert_eq!((f[col("bks")], f[col("gap_pct")]), ("", ""), "{line}");
            // C101's optimum is 827.3 (DIMACS); 20 iterations land near it.
            assert!((820.0..827.3 * 1.3).contains(&cost), "{line}");
        }
    }

    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(4));
    let families: Vec<&str> = v["summary"].as_array().unwrap().iter().filter_map(|s| s["family"].as_str()).collect();
    assert_eq!(families, ["CVRP", "SOLOMON", "ALL"]);
    assert_eq!((v["summary"][2]["instances"].as_u64(), v["summary"][2]["feasible"].as_u64()), (Some(2), Some(4)));
    // Each row carries its convergence trace, ending at its cost.
    for row in v["rows"].as_array().unwrap().iter().filter(|r| r["family"] == "CVRP") {
        let trace = row["trace"].as_array().unwrap();
        assert!(!trace.is_empty(), "{row}");
        assert_eq!(trace.last().map(|p| &p["cost"]), Some(&row["cost"]), "{row}");
    }

    // The charts: a bar for the CVRP instance (the Solomon one has no best known), a line per
    // CVRP solve, titles naming the options.
    let gap = std::fs::read_to_string(dir.join("run-gap.svg")).unwrap();
    let gap = roxmltree::Document::parse(&gap).unwrap();
    let bars: Vec<_> = gap.descendants().filter(|n| n.has_tag_name("rect") && n.attribute("class") == Some("bar")).collect();
    assert_eq!(bars.iter().filter_map(|b| b.attribute("data-instance")).collect::<Vec<_>>(), ["X-n101-k25"]);
    let title = gap.root_element().children().find(|n| n.has_tag_name("title")).and_then(|n| n.text()).unwrap_or_default().to_string();
    assert!(title.contains("20 iterations") && title.contains("seeds 1,2") && title.contains("1 thread"), "{title}");
    let convergence = std::fs::read_to_string(dir.join("run-convergence.svg")).unwrap();
    let convergence = roxmltree::Document::parse(&convergence).unwrap();
    let seeds: Vec<&str> = convergence
        .descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("class") == Some("trace"))
        .filter_map(|n| n.attribute("data-seed"))
        .collect();
    assert_eq!(seeds, ["1", "2"]);

    // Stdout: a header, one row per solve, then the summary table.
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("instance") && lines[0].contains("gap %"), "{stdout}");
    assert_eq!(lines[1..5].iter().filter(|l| l.starts_with("X-n101-k25") || l.starts_with("C101")).count(), 4, "{stdout}");
    assert!(lines.iter().any(|l| l.starts_with("family")), "{stdout}");
    for (family, feasible) in [("CVRP ", "2/2"), ("SOLOMON ", "2/2"), ("ALL ", "4/4")] {
        assert!(lines.iter().any(|l| l.starts_with(family) && l.contains(feasible)), "{family}: {stdout}");
    }
}

#[test]
fn exits_1_and_reports_an_instance_that_cannot_be_read() {
    let dir = temp_dir("bad");
    let bad = dir.join("broken.vrp");
    std::fs::write(&bad, "DIMENSION : x\n").unwrap();
    let csv = dir.join("rows.csv");
    let out = luckygas().arg("replay").arg(&bad).args(["--max-iterations", "5", "--csv"]).arg(&csv).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("broken") && l.contains("error:") && l.contains("broken.vrp")), "{stdout}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.lines().nth(1).is_some_and(|l| l.starts_with("broken,unknown,")), "{text}");
}

#[test]
fn fails_before_solving_when_a_chart_cannot_be_written() {
    let dir = temp_dir("svg");
    let cvrp = public_instance("pyvrp-instances/CVRP/X-n101-k25.vrp");
    let out = luckygas().arg("replay").arg(&cvrp).args(["--max-iterations", "5", "--svg"]).arg(dir.join("missing/run")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing/run-gap.svg"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("X-n101-k25"), "solved before failing");
}

#[test]
fn refuses_a_path_with_no_instance() {
    let dir = temp_dir("empty");
    let out = luckygas().arg("replay").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no instance"));
}
