//! A progress bar on stderr (drawn only when stderr is a terminal) fed by the search's
//! progress reports.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use solver::search::{Progress, ProgressFn};
use std::sync::Arc;
use std::time::Duration;

/// A bar over the time limit whose message shows the best cost so far.
pub struct SearchBar {
    bar: ProgressBar,
}

impl SearchBar {
    /// A bar for a search of at most `limit`.
    pub fn new(limit: Option<Duration>, format_cost: Arc<dyn Fn(i64) -> String + Send + Sync>) -> (SearchBar, ProgressFn) {
        let millis = limit.map_or(0, |l| l.as_millis() as u64);
        let bar = ProgressBar::with_draw_target(Some(millis.max(1)), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {msg}").unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        let b = bar.clone();
        let report: ProgressFn = Arc::new(move |p: Progress| {
            b.set_position(p.elapsed.as_millis() as u64);
            let state = if p.feasible { "" } else { " (infeasible)" };
            b.set_message(format!("best {}{state}, iteration {}", format_cost(p.best_cost), p.iterations));
        });
        (SearchBar { bar }, report)
    }

    /// Removes the bar.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
