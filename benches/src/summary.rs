//! The bench summary: p50 and p95 per bench from criterion's saved samples, checked against the
//! p95 budgets of `benches/budgets.toml`.
//!
//! Criterion saves each bench's last run as `<criterion dir>/<bench dir>/new/sample.json` (the
//! iteration count and total time in nanoseconds of every sample) beside `benchmark.json` (the
//! bench's id, `group/function`). A sample's per-iteration time is its total time over its
//! iteration count; the percentiles are taken over those per-iteration times, one per sample.
//!
//! Checking is strict in both directions, so that a bench that silently did not run fails CI
//! instead of passing: a budgeted bench without samples fails, and so does a bench without a
//! budget (adding a bench means adding its budget line).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The summary could not be made: a file is missing or malformed.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    /// A file or folder could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A criterion file is not the JSON criterion writes.
    #[error("{}: not a criterion file: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// The budgets file is not valid.
    #[error("{}: {source}", path.display())]
    Toml {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<toml::de::Error>,
    },
    /// A file parses but its content makes no sense.
    #[error("{}: {why}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

/// `sample.json` as criterion 0.5 writes it (its `sampling_mode` is not needed).
#[derive(Debug, Deserialize)]
struct SavedSample {
    /// Iterations in each sample.
    iters: Vec<f64>,
    /// Total time of each sample, nanoseconds.
    times: Vec<f64>,
}

/// The part of `benchmark.json` that names the bench.
#[derive(Debug, Deserialize)]
struct SavedBenchmarkId {
    /// `group/function` (and `/value` for parameterised benches).
    full_id: String,
}

/// One bench's last run.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchSamples {
    /// Criterion's id: `group/function`.
    pub id: String,
    /// Time per iteration of each sample, milliseconds, in the order criterion took them.
    pub per_iteration_ms: Vec<f64>,
}

/// Percentiles of one bench's per-iteration times, milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Number of samples.
    pub samples: usize,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Slowest sample.
    pub max: f64,
}

/// The `p`-quantile (`0 ≤ p ≤ 1`) of `sorted` (ascending), interpolating linearly between the
/// two closest ranks (Hyndman and Fan's type 7, the default of R and NumPy): rank `p·(n−1)`
/// counted from 0. `None` when `sorted` is empty.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = p.clamp(0.0, 1.0) * last as f64;
    // rank is in 0..=last, so both conversions are exact enough and in range.
    let lower = rank.floor() as usize;
    let upper = rank.ceil() as usize;
    let weight = rank - lower as f64;
    Some(sorted[lower] + weight * (sorted[upper] - sorted[lower]))
}

/// Samples, p50, p95 and max of `per_iteration_ms`; `None` when there are no samples.
pub fn stats(per_iteration_ms: &[f64]) -> Option<Stats> {
    let mut sorted = per_iteration_ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(Stats { samples: sorted.len(), p50: percentile(&sorted, 0.50)?, p95: percentile(&sorted, 0.95)?, max: *sorted.last()? })
}

/// Reads and parses a JSON file.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, SummaryError> {
    let text = std::fs::read_to_string(path).map_err(|source| SummaryError::Read { path: path.to_owned(), source })?;
    serde_json::from_str(&text).map_err(|source| SummaryError::Json { path: path.to_owned(), source })
}

