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
        trace: Vec::new(),
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
    // A plain CVRP instance runs two walks per thread, each within the limit of 5.
    assert!(r.iterations <= 2 * 5 && r.elapsed_s >= 0.0, "{r:?}");
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
    assert_eq!(v["rows"][0]["trace"], serde_json::json!([]));
    assert_eq!(v["summary"].as_array().and_then(|s| s.last()).map(|s| s["family"].clone()), Some(ALL.into()));
}

fn point(elapsed_s: f64, cost: f64) -> TracePoint {
    TracePoint { elapsed_s, cost }
}

/// Whether `trace` is a step function of the best cost: time never goes back, cost never rises.
fn is_monotone(trace: &[TracePoint]) -> bool {
    trace.windows(2).all(|w| w[0].elapsed_s <= w[1].elapsed_s && w[0].cost >= w[1].cost)
}

#[test]
fn records_a_step_function_from_reports_out_of_order() {
    let mut trace = Vec::new();
    for p in [point(1.0, 100.0), point(2.0, 90.0), point(1.5, 95.0), point(3.0, 95.0), point(0.5, 92.0), point(4.0, 80.0), point(f64::NAN, 1.0)] {
        record(&mut trace, p);
    }
    // 1.5/95 fits between 1/100 and 2/90; 3/95 is covered by 2/90; 0.5/92 replaces 1/100 and 1.5/95.
    assert_eq!(trace, vec![point(0.5, 92.0), point(2.0, 90.0), point(4.0, 80.0)]);

    // The checked solution ends the trace (a point later and not dearer, or a horizontal end).
    assert_eq!(finish_trace(trace.clone(), Some(point(5.0, 80.0))).last(), Some(&point(5.0, 80.0)));
    assert_eq!(finish_trace(trace.clone(), Some(point(4.0, 80.0))).len(), 3);
    assert_eq!(finish_trace(trace.clone(), None), trace);
    // A checked cost dearer than the search's last report: the trace still ends there, monotone.
    let odd = finish_trace(trace.clone(), Some(point(5.0, 91.0)));
    assert!(is_monotone(&odd) && odd.last() == Some(&point(5.0, 91.0)), "{odd:?}");
    assert_eq!(finish_trace(Vec::new(), Some(point(0.0, 7.0))), vec![point(0.0, 7.0)]);
}

#[test]
fn thins_long_traces_to_at_most_200_points_keeping_both_ends() {
    // Dense at the start, sparse later, as a search's improvements are.
    let long: Vec<TracePoint> = (0..5000).map(|i| point((i as f64 / 100.0).powi(2), 10_000.0 - i as f64)).collect();
    let thin = finish_trace(long.clone(), Some(point(3000.0, 5000.0)));
    assert!(thin.len() <= MAX_TRACE_POINTS && thin.len() > 150, "{}", thin.len());
    assert_eq!((thin[0], thin[thin.len() - 1]), (long[0], point(3000.0, 5000.0)));
    assert!(is_monotone(&thin));
    // Kept points are spread over the span: where there are points (up to 2500 s), no gap wider
    // than two slices of it.
    let slice = 3000.0 / (MAX_TRACE_POINTS - 1) as f64;
    let widest = thin[..thin.len() - 1].windows(2).map(|w| w[1].elapsed_s - w[0].elapsed_s).fold(0.0, f64::max);
    assert!(widest <= 2.0 * slice + 1e-9, "{widest}");

    // All at one instant, or short ones: the ends only, or untouched.
    let instant: Vec<TracePoint> = (0..300).map(|i| point(0.0, 300.0 - i as f64)).collect();
    assert_eq!(thin_trace(instant.clone()), vec![instant[0], instant[299]]);
    assert_eq!(thin_trace(long[..200].to_vec()), long[..200].to_vec());
    // Evenly spread: every point is `span` from the next, 200 exactly.
    let even: Vec<TracePoint> = (0..1000).map(|i| point(i as f64, 1000.0 - i as f64)).collect();
    let t = thin_trace(even.clone());
    assert!(t.len() <= MAX_TRACE_POINTS && is_monotone(&t) && t[0] == even[0] && t[t.len() - 1] == even[999], "{}", t.len());
}

fn thin_trace(trace: Vec<TracePoint>) -> Vec<TracePoint> {
    thin(trace, MAX_TRACE_POINTS)
}

