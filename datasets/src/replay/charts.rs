//! SVG charts of replay rows, for analysts: [`gap_chart`] (the gap to the best known of each
//! instance, grouped by family) and [`convergence_chart`] (how the gap of each solve fell over
//! time, from its [`Row::trace`]).
//!
//! Both return a whole SVG document, written by hand (no plotting crate): fixed 12 px sans-serif
//! text on a white background, every text XML-escaped. They never panic: rows with NaN costs,
//! traces of one point, solves of no time and empty input all give a valid document (one that
//! says "no data" when there is nothing to draw).

use super::Row;
use std::collections::BTreeSet;
use std::fmt::Write;

/// Colours of the families (in order of first appearance), then again from the start.
const PALETTE: [&str; 10] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf", "#bcbd22"];

/// Approximate advance of one character of 12 px sans-serif text, for layout.
const CHAR_W: f64 = 7.0;

/// Bars of gaps above the best known.
const WORSE: &str = "#4c78a8";
/// Bars of gaps below the best known (a better solution than the best known).
const BETTER: &str = "#2ca02c";

/// `s` escaped for XML text and attribute values (`&`, `<`, `>`, `"` and `'`).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab and line breaks are not allowed in XML 1.0.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate with one decimal (0 for a non-finite value, never `-0.0`).
fn px(v: f64) -> String {
    let v = if v.is_finite() { (v * 10.0).round() / 10.0 } else { 0.0 };
    let v = if v == 0.0 { 0.0 } else { v };
    format!("{v:.1}")
}

/// `s` cut to at most `max` characters, with an ellipsis when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A gap in percent with two decimals.
fn percent(gap: f64) -> String {
    let gap = if gap.abs() < 0.005 { 0.0 } else { gap };
    format!("{gap:.2} %")
}