/// Reads one bench's samples from its `new` folder (`sample.json` and `benchmark.json`).
pub fn read_bench(new_dir: &Path) -> Result<BenchSamples, SummaryError> {
    let sample_path = new_dir.join("sample.json");
    let sample: SavedSample = read_json(&sample_path)?;
    let id: SavedBenchmarkId = read_json(&new_dir.join("benchmark.json"))?;
    let invalid = |why: String| SummaryError::Invalid { path: sample_path.clone(), why };
    if sample.iters.len() != sample.times.len() {
        return Err(invalid(format!("{} iteration counts but {} times", sample.iters.len(), sample.times.len())));
    }
    if sample.iters.is_empty() {
        return Err(invalid("no samples".into()));
    }
    let per_iteration_ms = sample
        .iters
        .iter()
        .zip(&sample.times)
        .map(|(&iters, &ns)| {
            if iters >= 1.0 && ns.is_finite() && ns >= 0.0 {
                Ok(ns / iters / 1e6)
            } else {
                Err(invalid(format!("a sample of {iters} iterations taking {ns} ns")))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(BenchSamples { id: id.full_id, per_iteration_ms })
}

/// Every bench under `criterion_dir` (each `…/new/` folder holding a `sample.json`), sorted by
/// id. Criterion's report folders and saved baselines other than `new` are skipped.
pub fn read_criterion_dir(criterion_dir: &Path) -> Result<Vec<BenchSamples>, SummaryError> {
    let mut benches = Vec::new();
    let mut pending = vec![criterion_dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let read = |source| SummaryError::Read { path: dir.clone(), source };
        for entry in std::fs::read_dir(&dir).map_err(read)? {
            let entry = entry.map_err(read)?;
            if !entry.file_type().map_err(read)?.is_dir() {
                continue;
            }
            let path = entry.path();
            if entry.file_name() == "new" && path.join("sample.json").is_file() {
                benches.push(read_bench(&path)?);
            } else {
                pending.push(path);
            }
        }
    }
    benches.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(pair) = benches.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(SummaryError::Invalid { path: criterion_dir.to_owned(), why: format!("two benches are both named {}", pair[0].id) });
    }
    Ok(benches)
}

/// The p95 budget of each bench, milliseconds, by criterion id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Budgets {
    /// Bench id → p95 budget in milliseconds.
    pub p95_ms: BTreeMap<String, f64>,
}

/// `budgets.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetsFile {
    p95_ms: BTreeMap<String, f64>,
}

impl Budgets {
    /// Reads a budgets file: a `[p95_ms]` table of `"group/function" = milliseconds`.
    pub fn read(path: &Path) -> Result<Budgets, SummaryError> {
        let text = std::fs::read_to_string(path).map_err(|source| SummaryError::Read { path: path.to_owned(), source })?;
        let file: BudgetsFile = toml::from_str(&text).map_err(|source| SummaryError::Toml { path: path.to_owned(), source: Box::new(source) })?;
        if let Some((id, ms)) = file.p95_ms.iter().find(|(_, ms)| !(ms.is_finite() && **ms > 0.0)) {
            return Err(SummaryError::Invalid { path: path.to_owned(), why: format!("the budget of {id} is {ms} ms; budgets are positive milliseconds") });
        }
        Ok(Budgets { p95_ms: file.p95_ms })
    }
}

/// How a bench stands against its budget.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    /// Not checked (no budgets given).
    Unchecked,
    /// p95 within the budget.
    Within,
    /// p95 over the budget.
    Over,
    /// Budgeted, but no samples: the bench did not run.
    Missing,
    /// Samples, but no budget: a bench was added without its budget line.
    NoBudget,
}

impl Verdict {
    /// Whether this verdict fails the check.
    pub fn fails(self) -> bool {
        matches!(self, Verdict::Over | Verdict::Missing | Verdict::NoBudget)
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Unchecked => "",
            Verdict::Within => "ok",
            Verdict::Over => "OVER BUDGET",
            Verdict::Missing => "MISSING: did not run",
            Verdict::NoBudget => "NO BUDGET: add it to budgets.toml",
        }
    }
}

/// One line of the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Criterion's id.
    pub id: String,
    /// Its figures; `None` when it has no samples.
    pub stats: Option<Stats>,
    /// Its p95 budget, milliseconds.
    pub budget_ms: Option<f64>,
    /// How it stands.
    pub verdict: Verdict,
}

/// One row per bench with samples, plus, when `budgets` is given, one per budgeted bench
/// without samples; sorted by id.
pub fn summarise(benches: &[BenchSamples], budgets: Option<&Budgets>) -> Vec<Row> {
    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    for bench in benches {
        let stats = stats(&bench.per_iteration_ms);
        let budget_ms = budgets.and_then(|b| b.p95_ms.get(&bench.id).copied());
        let verdict = match (budgets, budget_ms, stats) {
            (None, _, _) => Verdict::Unchecked,
            (Some(_), None, _) => Verdict::NoBudget,
            (Some(_), Some(_), None) => Verdict::Missing,
            (Some(_), Some(budget), Some(s)) if s.p95 > budget => Verdict::Over,
            (Some(_), Some(_), Some(_)) => Verdict::Within,
        };
        rows.insert(&bench.id, Row { id: bench.id.clone(), stats, budget_ms, verdict });
    }
    for (id, &budget) in budgets.map(|b| &b.p95_ms).into_iter().flatten() {
        rows.entry(id).or_insert_with(|| Row { id: id.clone(), stats: None, budget_ms: Some(budget), verdict: Verdict::Missing });
    }
    rows.into_values().collect()
}