#[test]
fn traces_a_real_solve_down_to_its_cost() {
    let vrp = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(crate::manifest::DEFAULT_ROOT).join("pyvrp-instances/CVRP/X-n101-k25.vrp");
    if !vrp.is_file() {
        eprintln!("skipped: {} is missing (a checkout without the shared datasets)", vrp.display());
        return;
    }
    let options = ReplayOptions { time_limit: None, max_iterations: Some(200), threads: 2, seeds: vec![1], ..ReplayOptions::default() };
    let r = replay_instance(&vrp, &options, 1);
    assert!(r.feasible && r.error.is_none(), "{r:?}");
    let trace = &r.trace;
    assert!(trace.len() >= 2 && trace.len() <= MAX_TRACE_POINTS, "{}", trace.len());
    assert!(is_monotone(trace), "{trace:?}");
    assert_eq!(trace[trace.len() - 1], point(r.elapsed_s, r.cost));
    assert!(trace[0].cost > r.cost && trace[0].elapsed_s >= 0.0, "{trace:?}");
    // The trace goes into the JSON, not the CSV.
    let mut json = Vec::new();
    write_json(std::slice::from_ref(&r), &summarise(std::slice::from_ref(&r)), &mut json).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["rows"][0]["trace"].as_array().map(Vec::len), Some(trace.len()));
    assert_eq!(v["rows"][0]["trace"][0]["cost"], trace[0].cost);
    let mut csv = Vec::new();
    write_csv(std::slice::from_ref(&r), &mut csv).unwrap();
    assert_eq!(String::from_utf8(csv).unwrap().lines().nth(1).map(|l| l.split(',').count()), Some(CSV_HEADER.len()));
}

/// Parses `svg` and checks what every chart has: the SVG namespace, a size and view box, a
/// title, a white background.
fn parse_svg(svg: &str) -> roxmltree::Document<'_> {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    let root = doc.root_element();
    assert_eq!((root.tag_name().name(), root.tag_name().namespace()), ("svg", Some("http://www.w3.org/2000/svg")));
    for attribute in ["width", "height", "viewBox"] {
        assert!(root.attribute(attribute).is_some(), "no {attribute}");
    }
    assert!(root.children().any(|n| n.has_tag_name("title")), "no title");
    assert!(root.children().any(|n| n.has_tag_name("rect") && n.attribute("fill") == Some("#ffffff")), "no background");
    doc
}

fn elements<'a>(doc: &'a roxmltree::Document<'a>, tag: &'a str, class: &'a str) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants().filter(|n| n.has_tag_name(tag) && n.attribute("class") == Some(class)).collect()
}

fn number(node: &roxmltree::Node, attribute: &str) -> f64 {
    node.attribute(attribute).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no number {attribute} in {node:?}"))
}

fn texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants().filter(|n| n.has_tag_name("text")).map(|n| n.text().unwrap_or_default().to_string()).collect()
}

#[test]
fn gap_chart_draws_a_bar_per_instance_with_a_best_known() {
    let mut infeasible = row("CVRP", "x5", 1, 120.0, Some(20.0), false);
    infeasible.bks = Some(100.0);
    let rows = vec![
        row("CVRP", "x1", 1, 101.0, Some(1.0), true),
        row("CVRP", "x1", 2, 103.0, Some(3.0), true),
        row("CVRP", "x2", 1, 105.0, Some(5.0), true),
        row("CVRP", "x3", 1, 98.0, Some(-2.0), true),
        row("CVRP", "x4", 1, 98.0, None, true),
        infeasible,
        row("SOLOMON", "s1", 1, 800.0, None, true),
    ];
    let svg = charts::gap_chart(&rows, "gaps");
    let doc = parse_svg(&svg);
    let bars = elements(&doc, "rect", "bar");
    let names: Vec<&str> = bars.iter().filter_map(|b| b.attribute("data-instance")).collect();
    assert_eq!(names, ["x1", "x2", "x3"]);
    assert_eq!(bars.iter().map(|b| number(b, "data-gap")).collect::<Vec<_>>(), [2.0, 5.0, -2.0]);
    let (x1, x2, x3) = (&bars[0], &bars[1], &bars[2]);
    // A bigger gap is a longer bar; both start at the zero line, and the negative one ends there.
    assert!(number(x2, "width") > number(x1, "width") && number(x1, "width") > 0.0);
    let zero = number(x1, "x");
    assert_eq!(number(x2, "x"), zero);
    assert!(number(x3, "x") < zero && (number(x3, "x") + number(x3, "width") - zero).abs() < 0.2, "{svg}");
    assert_ne!(x3.attribute("fill"), x1.attribute("fill"));
    // A dot per counted seed; labels instead of bars; a header per family.
    assert_eq!(elements(&doc, "circle", "seed").len(), 4);
    let missing: Vec<&str> = elements(&doc, "text", "missing").iter().filter_map(|n| n.text()).collect();
    assert_eq!(missing, ["no best known", "infeasible or failed", "no best known"]);
    let families: Vec<&str> = elements(&doc, "text", "family").iter().filter_map(|n| n.text()).collect();
    assert_eq!(families.len(), 2);
    assert!(families[0].starts_with("CVRP") && families[0].contains("5 instances") && families[0].contains("mean gap 1.75 %"), "{families:?}");
    assert!(families[1].starts_with("SOLOMON") && families[1].contains("1 instance,"), "{families:?}");
    // The axis: nice ticks from below the smallest gap to above the largest.
    let all = texts(&doc);
    for tick in ["-2", "0", "5"] {
        assert!(all.iter().any(|t| t == tick), "no tick {tick}: {all:?}");
    }
}

