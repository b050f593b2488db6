//! Reads every public instance in `../shared/datasets` (relative to the project root) with the
//! readers' automatic rounding, checks the number of clients against an independent scan of the
//! file, and reads every best-known `.sol` next to a `.vrp`.
//!
//! Every instance is parsed in full, in parallel, the XXL ones of up to 30,000 clients included
//! (their matrices are computed from coordinates, not stored), and so are the newer families in
//! `pyvrp-instances-new` (SDVRPTW, GVRP, TSP).
//!
//! A missing datasets folder fails the test: it never passes silently.

use rayon::prelude::*;
use solver::io::{sol, solomon, vrplib, Instance, Rounding};
use std::path::{Path, PathBuf};

const DATASETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/datasets");

/// Families (folders) and the `.sol` cost divisor of their own convention.
const FAMILIES: [(&str, i64); 10] =
    [("CVRP", 1), ("VRPB", 1), ("VRPTW", 10), ("HFVRP", 100_000), ("MTVRPTWR", 1), ("PCVRPTW", 1), ("MDVRPTW", 1), ("SDVRPTW", 1), ("GVRP", 1), ("TSP", 1)];

fn datasets() -> PathBuf {
    let root = PathBuf::from(DATASETS);
    assert!(
        root.join("pyvrp-instances").is_dir() && root.join("solomon").is_dir(),
        "public datasets not found at {} (expected pyvrp-instances/ and solomon/): this test reads them and must not be skipped",
        root.display()
    );
    root
}

/// Files ending in `ext` under `dir`, recursively, sorted.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `DIMENSION` and the number of depots, scanned independently of the reader.
fn header_counts(text: &str) -> (usize, usize) {
    let mut dimension = None;
    let mut depots = None;
    let mut in_depots = false;
    for line in text.lines().map(str::trim) {
        if let Some((key, value)) = line.split_once(':') {
            if key.trim() == "DIMENSION" {
                dimension = value.trim().parse().ok();
            }
        }
        if line.starts_with("DEPOT_SECTION") {
            in_depots = true;
            depots = Some(0);
            continue;
        }
        if in_depots {
            match line.parse::<i64>() {
                Ok(id) if id > 0 => depots = depots.map(|d| d + 1),
                _ => in_depots = false,
            }
        }
    }
    (dimension.expect("DIMENSION in header"), depots.unwrap_or(1))
}

/// The client count encoded in the instance name, where the family encodes it.
fn clients_from_name(folder: &str, stem: &str) -> Option<usize> {
    let digits = |s: &str| s.chars().take_while(char::is_ascii_digit).collect::<String>().parse::<usize>().ok();
    match folder {
        "CVRP" | "VRPB" => digits(stem.strip_prefix("X-n")?).map(|n| n - 1),
        "HFVRP" => digits(stem.strip_prefix('X')?).map(|n| n - 1),
        // Gehring & Homberger names: C1_10_1 has 10 * 100 clients.
        "VRPTW" | "PCVRPTW" => stem.split('_').nth(1).and_then(digits).map(|n| n * 100),
        _ => None,
    }
}

/// Reads the `.sol` next to `vrp` (if any): it must parse and visit each client at most once.
/// Returns whether a `.sol` was there.
fn check_sol(vrp: &Path, inst: &Instance) -> bool {
    let path = vrp.with_extension("sol");
    if !path.exists() {
        return false;
    }
    let file = sol::read(&read(&path), &path, inst).unwrap_or_else(|e| panic!("{e}"));
    assert!(file.stated_cost.is_some(), "{}: no Cost line", path.display());
    let mut visits = vec![0u32; inst.problem.num_clients()];
    for c in file.solution.routes.iter().flat_map(|r| r.visits()) {
        visits[c] += 1;
    }
    for (c, &n) in visits.iter().enumerate() {
        assert!(n <= 1, "{}: client {c} visited {n} times", path.display());
        let required = inst.problem.clients[c].required;
        assert!(n == 1 || !required, "{}: required client {c} is not visited", path.display());
    }
    true
}

#[test]
fn reads_every_public_vrplib_instance_and_solution() {
    let mut vrps = files(&datasets().join("pyvrp-instances"), "vrp");
    vrps.extend(files(&datasets().join("pyvrp-instances-new"), "vrp"));
    for (family, _) in FAMILIES {
        assert!(vrps.iter().any(|p| p.parent().and_then(Path::file_name).is_some_and(|f| f == family)), "no {family} instance found");
    }
    let results: Vec<(bool, bool)> = vrps
        .par_iter()
        .map(|path| {
            let text = read(path);
            let (dimension, depots) = header_counts(&text);
            let folder = path.parent().and_then(Path::file_name).and_then(|f| f.to_str()).unwrap_or("");
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let inst = vrplib::parse(&text, path, Rounding::Auto).unwrap_or_else(|e| panic!("{e}"));
            let expected = dimension - depots;
            assert_eq!(inst.problem.num_clients(), expected, "{}: clients", path.display());
            assert_eq!(inst.problem.depots.len(), depots, "{}: depots", path.display());
            if let Some(n) = clients_from_name(folder, stem) {
                assert_eq!(inst.problem.num_clients(), n, "{}: clients (from the name)", path.display());
            }
            let family = if folder == "XXL" { "CVRP" } else { folder };
            assert_eq!(inst.family, family, "{}: family", path.display());
            assert_eq!(inst.rounding, Rounding::for_family(family), "{}: rounding", path.display());
            let divisor = FAMILIES.iter().find(|(f, _)| *f == family).map(|(_, d)| *d);
            assert_eq!(Some(inst.cost_divisor), divisor, "{}: cost divisor", path.display());
            (true, check_sol(path, &inst))
        })
        .collect();
    let parsed = results.iter().filter(|r| r.0).count();
    let sols = results.iter().filter(|r| r.1).count();
    assert_eq!(parsed, vrps.len(), "every instance is parsed");
    assert!(sols >= vrps.len() * 9 / 10, "only {sols} of {} instances have a .sol", vrps.len());
}

#[test]
fn reads_every_solomon_instance() {
    let paths = files(&datasets().join("solomon"), "txt");
    assert_eq!(paths.len(), 56, "Solomon's set has 56 instances");
    paths.par_iter().for_each(|path| {
        let inst = solomon::parse(&read(path), path, Rounding::Auto).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(inst.problem.num_clients(), 100, "{}", path.display());
        assert_eq!(inst.problem.num_vehicles(), 25, "{}", path.display());
        assert_eq!((inst.rounding, inst.cost_divisor), (Rounding::Dimacs, 10));
    });
}