/// The summary as a table, one line per row.
pub fn render(rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.id.len()).chain([5]).max().unwrap_or(5);
    let mut out = format!("{:<width$} {:>7} {:>10} {:>10} {:>10} {:>10}  verdict\n", "bench", "samples", "p50 ms", "p95 ms", "max ms", "budget ms");
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
    for row in rows {
        let s = row.stats;
        let _ = writeln!(
            out,
            "{:<width$} {:>7} {:>10} {:>10} {:>10} {:>10}  {}",
            row.id,
            s.map_or(0, |s| s.samples),
            ms(s.map(|s| s.p50)),
            ms(s.map(|s| s.p95)),
            ms(s.map(|s| s.max)),
            ms(row.budget_ms),
            row.verdict.label()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// Writes a bench's `new` folder as criterion does: `sample.json` and `benchmark.json`.
    fn write_bench(root: &Path, dir: &str, full_id: &str, iters: &[f64], times_ns: &[f64]) {
        let new_dir = root.join(dir).join("new");
        fs::create_dir_all(&new_dir).expect("mkdir");
        let sample = serde_json::json!({ "sampling_mode": "Linear", "iters": iters, "times": times_ns });
        fs::write(new_dir.join("sample.json"), sample.to_string()).expect("write sample");
        let (group, function) = full_id.split_once('/').expect("group/function");
        let id = serde_json::json!({
            "group_id": group, "function_id": function, "value_str": null, "throughput": null,
            "full_id": full_id, "directory_name": dir, "title": full_id
        });
        fs::write(new_dir.join("benchmark.json"), id.to_string()).expect("write id");
    }

    fn write_budgets(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("budgets.toml");
        fs::write(&path, text).expect("write budgets");
        path
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn percentile_interpolates_between_the_closest_ranks() {
        let sorted: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&sorted, 0.0), Some(1.0));
        assert_eq!(percentile(&sorted, 1.0), Some(10.0));
        // Rank 0.5·9 = 4.5: halfway between 5 and 6.
        assert!(close(percentile(&sorted, 0.5).unwrap(), 5.5));
        // Rank 0.95·9 = 8.55: 9 + 0.55·(10 − 9).
        assert!(close(percentile(&sorted, 0.95).unwrap(), 9.55));
        assert_eq!(percentile(&[4.0], 0.95), Some(4.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn stats_sort_the_samples_first() {
        let s = stats(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!(s.samples, 3);
        assert!(close(s.p50, 2.0));
        assert!(close(s.p95, 2.9));
        assert!(close(s.max, 3.0));
        assert_eq!(stats(&[]), None);
    }

    #[test]
    fn reads_per_iteration_times_in_milliseconds_from_criterion_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Linear sampling: 1, 2, 3 iterations of 2 ms, 2 ms and 4 ms each.
        write_bench(dir.path(), "solve/fast", "solve/fast", &[1.0, 2.0, 3.0], &[2e6, 4e6, 12e6]);
        write_bench(dir.path(), "travel/slow", "travel/slow", &[1.0], &[5e6]);
        // Criterion's report folder and a saved baseline are not benches.
        fs::create_dir_all(dir.path().join("solve/report")).expect("mkdir");
        fs::create_dir_all(dir.path().join("travel/slow/base")).expect("mkdir");
        let benches = read_criterion_dir(dir.path()).expect("read");
        assert_eq!(benches.len(), 2);
        assert_eq!(benches[0].id, "solve/fast");
        assert_eq!(benches[0].per_iteration_ms, vec![2.0, 2.0, 4.0]);
        assert_eq!(benches[1].id, "travel/slow");
    }

    #[test]
    fn names_the_file_when_a_sample_file_is_missing_or_malformed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = read_criterion_dir(&dir.path().join("absent")).unwrap_err();
        assert!(matches!(err, SummaryError::Read { .. }), "{err}");
        assert!(err.to_string().contains("absent"), "{err}");

        write_bench(dir.path(), "g/f", "g/f", &[1.0], &[1e6]);
        let sample = dir.path().join("g/f/new/sample.json");
        fs::write(&sample, "{\"iters\": [1.0], \"times\": ").expect("write");
        let err = read_criterion_dir(dir.path()).unwrap_err();
        assert!(matches!(err, SummaryError::Json { .. }), "{err}");
        assert!(err.to_string().contains("sample.json"), "{err}");

        fs::write(&sample, r#"{"iters": [1.0, 2.0], "times": [1.0]}"#).expect("write");
        let err = read_criterion_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("2 iteration counts but 1 times"), "{err}");

        fs::write(&sample, r#"{"iters": [0.0], "times": [1.0]}"#).expect("write");
        assert!(matches!(read_criterion_dir(dir.path()), Err(SummaryError::Invalid { .. })));

        fs::remove_file(dir.path().join("g/f/new/benchmark.json")).expect("rm");
        fs::write(&sample, r#"{"iters": [1.0], "times": [1.0]}"#).expect("write");
        let err = read_criterion_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("benchmark.json"), "{err}");
    }

    #[test]
    fn reads_budgets_and_refuses_malformed_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = write_budgets(dir.path(), "# a comment\n[p95_ms]\n\"solve/a\" = 12.5\n\"travel/b\" = 300\n");
        let budgets = Budgets::read(&ok).expect("budgets");
        assert_eq!(budgets.p95_ms.get("solve/a"), Some(&12.5));
        assert_eq!(budgets.p95_ms.get("travel/b"), Some(&300.0));

        for bad in ["[p95_ms]\n\"a/b\" = \"fast\"\n", "[p95]\n\"a/b\" = 1\n", "[p95_ms]\n\"a/b\" = -1\n", "[p95_ms\n"] {
            let path = write_budgets(dir.path(), bad);
            let err = Budgets::read(&path).unwrap_err();
            assert!(err.to_string().contains("budgets.toml"), "{bad:?}: {err}");
        }
        let err = Budgets::read(&dir.path().join("absent.toml")).unwrap_err();
        assert!(matches!(err, SummaryError::Read { .. }), "{err}");
    }

    #[test]
    fn check_passes_within_budget_and_fails_over_budget() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Ten samples of one iteration: 1..10 ms; p95 = 9.55 ms.
        let times: Vec<f64> = (1..=10).map(|ms| f64::from(ms) * 1e6).collect();
        write_bench(dir.path(), "solve/a", "solve/a", &[1.0; 10], &times);
        let benches = read_criterion_dir(dir.path()).expect("read");

        let budgets = Budgets::read(&write_budgets(dir.path(), "[p95_ms]\n\"solve/a\" = 10\n")).expect("budgets");
        let rows = summarise(&benches, Some(&budgets));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].verdict, Verdict::Within);
        assert!(close(rows[0].stats.unwrap().p95, 9.55));
        assert!(!rows.iter().any(|r| r.verdict.fails()));

        let budgets = Budgets::read(&write_budgets(dir.path(), "[p95_ms]\n\"solve/a\" = 9.5\n")).expect("budgets");
        let rows = summarise(&benches, Some(&budgets));
        assert_eq!(rows[0].verdict, Verdict::Over);
        assert!(rows[0].verdict.fails());
        assert!(render(&rows).contains("OVER BUDGET"));
    }

    #[test]
    fn check_fails_a_budgeted_bench_that_did_not_run_and_a_bench_without_budget() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_bench(dir.path(), "solve/a", "solve/a", &[1.0], &[1e6]);
        write_bench(dir.path(), "solve/new", "solve/new", &[1.0], &[1e6]);
        let benches = read_criterion_dir(dir.path()).expect("read");
        let budgets = Budgets::read(&write_budgets(dir.path(), "[p95_ms]\n\"solve/a\" = 10\n\"travel/gone\" = 10\n")).expect("budgets");
        let rows = summarise(&benches, Some(&budgets));
        let verdict = |id: &str| rows.iter().find(|r| r.id == id).map(|r| r.verdict);
        assert_eq!(verdict("solve/a"), Some(Verdict::Within));
        assert_eq!(verdict("solve/new"), Some(Verdict::NoBudget));
        assert_eq!(verdict("travel/gone"), Some(Verdict::Missing));
        let gone = rows.iter().find(|r| r.id == "travel/gone").unwrap();
        assert_eq!(gone.stats, None);
        let table = render(&rows);
        assert!(table.contains("MISSING"), "{table}");

        // With nothing run at all, every budgeted bench is missing.
        let empty = tempfile::tempdir().expect("tempdir");
        let rows = summarise(&read_criterion_dir(empty.path()).expect("read"), Some(&budgets));
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.verdict == Verdict::Missing));
    }

    #[test]
    fn without_budgets_nothing_is_judged() {
        let benches = vec![BenchSamples { id: "g/f".into(), per_iteration_ms: vec![1.0] }];
        let rows = summarise(&benches, None);
        assert_eq!(rows[0].verdict, Verdict::Unchecked);
        assert!(!rows[0].verdict.fails());
    }
}
