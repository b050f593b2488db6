//! Tests of the replay library on tiny instances written to a temporary folder.

use super::*;

/// Depot at the origin, four clients of demand 4, capacity 10 (so at least two routes).
const TINY_CVRP: &str = "NAME : tiny\nTYPE : CVRP\nDIMENSION : 5\nCAPACITY : 10\nEDGE_WEIGHT_TYPE : EUC_2D\n\
NODE_COORD_SECTION\n1 0 0\n2 3 4\n3 6 8\n4 0 5\n5 -3 -4\nDEMAND_SECTION\n1 0\n2 4\n3 4\n4 4\n5 4\n\
DEPOT_SECTION\n1\n-1\nEOF\n";

/// A feasible solution of [`TINY_CVRP`]: 5 + 5 + 10 and 5 + 9 + 5 = 39, with a wrong `Cost` line
/// (the replay must evaluate the routes, not trust it).
const TINY_SOL: &str = "Route #1: 1 2\nRoute #2: 3 4\nCost 1\n";

/// Two customers whose windows allow one route 0-2-1-0 of 20.6 + 2 + 18.6 = 41.2 (DIMACS).
const TINY_SOLOMON: &str = "T101

VEHICLE
NUMBER     CAPACITY
  25         200

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0        40        50         0         0      1236         0
    1        45        68        10       912       967        90
    2        45        70        30       825       870        90
";

/// A fresh, empty folder for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("luckygas-replay-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn quick() -> ReplayOptions {
    ReplayOptions { time_limit: None, max_iterations: Some(5), threads: 1, seeds: vec![1, 2], rounding: Rounding::Auto, ..ReplayOptions::default() }
}

fn row(family: &str, path: &str, seed: u64, cost: f64, gap: Option<f64>, feasible: bool) -> Row {
    Row {
        instance: path.to_string(),
        family: family.to_string(),
        path: path.to_string(),
        clients: 10,
        seed,
        cost,
        bks: gap.map(|_| 100.0),
        gap_pct: gap,
        feasible,
        routes: 2,
        elapsed_s: 1.0,
        iterations: 5,
        error: None,
    }
}

#[test]
fn discovers_vrp_and_solomon_files_sorted_and_skips_the_rest() {
    let dir = temp_dir("discover");
    let b = write(&dir, "b.vrp", TINY_CVRP);
    let c = write(&dir, "a/c.vrp", TINY_CVRP);
    let s = write(&dir, "s.txt", TINY_SOLOMON);
    let notes = write(&dir, "notes.txt", "not an instance\n");
    write(&dir, "b.sol", TINY_SOL);
    write(&dir, "README.md", "# read me\n");
    write(&dir, "LICENSE.txt", TINY_SOLOMON);
    write(&dir, "a/README.vrp", TINY_CVRP);
    assert_eq!(discover(std::slice::from_ref(&dir)), vec![c.clone(), b.clone(), s.clone()]);

    // Files are taken as they are, in the order given; missing paths are kept to be reported.
    let missing = dir.join("missing.vrp");
    assert_eq!(discover(&[notes.clone(), missing.clone(), dir.join("a")]), vec![notes, missing, c]);
}

#[test]
fn evaluates_the_best_known_solution_with_the_checker_not_its_cost_line() {
    let dir = temp_dir("bks");
    let vrp = write(&dir, "tiny.vrp", TINY_CVRP);
    let instance = io::read_instance(&vrp, Format::Auto, Rounding::Auto).unwrap();
    assert_eq!(best_known_cost(&vrp, &instance), Ok(None));
    write(&dir, "tiny.sol", TINY_SOL);
    assert_eq!(best_known_cost(&vrp, &instance), Ok(Some(39)));
    write(&dir, "tiny.sol", "Route #1: 1 2 3 4\n");
    let e = best_known_cost(&vrp, &instance).unwrap_err();
    assert!(e.contains("tiny.sol") && e.contains("infeasible"), "{e}");
}

#[test]
fn replays_a_cvrp_instance_against_its_best_known() {
    let dir = temp_dir("cvrp");
    let vrp = write(&dir, "tiny.vrp", TINY_CVRP);
    write(&dir, "tiny.sol", TINY_SOL);
    let r = replay_instance(&vrp, &quick(), 3);
    assert_eq!(r.error, None);
    assert_eq!((r.instance.as_str(), r.family.as_str(), r.clients, r.seed), ("tiny", "CVRP", 4, 3));
    assert!(r.feasible && r.routes >= 2, "{r:?}");
    assert_eq!(r.bks, Some(39.0));
    let gap = r.gap_pct.unwrap();
    assert!((gap - 100.0 * (r.cost - 39.0) / 39.0).abs() < 1e-9 && gap <= 0.0, "{r:?}");
    assert!(r.iterations <= 5 && r.elapsed_s >= 0.0);
    // Same seed, no time limit: the same result.
    assert_eq!(replay_instance(&vrp, &quick(), 3).cost, r.cost);
}

#[test]
fn replays_a_solomon_instance_in_dimacs_units_without_best_known() {
    let dir = temp_dir("solomon");
    let txt = write(&dir, "T101.txt", TINY_SOLOMON);
    let r = replay_instance(&txt, &quick(), 1);
    assert_eq!((r.family.as_str(), r.clients, r.bks, r.gap_pct, r.error.as_deref()), ("SOLOMON", 2, None, None, None));
    assert!(r.feasible && (r.cost - 41.2).abs() < 1e-9, "{r:?}");
    assert!(!r.failed());
}