#[test]
fn nice_axes_step_by_one_two_or_five_times_a_power_of_ten() {
    let a = charts::Axis::nice(-2.0, 5.0, 8);
    assert_eq!((a.lo, a.hi), (-2.0, 5.0));
    assert_eq!(a.ticks, [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    let b = charts::Axis::nice(0.0, 0.37, 6);
    assert_eq!((b.lo, b.hi, b.ticks.len(), b.ticks[1]), (0.0, 0.4, 9, 0.05));
    // An end far from the next tick gets a small margin instead.
    let c = charts::Axis::nice(0.0, 1234.0, 6);
    assert_eq!(c.ticks, [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0, 1200.0]);
    assert!(c.hi > 1234.0 && c.hi < 1300.0, "{c:?}");
    let d = charts::Axis::nice(-0.3, 30.0, 6);
    assert!(d.lo < -0.3 && d.lo > -1.0 && d.ticks[0] == 0.0 && d.hi == 30.0, "{d:?}");
    for (lo, hi) in [(0.0, 0.0), (f64::NAN, 1.0), (3.0, 3.0), (5.0, -5.0), (-1e308, 1e308), (0.0, 1e-300)] {
        let axis = charts::Axis::nice(lo, hi, 6);
        assert!(axis.lo < axis.hi && axis.ticks.len() >= 2 && axis.ticks.len() <= 101, "{lo} {hi}: {axis:?}");
        assert!(axis.ticks.iter().all(|t| (axis.lo..=axis.hi).contains(t)), "{lo} {hi}: {axis:?}");
    }
}

/// A solved row of `family` with a best known of 100 and a trace of (elapsed, cost) points.
fn traced(family: &str, name: &str, seed: u64, points: &[(f64, f64)]) -> Row {
    let mut r = row(family, name, seed, f64::NAN, None, true);
    r.bks = Some(100.0);
    r.trace = points.iter().map(|&(t, c)| point(t, c)).collect();
    if let Some(last) = r.trace.last() {
        (r.cost, r.elapsed_s, r.gap_pct) = (last.cost, last.elapsed_s, Some(last.cost - 100.0));
    }
    r
}

#[test]
fn convergence_chart_draws_a_step_line_per_traced_solve() {
    let mut no_bks = traced("CVRP", "x3", 1, &[(0.0, 120.0), (1.0, 110.0)]);
    no_bks.bks = None;
    let rows = vec![
        traced("CVRP", "x1", 1, &[(0.1, 130.0), (0.5, 110.0), (2.0, 104.0), (3.0, 104.0)]),
        traced("CVRP", "x1", 2, &[(0.2, 125.0), (2.5, 102.0)]),
        traced("VRPTW", "v1", 7, &[(0.0, 99.0)]),
        traced("VRPTW", "v2", 1, &[]),
        no_bks,
    ];
    let svg = charts::convergence_chart(&rows, "convergence");
    let doc = parse_svg(&svg);
    let traces = elements(&doc, "polyline", "trace");
    let ids: Vec<(&str, &str)> = traces.iter().map(|t| (t.attribute("data-instance").unwrap(), t.attribute("data-seed").unwrap())).collect();
    assert_eq!(ids, [("x1", "1"), ("x1", "2"), ("v1", "7")]);
    for t in &traces {
        let points: Vec<(f64, f64)> = t
            .attribute("points")
            .unwrap()
            .split_whitespace()
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        assert!(!points.is_empty() && points.windows(2).all(|w| w[0].0 <= w[1].0), "{points:?}");
        // Steps: each move is horizontal or vertical; the gap never rises (y grows downwards).
        assert!(points.windows(2).all(|w| (w[0].0 == w[1].0 || w[0].1 == w[1].1) && w[0].1 <= w[1].1), "{points:?}");
    }
    assert_eq!(traces[0].attribute("points").map(|p| p.split_whitespace().count()), Some(7));
    // Same family, same colour; another family, another.
    assert_eq!(traces[0].attribute("stroke"), traces[1].attribute("stroke"));
    assert_ne!(traces[0].attribute("stroke"), traces[2].attribute("stroke"));
    assert!(doc.descendants().any(|n| n.has_tag_name("clipPath")));
    let legend: Vec<&str> = elements(&doc, "text", "legend").iter().filter_map(|n| n.text()).collect();
    assert_eq!(legend, ["CVRP (2)", "VRPTW (1)"]);
    let note = elements(&doc, "text", "note")[0].text().unwrap().to_string();
    assert!(note.starts_with("3 solves drawn; 2 not drawn"), "{note}");
    // y from below -1 % (v1 beat the best known: drawn, under the plot's top) to the 90th
    // percentile of the first gaps, 30 %.
    let ticks: Vec<f64> = texts(&doc).iter().filter_map(|t| t.parse().ok()).collect();
    assert!(ticks.contains(&0.0) && ticks.contains(&30.0) && !ticks.iter().any(|&v| v > 30.0), "{ticks:?}");
    let clip = doc.descendants().find(|n| n.has_tag_name("clipPath")).and_then(|c| c.first_element_child()).unwrap();
    let v1_y: f64 = traces[2].attribute("points").and_then(|p| p.split_once(',')).and_then(|(_, y)| y.parse().ok()).unwrap();
    let (top, bottom) = (number(&clip, "y"), number(&clip, "y") + number(&clip, "height"));
    assert!(v1_y > top && v1_y < bottom - 5.0, "{v1_y} not within {top}..{bottom}");
}

#[test]
fn charts_escape_names_and_titles() {
    let name = "a<b&\"c\"";
    let mut r = traced("CVRP'", name, 1, &[(0.0, 110.0), (1.0, 105.0)]);
    r.instance = name.to_string();
    let title = "<replay> & 'seeds'";
    for svg in [charts::gap_chart(std::slice::from_ref(&r), title), charts::convergence_chart(std::slice::from_ref(&r), title)] {
        let doc = parse_svg(&svg);
        assert_eq!(doc.root_element().children().find(|n| n.has_tag_name("title")).and_then(|n| n.text()), Some(title));
        let marked: Vec<&str> = doc.descendants().filter_map(|n| n.attribute("data-instance")).collect();
        assert_eq!(marked, [name]);
        assert!(texts(&doc).iter().any(|t| t.contains("CVRP'")), "{svg}");
    }
}

#[test]
fn charts_of_nothing_or_nan_are_valid_and_say_no_data() {
    for svg in [charts::gap_chart(&[], "t"), charts::convergence_chart(&[], "t")] {
        let doc = parse_svg(&svg);
        assert!(texts(&doc).iter().any(|t| t.starts_with("no data")), "{svg}");
    }
    let mut nan = row("unknown", "bad", 1, f64::NAN, None, false);
    nan.trace = vec![point(f64::NAN, f64::NAN), point(1.0, f64::NAN)];
    let mut nan_gap = traced("CVRP", "x1", 1, &[(0.5, f64::NAN)]);
    nan_gap.gap_pct = Some(f64::NAN);
    let rows = [nan, nan_gap];
    let gap = charts::gap_chart(&rows, "t");
    let doc = parse_svg(&gap);
    assert!(elements(&doc, "rect", "bar").is_empty());
    assert_eq!(elements(&doc, "text", "missing").len(), 2);
    let convergence = charts::convergence_chart(&rows, "t");
    assert!(texts(&parse_svg(&convergence)).iter().any(|t| t.starts_with("no data")), "{convergence}");

    // One point at time 0, all gaps 0: an axis of some width, a line of one point.
    let flat = [traced("CVRP", "x1", 1, &[(0.0, 100.0)])];
    for svg in [charts::gap_chart(&flat, "t"), charts::convergence_chart(&flat, "t")] {
        let doc = parse_svg(&svg);
        assert!(!svg.contains("NaN"), "{svg}");
        assert_eq!(doc.descendants().filter(|n| n.attribute("data-instance") == Some("x1")).count(), 1);
    }
}