/// The start of a document of `width` × `height` with its title drawn at the top.
fn open(width: f64, height: f64, title: &str) -> String {
    let mut out = String::new();
    let (w, h) = (px(width), px(height));
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12" fill="#222222">"##
    );
    let _ = writeln!(out, "<title>{}</title>", escape(title));
    let _ = writeln!(out, r##"<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>"##);
    let _ = writeln!(out, r#"<text x="16" y="24" font-size="15" font-weight="bold">{}</text>"#, escape(title));
    out
}

fn close(mut out: String) -> String {
    out.push_str("</svg>\n");
    out
}

/// Writes `content` (escaped) at (`x`, `y`) with `attrs` (already valid attributes).
fn text(out: &mut String, x: f64, y: f64, attrs: &str, content: &str) {
    let _ = writeln!(out, r#"<text x="{}" y="{}" {attrs}>{}</text>"#, px(x), px(y), escape(content));
}

fn line(out: &mut String, (x1, y1): (f64, f64), (x2, y2): (f64, f64), attrs: &str) {
    let _ = writeln!(out, r#"<line x1="{}" y1="{}" x2="{}" y2="{}" {attrs}/>"#, px(x1), px(y1), px(x2), px(y2));
}

/// A small document that says there is nothing to draw, and why.
fn no_data(title: &str, why: &str) -> String {
    let width = (why.chars().count() as f64 * CHAR_W + 40.0).clamp(480.0, 1200.0);
    let mut out = open(width, 110.0, title);
    text(&mut out, 16.0, 60.0, r##"fill="#555555""##, &format!("no data: {why}"));
    close(out)
}

/// An axis over "nice" ticks (1, 2 or 5 times a power of ten) covering a range.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Axis {
    /// Value at the start of the axis.
    pub(super) lo: f64,
    /// Value at its end.
    pub(super) hi: f64,
    /// Tick values, ascending, all within `lo..=hi`.
    pub(super) ticks: Vec<f64>,
    decimals: usize,
}

impl Axis {
    /// About `target` ticks over `lo..=hi` (swapped when reversed; `0..=1` when not finite, a
    /// little span around `lo` when empty). Each end is taken out to the next tick when that
    /// adds at most a tenth of the span, else just a little margin (so that a gap of -0.3 %
    /// does not pull the axis down to -5 % when ticks are 5 apart).
    pub(super) fn nice(lo: f64, hi: f64, target: usize) -> Axis {
        let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() { (lo.min(hi), lo.max(hi)) } else { (0.0, 1.0) };
        if !(hi - lo).is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        if hi - lo < 1e-9 * lo.abs().max(1.0) {
            hi = lo + lo.abs().max(1.0) * 0.1;
            if lo.abs() < 1e-9 {
                (lo, hi) = (0.0, 1.0);
            }
        }
        let span = hi - lo;
        let raw = span / target.max(1) as f64;
        let magnitude = 10f64.powf(raw.log10().floor());
        let norm = raw / magnitude;
        let factor = if norm < 1.5 {
            1.0
        } else if norm < 3.0 {
            2.0
        } else if norm < 7.0 {
            5.0
        } else {
            10.0
        };
        let step = magnitude * factor;
        let (below, above) = ((lo / step + 1e-9).floor() * step, (hi / step - 1e-9).ceil() * step);
        let lo = if lo - below <= 0.1 * span { below } else { lo - 0.02 * span };
        let hi = if above - hi <= 0.1 * span { above } else { hi + 0.02 * span };
        let (first, last) = ((lo / step - 1e-9).ceil(), (hi / step + 1e-9).floor());
        let count = (last - first).clamp(0.0, 100.0) as usize;
        let clean = |v: f64| if v.abs() < step * 1e-9 { 0.0 } else { v };
        let ticks: Vec<f64> = (0..=count).map(|i| clean((first + i as f64) * step)).collect();
        let decimals = (-step.log10() - 1e-9).ceil().clamp(0.0, 12.0) as usize;
        Axis { lo: clean(lo), hi: clean(hi), ticks, decimals }
    }

    /// Where `v` falls between pixel `from` (at `lo`) and pixel `to` (at `hi`).
    fn map(&self, v: f64, from: f64, to: f64) -> f64 {
        from + (v - self.lo) / (self.hi - self.lo) * (to - from)
    }

    fn label(&self, v: f64) -> String {
        format!("{v:.*}", self.decimals)
    }
}

/// The rows of one instance (one path) of a family.
struct Instance<'a> {
    name: &'a str,
    rows: Vec<&'a Row>,
}

impl Instance<'_> {
    /// (seed, gap) of each solve that counts for the gap: feasible, no error, with a best known.
    fn gaps(&self) -> Vec<(u64, f64)> {
        self.rows.iter().filter(|r| !r.failed()).filter_map(|r| r.gap_pct.filter(|g| g.is_finite()).map(|g| (r.seed, g))).collect()
    }

    fn mean_gap(&self) -> Option<f64> {
        let gaps = self.gaps();
        (!gaps.is_empty()).then(|| gaps.iter().map(|(_, g)| g).sum::<f64>() / gaps.len() as f64)
    }

    fn has_best_known(&self) -> bool {
        self.rows.iter().any(|r| r.bks.is_some_and(|b| b.is_finite() && b != 0.0))
    }
}

/// The rows grouped by family, then by instance (path), both in order of first appearance.
fn by_family(rows: &[Row]) -> Vec<(&str, Vec<Instance<'_>>)> {
    let mut families: Vec<(&str, Vec<Instance<'_>>)> = Vec::new();
    let mut paths: Vec<Vec<&str>> = Vec::new();
    for row in rows {
        let f = match families.iter().position(|(name, _)| *name == row.family) {
            Some(f) => f,
            None => {
                families.push((row.family.as_str(), Vec::new()));
                paths.push(Vec::new());
                families.len() - 1
            }
        };
        match paths[f].iter().position(|p| *p == row.path) {
            Some(i) => families[f].1[i].rows.push(row),
            None => {
                paths[f].push(row.path.as_str());
                families[f].1.push(Instance { name: row.instance.as_str(), rows: vec![row] });
            }
        }
    }
    families
}

/// A horizontal bar chart of the gap to the best known of each instance, grouped by family (a
/// header line per family with its mean gap), instances in row order. A bar is the mean gap over
/// the instance's feasible solves with a best known (`<rect class="bar" data-instance=…
/// data-gap=…>`), a dot each seed's gap, the value written at its end; negative gaps (better
/// than the best known) go left of the zero line, in another colour. An instance without a best
/// known, or with no feasible solve, gets a label instead of a bar.
pub fn gap_chart(rows: &[Row], title: &str) -> String {
    if rows.is_empty() {
        return no_data(title, "no solve");
    }
    let families = by_family(rows);
    let instances: Vec<&Instance> = families.iter().flat_map(|(_, i)| i).collect();
    let all_gaps: Vec<f64> = instances.iter().flat_map(|i| i.gaps()).map(|(_, g)| g).collect();
    let lowest = all_gaps.iter().copied().fold(0.0, f64::min);
    let highest = all_gaps.iter().copied().fold(1.0, f64::max);
    let axis = Axis::nice(lowest, highest, 8);

    // Columns: instance names, the plot, the values written after the bars.
    let names_w = (instances.iter().map(|i| i.name.chars().count()).max().unwrap_or(0) as f64 * CHAR_W).clamp(60.0, 300.0);
    let name_chars = (names_w / CHAR_W) as usize;
    let value_label = |i: &Instance| -> String {
        let counted = i.gaps().len();
        match i.mean_gap() {
            Some(g) if counted < i.rows.len() => format!("{} ({} of {} solves)", percent(g), counted, i.rows.len()),
            Some(g) => percent(g),
            None => String::new(),
        }
    };
    let values_w = (instances.iter().map(|i| value_label(i).chars().count()).max().unwrap_or(0) as f64 * CHAR_W + 16.0).max(90.0);
    let width = (16.0 + names_w + 12.0 + 480.0 + values_w + 16.0).max(900.0);
    let (x0, x1) = (16.0 + names_w + 12.0, width - 16.0 - values_w);
    let x = |v: f64| axis.map(v, x0, x1);

    const FAMILY_H: f64 = 26.0;
    const ROW_H: f64 = 20.0;
    let top = 76.0;
    let bottom = top + families.len() as f64 * FAMILY_H + instances.len() as f64 * ROW_H + 6.0;
    let height = bottom + 56.0;

    let mut doc = open(width, height, title);
    text(
        &mut doc,
        16.0,
        44.0,
        r##"fill="#555555""##,
        "Bars: mean gap to the best known over the feasible seeds; dots: each seed; left of 0: better than the best known.",
    );

    // Drawn in three layers: the stripes behind the grid, the grid, then the rest (family
    // headers on a white band that hides the grid).
    let mut grid = String::new();
    for &t in &axis.ticks {
        let stroke = if t == 0.0 { r##"stroke="#444444" stroke-width="1""## } else { r##"stroke="#e3e3e3" stroke-width="1""## };
        line(&mut grid, (x(t), top - 6.0), (x(t), bottom), stroke);
        let label = axis.label(t);
        text(&mut grid, x(t), top - 10.0, r#"text-anchor="middle""#, &label);
        text(&mut grid, x(t), bottom + 16.0, r#"text-anchor="middle""#, &label);
    }
    line(&mut grid, (x0, bottom), (x1, bottom), r##"stroke="#444444" stroke-width="1""##);
    text(&mut grid, (x0 + x1) / 2.0, bottom + 36.0, r#"text-anchor="middle""#, "gap to the best known (%)");

    let (mut stripes, mut front) = (String::new(), String::new());
    let out = &mut front;
    let mut y = top;
    let mut stripe = false;
    for (family, members) in &families {
        let family_rows: Vec<&Row> = members.iter().flat_map(|i| i.rows.iter().copied()).collect();
        let gaps: Vec<f64> = members.iter().flat_map(|i| i.gaps()).map(|(_, g)| g).collect();
        let mean = (!gaps.is_empty()).then(|| gaps.iter().sum::<f64>() / gaps.len() as f64);
        let header = format!(
            "{} · {} instance{}, {} solve{} · {}",
            family,
            members.len(),
            if members.len() == 1 { "" } else { "s" },
            family_rows.len(),
            if family_rows.len() == 1 { "" } else { "s" },
            mean.map_or_else(|| "no gap (no best known or no feasible solve)".to_string(), |m| format!("mean gap {}", percent(m))),
        );
        let _ = writeln!(out, r##"<rect x="16" y="{}" width="{}" height="{}" fill="#ffffff"/>"##, px(y + 4.0), px(width - 32.0), px(FAMILY_H - 4.0));
        line(out, (16.0, y + 4.0), (width - 16.0, y + 4.0), r##"stroke="#bbbbbb" stroke-width="1""##);
        text(out, 16.0, y + 19.0, r#"class="family" font-weight="bold""#, &header);
        y += FAMILY_H;
        for instance in members {
            let mid = y + ROW_H / 2.0;
            if stripe {
                let _ = writeln!(stripes, r##"<rect x="16" y="{}" width="{}" height="{}" fill="#f3f3f3"/>"##, px(y), px(width - 32.0), px(ROW_H));
            }
            stripe = !stripe;
            text(out, x0 - 8.0, mid + 4.0, r#"text-anchor="end""#, &truncate(instance.name, name_chars));
            match instance.mean_gap() {
                Some(gap) => {
                    let (left, right) = (x(gap.min(0.0)), x(gap.max(0.0)));
                    let colour = if gap < 0.0 { BETTER } else { WORSE };
                    let _ = writeln!(
                        out,
                        r#"<rect class="bar" data-instance="{}" data-gap="{gap}" x="{}" y="{}" width="{}" height="12" fill="{colour}"><title>{}</title></rect>"#,
                        escape(instance.name),
                        px(left),
                        px(mid - 6.0),
                        px(right - left),
                        escape(&format!("{}: mean gap {}", instance.name, percent(gap))),
                    );
                    let seeds = instance.gaps();
                    for &(seed, g) in &seeds {
                        let _ = writeln!(
                            out,
                            r##"<circle class="seed" cx="{}" cy="{}" r="2.5" fill="#111111" fill-opacity="0.75"><title>{}</title></circle>"##,
                            px(x(g)),
                            px(mid),
                            escape(&format!("{} seed {seed}: {}", instance.name, percent(g))),
                        );
                    }
                    let end = seeds.iter().map(|(_, g)| *g).fold(gap.max(0.0), f64::max);
                    text(out, x(end) + 6.0, mid + 4.0, "", &value_label(instance));
                }
                None => {
                    let (label, colour) = if instance.has_best_known() { ("infeasible or failed", "#c62828") } else { ("no best known", "#777777") };
                    text(out, x(0.0) + 6.0, mid + 4.0, &format!(r#"class="missing" fill="{colour}" font-style="italic""#), label);
                }
            }
            y += ROW_H;
        }
    }
    doc.push_str(&stripes);
    doc.push_str(&grid);
    doc.push_str(&front);
    close(doc)
}

/// One solve drawn on the convergence chart: its gaps over time.
struct Curve<'a> {
    row: &'a Row,
    /// (elapsed seconds, gap %), in time order.
    points: Vec<(f64, f64)>,
}

/// Convergence of every solve: x the elapsed seconds, y the gap to the best known
/// (`cost / bks - 1`, in %), one step line per solve with a best known and a trace (`<polyline
/// class="trace" data-instance=… data-seed=…>`), coloured by family (legend on the right). The y
/// axis runs from min(0, lowest gap) to the 90th percentile of the first gaps of the solves, but
/// at least to the largest final gap (and to 0); lines above it are clipped. A note says how many solves
/// are not drawn.
pub fn convergence_chart(rows: &[Row], title: &str) -> String {
    let mut curves: Vec<Curve> = Vec::new();
    for row in rows {
        let Some(bks) = row.bks.filter(|b| b.is_finite() && *b != 0.0) else { continue };
        let points: Vec<(f64, f64)> = row
            .trace
            .iter()
            .map(|p| (p.elapsed_s, 100.0 * (p.cost / bks - 1.0)))
            .filter(|(t, g)| t.is_finite() && g.is_finite())
            .map(|(t, g)| (t.max(0.0), g))
            .collect();
        if !points.is_empty() {
            curves.push(Curve { row, points });
        }
    }
    let not_drawn = rows.len() - curves.len();
    if curves.is_empty() {
        let why = if rows.is_empty() { "no solve".to_string() } else { format!("none of the {} solves has a best known and a trace", rows.len()) };
        return no_data(title, &why);
    }

    let x_max = curves.iter().flat_map(|c| c.points.iter().map(|p| p.0).chain([c.row.elapsed_s])).filter(|t| t.is_finite()).fold(0.0, f64::max);
    let lowest = curves.iter().flat_map(|c| c.points.iter().map(|p| p.1)).fold(0.0, f64::min);
    let mut firsts: Vec<f64> = curves.iter().map(|c| c.points[0].1).collect();
    firsts.sort_by(f64::total_cmp);
    let p90 = firsts[((firsts.len() as f64 * 0.9).ceil() as usize).clamp(1, firsts.len()) - 1];
    let largest_final = curves.iter().map(|c| c.points[c.points.len() - 1].1).fold(f64::NEG_INFINITY, f64::max);
    let x_axis = Axis::nice(0.0, x_max, 8);
    let y_axis = Axis::nice(lowest, p90.max(largest_final).max(0.0), 6);

    let (width, height) = (900.0, 580.0);
    let (x0, x1, y0, y1) = (70.0, width - 200.0, 60.0, height - 90.0);
    let x = |t: f64| x_axis.map(t, x0, x1);
    let y = |g: f64| y_axis.map(g, y1, y0);

    let mut out = open(width, height, title);
    text(&mut out, 16.0, 44.0, r##"fill="#555555""##, "Gap of the best feasible solution found so far to the best known, per solve.");
    let _ = writeln!(
        out,
        r#"<defs><clipPath id="plot-area"><rect x="{}" y="{}" width="{}" height="{}"/></clipPath></defs>"#,
        px(x0),
        px(y0),
        px(x1 - x0),
        px(y1 - y0)
    );
    for &t in &x_axis.ticks {
        line(&mut out, (x(t), y0), (x(t), y1), r##"stroke="#e3e3e3" stroke-width="1""##);
        line(&mut out, (x(t), y1), (x(t), y1 + 4.0), r##"stroke="#444444" stroke-width="1""##);
        text(&mut out, x(t), y1 + 18.0, r#"text-anchor="middle""#, &x_axis.label(t));
    }
    for &g in &y_axis.ticks {
        let stroke = if g == 0.0 { r##"stroke="#444444" stroke-width="1""## } else { r##"stroke="#e3e3e3" stroke-width="1""## };
        line(&mut out, (x0, y(g)), (x1, y(g)), stroke);
        line(&mut out, (x0 - 4.0, y(g)), (x0, y(g)), r##"stroke="#444444" stroke-width="1""##);
        text(&mut out, x0 - 8.0, y(g) + 4.0, r#"text-anchor="end""#, &y_axis.label(g));
    }
    line(&mut out, (x0, y1), (x1, y1), r##"stroke="#444444" stroke-width="1""##);
    line(&mut out, (x0, y0), (x0, y1), r##"stroke="#444444" stroke-width="1""##);
    text(&mut out, (x0 + x1) / 2.0, y1 + 38.0, r#"text-anchor="middle""#, "elapsed (s)");
    let _ = writeln!(
        out,
        r#"<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">gap to the best known (%)</text>"#,
        px((y0 + y1) / 2.0),
        px((y0 + y1) / 2.0)
    );

    // Families in order of first appearance among all rows, so colours are stable.
    let mut families: Vec<&str> = Vec::new();
    for row in rows {
        if !families.contains(&row.family.as_str()) {
            families.push(&row.family);
        }
    }
    let colour = |family: &str| PALETTE[families.iter().position(|f| *f == family).unwrap_or(0) % PALETTE.len()];

    let _ = writeln!(out, r#"<g clip-path="url(#plot-area)" fill="none">"#);
    for c in &curves {
        let mut points = String::new();
        let mut previous: Option<(f64, f64)> = None;
        for &(t, g) in &c.points {
            if let Some((_, before)) = previous {
                let _ = write!(points, " {},{}", px(x(t)), px(y(before)));
            }
            let _ = write!(points, " {},{}", px(x(t)), px(y(g)));
            previous = Some((t, g));
        }
        let (end_t, end_g) = c.points[c.points.len() - 1];
        let _ = writeln!(
            out,
            r#"<polyline class="trace" data-instance="{}" data-seed="{}" stroke="{}" stroke-width="1.5" stroke-opacity="0.8" points="{}"><title>{}</title></polyline>"#,
            escape(&c.row.instance),
            c.row.seed,
            colour(&c.row.family),
            points.trim_start(),
            escape(&format!("{} seed {}: {} after {:.2} s", c.row.instance, c.row.seed, percent(end_g), end_t)),
        );
        let _ = writeln!(out, r#"<circle cx="{}" cy="{}" r="2" fill="{}"/>"#, px(x(end_t)), px(y(end_g)), colour(&c.row.family));
    }
    let _ = writeln!(out, "</g>");

    // Legend: the families drawn, with their number of solves.
    let drawn: BTreeSet<&str> = curves.iter().map(|c| c.row.family.as_str()).collect();
    let shown: Vec<&str> = families.iter().copied().filter(|f| drawn.contains(f)).collect();
    let (lx, mut ly) = (x1 + 20.0, y0 + 6.0);
    text(&mut out, lx, ly, r#"font-weight="bold""#, "family");
    let max_entries = ((y1 - y0) / 20.0) as usize - 1;
    for (k, family) in shown.iter().enumerate() {
        ly += 20.0;
        if k + 1 == max_entries && shown.len() > max_entries {
            text(&mut out, lx, ly, "", &format!("… {} more", shown.len() - k));
            break;
        }
        let solves = curves.iter().filter(|c| c.row.family == *family).count();
        line(&mut out, (lx, ly - 4.0), (lx + 22.0, ly - 4.0), &format!(r#"stroke="{}" stroke-width="3""#, colour(family)));
        text(&mut out, lx + 28.0, ly, r#"class="legend""#, &format!("{} ({solves})", truncate(family, 16)));
    }

    let mut note = format!("{} solve{} drawn; {not_drawn} not drawn (no best known or no trace).", curves.len(), if curves.len() == 1 { "" } else { "s" });
    let clipped = curves.iter().filter(|c| c.points.iter().any(|p| p.1 > y_axis.hi)).count();
    if clipped > 0 {
        let _ = write!(note, " The starts of {clipped} are above {} % (cut off).", y_axis.label(y_axis.hi));
    }
    text(&mut out, 16.0, height - 16.0, r##"class="note" fill="#555555""##, &note);
    close(out)
}