#[test]
fn reports_unreadable_instances_and_solutions_as_failed_rows() {
    let dir = temp_dir("errors");
    let missing = replay_instance(&dir.join("missing.vrp"), &quick(), 1);
    assert!(missing.failed() && missing.error.as_deref().is_some_and(|e| e.contains("missing.vrp")), "{missing:?}");
    assert_eq!((missing.family.as_str(), missing.instance.as_str()), ("unknown", "missing"));
    assert!(missing.cost.is_nan());

    let garbage = write(&dir, "garbage.vrp", "DIMENSION : x\n");
    let r = replay_instance(&garbage, &quick(), 1);
    assert!(r.failed() && r.error.as_deref().is_some_and(|e| e.contains("garbage.vrp")), "{r:?}");

    // A best-known solution that does not fit the instance: still solved, but flagged.
    let vrp = write(&dir, "tiny.vrp", TINY_CVRP);
    write(&dir, "tiny.sol", "Route #1: 99\n");
    let r = replay_instance(&vrp, &quick(), 1);
    assert!(r.feasible && r.cost.is_finite() && r.bks.is_none(), "{r:?}");
    assert!(r.failed() && r.error.as_deref().is_some_and(|e| e.contains("tiny.sol")), "{r:?}");
}

#[test]
fn replays_every_instance_with_every_seed_in_order() {
    let dir = temp_dir("all");
    let a = write(&dir, "a.vrp", TINY_CVRP);
    let b = write(&dir, "b.txt", TINY_SOLOMON);
    let mut seen = Vec::new();
    let rows = replay_all(&[a, b], &quick(), |r| seen.push((r.instance.clone(), r.seed)));
    let expected: Vec<(String, u64)> = [("a", 1), ("a", 2), ("b", 1), ("b", 2)].iter().map(|(n, s)| (n.to_string(), *s)).collect();
    assert_eq!(seen, expected);
    assert_eq!(rows.len(), 4);
}

#[test]
fn environment_always_has_a_limit() {
    let none = ReplayOptions { time_limit: None, max_iterations: None, ..quick() };
    assert_eq!(none.environment(7).time_limit, Environment::default().time_limit);
    let iterations = quick().environment(7);
    assert_eq!((iterations.seed, iterations.time_limit, iterations.max_iterations), (7, None, Some(5)));
    let zero_threads = ReplayOptions { threads: 0, ..quick() };
    assert_eq!(zero_threads.environment(1).threads, 1);
}

#[test]
fn summarises_per_family_then_overall() {
    let mut failed = row("CVRP", "x3", 1, f64::NAN, None, false);
    failed.error = Some("cannot read".into());
    let rows = vec![
        row("CVRP", "x1", 1, 101.0, Some(1.0), true),
        row("CVRP", "x1", 2, 103.0, Some(3.0), true),
        row("CVRP", "x2", 1, 90.0, Some(-10.0), false),
        failed,
        row("SOLOMON", "s1", 1, 800.0, None, true),
    ];
    let s = summarise(&rows);
    assert_eq!(s.iter().map(|f| f.family.as_str()).collect::<Vec<_>>(), vec!["CVRP", "SOLOMON", ALL]);
    let cvrp = &s[0];
    assert_eq!((cvrp.instances, cvrp.runs, cvrp.feasible), (3, 4, 2));
    // Gaps of feasible solves only; costs and times of every solve with a solution.
    assert_eq!((cvrp.mean_gap, cvrp.best_gap, cvrp.worst_gap), (Some(2.0), Some(1.0), Some(3.0)));
    assert_eq!((cvrp.mean_cost, cvrp.mean_elapsed_s), (Some(98.0), Some(1.0)));
    assert_eq!((s[1].mean_gap, s[1].mean_cost, s[1].feasible), (None, Some(800.0), 1));
    assert_eq!((s[2].instances, s[2].runs, s[2].feasible, s[2].mean_gap, s[2].mean_cost), (4, 5, 3, Some(2.0), None));
    let one_family = summarise(&rows[..2]);
    assert_eq!((one_family.len(), one_family[1].mean_cost), (2, Some(102.0)));
    assert!(summarise(&[]).is_empty());
}

#[test]
fn writes_csv_with_quoted_fields_and_empty_missing_numbers() {
    let mut r = row("CVRP", "dir, with comma/x1.vrp", 1, 27632.0, Some(0.148598), true);
    r.bks = Some(27591.0);
    let mut failed = row("unknown", "bad.vrp", 2, f64::NAN, None, false);
    failed.error = Some("bad.vrp:3: \"x\" is not a number".into());
    let mut out = Vec::new();
    write_csv(&[r, failed], &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "instance,family,path,clients,seed,cost,bks,gap_pct,feasible,routes,elapsed_s,iterations,error");
    assert_eq!(lines[1], "\"dir, with comma/x1.vrp\",CVRP,\"dir, with comma/x1.vrp\",10,1,27632,27591,0.1486,true,2,1.000,5,");
    assert_eq!(lines[2], "bad.vrp,unknown,bad.vrp,10,2,,,,false,2,1.000,5,\"bad.vrp:3: \"\"x\"\" is not a number\"");
    assert_eq!(csv_field(" padded"), "\" padded\"");
    assert_eq!(csv_field("a\nb"), "\"a\nb\"");
    assert_eq!(csv_field("plain"), "plain");
}

#[test]
fn writes_json_rows_and_summary() {
    let rows = vec![row("CVRP", "x1", 1, 101.0, Some(1.0), true), row("unknown", "bad", 1, f64::NAN, None, false)];
    let mut out = Vec::new();
    write_json(&rows, &summarise(&rows), &mut out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["rows"][0]["gap_pct"], 1.0);
    assert!(v["rows"][1]["cost"].is_null());
    assert_eq!(v["summary"].as_array().and_then(|s| s.last()).map(|s| s["family"].clone()), Some(ALL.into()));
}
