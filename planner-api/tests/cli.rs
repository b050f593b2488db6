//! End-to-end tests of the `luckygas` command line: the real binary on real files.

use std::path::{Path, PathBuf};
use std::process::Command;

fn luckygas() -> Command {
    Command::new(env!("CARGO_BIN_EXE_luckygas"))
}

fn datasets() -> PathBuf {
    let d = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/datasets"));
    assert!(d.is_dir(), "the public datasets must be at {} (../shared/datasets from the project root)", d.display());
    d
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("luckygas-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn solve_json(instance: &Path, sol: &Path, extra: &[&str]) -> serde_json::Value {
    let out = luckygas()
        .arg("solve")
        .arg(instance)
        .args(["--time-limit", "30", "--max-iterations", "30", "--seed", "3", "--json", "--solution-out"])
        .arg(sol)
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "solve failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

#[test]
fn solves_a_cvrp_instance_and_the_checker_accepts_the_written_solution() {
    let dir = temp_dir("cvrp");
    let instance = datasets().join("pyvrp-instances/CVRP/X-n101-k25.vrp");
    let sol = dir.join("X-n101-k25.sol");
    let v = solve_json(&instance, &sol, &[]);
    for key in ["instance", "cost", "feasible", "routes", "unassigned", "elapsed_s", "iterations", "seed", "threads"] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["instance"], "X-n101-k25");
    assert_eq!(v["feasible"], true);
    assert_eq!(v["seed"], 3);
    assert_eq!(v["unassigned"].as_array().map(Vec::len), Some(0));
    let cost = v["cost"].as_f64().unwrap();
    // The best known is 27591; a short run must be feasible and not absurdly far from it.
    assert!((27591.0..27591.0 * 1.15).contains(&cost), "cost {cost}");

    let text = std::fs::read_to_string(&sol).unwrap();
    assert!(text.lines().next().unwrap().starts_with("Route #1: "));
    assert_eq!(text.lines().last().unwrap(), format!("Cost {}", cost as i64));
    let check = luckygas().arg("check").arg(&instance).arg(&sol).arg("--json").output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let c: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(c["cost"].as_f64(), Some(cost));
}

#[test]
fn a_warm_start_from_the_best_known_solution_keeps_it() {
    // X-n101-k25's best known solution is optimal (27591): one iteration from it cannot do
    // better and must not do worse, where one iteration from scratch lands far above it.
    let dir = temp_dir("warm");
    let instance = datasets().join("pyvrp-instances/CVRP/X-n101-k25.vrp");
    let best_known = datasets().join("pyvrp-instances/CVRP/X-n101-k25.sol");
    let one_iteration = |extra: &[&str]| {
        let out = luckygas().arg("solve").arg(&instance).args(["--max-iterations", "1", "--seed", "3", "--json"]).args(extra).output().unwrap();
        assert!(out.status.success(), "solve failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("one JSON object on stdout")
    };
    let warm = one_iteration(&["--initial-solution", best_known.to_str().unwrap()]);
    assert_eq!(warm["feasible"], true);
    assert_eq!(warm["cost"].as_f64(), Some(27591.0), "{warm}");
    let cold = one_iteration(&[]);
    assert!(cold["cost"].as_f64().unwrap() > 27591.0, "{cold}");
    // A file that does not fit the instance is refused with its line.
    let bad = dir.join("bad.sol");
    std::fs::write(&bad, "Route #1: 1 2 99999\n").unwrap();
    let out = luckygas().arg("solve").arg(&instance).args(["--max-iterations", "1", "--initial-solution"]).arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.sol") && err.contains("99999"), "{err}");
}

#[test]
fn solves_a_solomon_instance_with_two_threads() {
    let dir = temp_dir("solomon");
    let instance = datasets().join("solomon/R101.txt");
    let sol = dir.join("R101.sol");
    let v = solve_json(&instance, &sol, &["--threads", "2"]);
    assert_eq!(v["feasible"], true);
    assert_eq!(v["threads"], 2);
    let check = luckygas().arg("check").arg(&instance).arg(&sol).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
}

#[test]
fn check_rejects_a_broken_solution_and_exits_non_zero() {
    let dir = temp_dir("broken");
    let instance = datasets().join("pyvrp-instances/CVRP/X-n101-k25.vrp");
    let sol = dir.join("broken.sol");
    // Every client on one route: far over capacity, and client 1 is visited twice.
    let visits: Vec<String> = (1..=100).chain([1]).map(|i| i.to_string()).collect();
    std::fs::write(&sol, format!("Route #1: {}\nCost 1\n", visits.join(" "))).unwrap();
    let out = luckygas().arg("check").arg(&instance).arg(&sol).arg("--json").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = c["violations"].as_array().unwrap().iter().filter_map(|v| v["code"].as_str()).collect();
    assert!(codes.contains(&"capacity"), "{codes:?}");
    assert!(codes.contains(&"duplicate_client"), "{codes:?}");
}

#[test]
fn reports_unreadable_input_with_file_and_line() {
    let dir = temp_dir("bad");
    let bad = dir.join("bad.vrp");
    std::fs::write(&bad, "NAME : bad\nTYPE : CVRP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 10\nNODE_COORD_SECTION\n1 0 0\n2 1 x\n3 2 2\nDEMAND_SECTION\n1 0\n2 1\n3 1\nDEPOT_SECTION\n1\n-1\nEOF\n").unwrap();
    let out = luckygas().arg("solve").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.vrp:8"), "{err}");
}

#[test]
fn plans_the_example_taipei_day() {
    let out = luckygas().args(["plan", "--max-iterations", "20", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["feasible"], true);
    let stops: usize = v["routes"].as_array().unwrap().iter().map(|r| r["stops"].as_array().unwrap().len()).sum();
    let unassigned = v["unassigned"].as_array().unwrap().len();
    assert_eq!(stops + unassigned, 40, "every customer is planned or reported");
}
