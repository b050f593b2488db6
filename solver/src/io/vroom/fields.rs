//! Checked conversions of single fields of a VROOM document into the model's integers: times
//! and windows, amounts and their dimensions, priorities, breaks and skills. Each error names
//! the JSON path of the field.

use super::{Id, Vehicle, VroomError, VroomInput, Window};
use crate::model::{Break, Load, Skills, TimeWindow};
use std::collections::{HashMap, HashSet};

/// Largest time, window bound or duration accepted, in seconds (about 35,000 years).
pub(super) const MAX_TIME: u64 = 1 << 40;
/// Largest amount in one capacity dimension.
const MAX_AMOUNT: u64 = 1 << 40;

pub(super) fn invalid(path: impl Into<String>, code: &'static str, message: impl Into<String>) -> VroomError {
    VroomError::invalid(path, code, message)
}

pub(super) fn time(v: u64, path: &str) -> Result<i64, VroomError> {
    if v > MAX_TIME {
        return Err(invalid(path, "bad_value", format!("{v} is larger than {MAX_TIME} seconds")));
    }
    Ok(v as i64)
}

pub(super) fn window(w: Window, path: &str) -> Result<TimeWindow, VroomError> {
    let tw = TimeWindow::new(time(w[0], path)?, time(w[1], path)?);
    if tw.early > tw.late {
        return Err(invalid(path, "bad_value", format!("the window ends ({}) before it starts ({})", w[1], w[0])));
    }
    Ok(tw)
}

/// Windows sorted, with overlapping or adjacent ones merged; the whole horizon when none.
pub(super) fn windows(ws: &[Window], path: &str) -> Result<Vec<TimeWindow>, VroomError> {
    let mut out = ws.iter().enumerate().map(|(k, &w)| window(w, &format!("{path}[{k}]"))).collect::<Result<Vec<_>, _>>()?;
    if out.is_empty() {
        return Ok(vec![TimeWindow::ALWAYS]);
    }
    out.sort_by_key(|w| (w.early, w.late));
    let mut merged: Vec<TimeWindow> = Vec::with_capacity(out.len());
    for w in out {
        match merged.last_mut() {
            // Integer times: [a, b] and [b + 1, c] allow the same starts as [a, c].
            Some(last) if w.early <= last.late.saturating_add(1) => last.late = last.late.max(w.late),
            _ => merged.push(w),
        }
    }
    Ok(merged)
}

pub(super) fn check_ids<'a>(ids: impl Iterator<Item = (&'a Id, String)>, what: &str) -> Result<(), VroomError> {
    let mut seen: HashMap<&Id, String> = HashMap::new();
    for (id, path) in ids {
        if let Some(first) = seen.insert(id, path.clone()) {
            return Err(invalid(path, "duplicate_id", format!("{what} id {id} is already used by {first}")));
        }
    }
    Ok(())
}

/// A matrix value as the model stores it.
pub(super) fn entry(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The number of capacity dimensions: the length of the first non-empty amount, capacity or
/// break `max_load`; every other non-empty one must have it too.
pub(super) fn dimensions(input: &VroomInput) -> Result<usize, VroomError> {
    let mut all: Vec<(String, usize)> = Vec::new();
    let mut add = |path: String, a: &Option<Vec<u64>>| {
        if let Some(a) = a.as_ref().filter(|a| !a.is_empty()) {
            all.push((path, a.len()));
        }
    };
    for (v, vehicle) in input.vehicles.iter().enumerate() {
        add(format!("vehicles[{v}].capacity"), &vehicle.capacity);
        for (k, b) in vehicle.breaks.iter().enumerate() {
            add(format!("vehicles[{v}].breaks[{k}].max_load"), &b.max_load);
        }
    }
    for (i, job) in input.jobs.iter().enumerate() {
        add(format!("jobs[{i}].delivery"), &job.delivery);
        add(format!("jobs[{i}].pickup"), &job.pickup);
        add(format!("jobs[{i}].amount"), &job.amount);
    }
    for (i, s) in input.shipments.iter().enumerate() {
        add(format!("shipments[{i}].amount"), &s.amount);
    }
    let Some((first, dims)) = all.first().cloned() else {
        return Ok(0);
    };
    if let Some((path, len)) = all.iter().find(|(_, len)| *len != dims) {
        return Err(invalid(path, "dimension_mismatch", format!("{len} components, but {first} has {dims}")));
    }
    Ok(dims)
}

/// An amount vector of `dims` components (zeros when absent or empty).
pub(super) fn amounts(a: Option<&Vec<u64>>, dims: usize, path: &str) -> Result<Vec<Load>, VroomError> {
    let Some(a) = a.filter(|a| !a.is_empty()) else {
        return Ok(vec![0; dims]);
    };
    a.iter()
        .enumerate()
        .map(|(k, &x)| {
            if x > MAX_AMOUNT {
                return Err(invalid(format!("{path}[{k}]"), "bad_value", format!("{x} is larger than {MAX_AMOUNT}")));
            }
            Ok(x as Load)
        })
        .collect()
}

pub(super) fn priority(p: u64, path: &str) -> Result<i64, VroomError> {
    if p > 100 {
        return Err(invalid(format!("{path}.priority"), "bad_value", format!("{p} is outside 0..=100")));
    }
    Ok(p as i64)
}

pub(super) fn unsupported_per_type(setup: &Option<serde_json::Value>, service: &Option<serde_json::Value>, path: &str) -> Result<(), VroomError> {
    let given = |v: &Option<serde_json::Value>| v.as_ref().is_some_and(|v| !(v.is_null() || v.as_object().is_some_and(|o| o.is_empty())));
    for (v, field) in [(setup, "setup_per_type"), (service, "service_per_type")] {
        if given(v) {
            return Err(invalid(format!("{path}.{field}"), "unsupported", "times per vehicle type are not supported yet"));
        }
    }
    Ok(())
}

/// A vehicle's breaks in the model (one window each, sorted by it) and, per model break, the
/// index of the VROOM break.
pub(super) fn breaks(vehicle: &Vehicle, shift: TimeWindow, capacity: &[Load], path: &str) -> Result<(Vec<Break>, Vec<usize>), VroomError> {
    check_ids(vehicle.breaks.iter().enumerate().map(|(k, b)| (&b.id, format!("{path}.breaks[{k}].id"))), "break")?;
    let mut out = Vec::with_capacity(vehicle.breaks.len());
    for (k, b) in vehicle.breaks.iter().enumerate() {
        let at = format!("{path}.breaks[{k}]");
        if let Some(max_load) = b.max_load.as_ref().filter(|m| !m.is_empty()) {
            if max_load.iter().zip(capacity).any(|(&m, &q)| (m as i128) < q as i128) {
                return Err(invalid(format!("{at}.max_load"), "unsupported", "a break max_load below the vehicle's capacity is not supported yet"));
            }
        }
        let window = if b.time_windows.is_empty() {
            shift
        } else {
            let ws = windows(&b.time_windows, &format!("{at}.time_windows"))?;
            *ws.iter()
                .find(|w| w.early <= shift.late && w.late >= shift.early)
                .ok_or_else(|| invalid(format!("{at}.time_windows"), "bad_value", "no window of this break overlaps the vehicle's time_window"))?
        };
        out.push((Break { window, duration: time(b.service, &format!("{at}.service"))? }, k));
    }
    out.sort_by_key(|(b, k)| (b.window.early, b.window.late, *k));
    Ok(out.into_iter().unzip())
}

/// Skill bits: one per skill that some task needs and some vehicle has (in order of first need),
/// plus one for "no vehicle has it" when a task needs such a skill.
pub(super) struct SkillBits {
    bits: HashMap<u64, u32>,
    /// The bit of skills no vehicle has.
    unheld: Option<u32>,
    pub(super) names: Vec<String>,
}

impl SkillBits {
    pub(super) fn new(input: &VroomInput) -> Result<SkillBits, VroomError> {
        let held: HashSet<u64> = input.vehicles.iter().flat_map(|v| v.skills.iter().copied()).collect();
        let mut s = SkillBits { bits: HashMap::new(), unheld: None, names: Vec::new() };
        let needs = input
            .jobs
            .iter()
            .enumerate()
            .map(|(i, j)| (format!("jobs[{i}].skills"), &j.skills))
            .chain(input.shipments.iter().enumerate().map(|(i, sh)| (format!("shipments[{i}].skills"), &sh.skills)));
        for (path, skills) in needs {
            for &k in skills {
                let known = if held.contains(&k) { s.bits.contains_key(&k) } else { s.unheld.is_some() };
                if known {
                    continue;
                }
                if s.names.len() == 64 {
                    return Err(invalid(path, "too_many_skills", "more than 64 distinct skills are needed by tasks and held by vehicles"));
                }
                let bit = s.names.len() as u32;
                if held.contains(&k) {
                    s.bits.insert(k, bit);
                    s.names.push(k.to_string());
                } else {
                    s.unheld = Some(bit);
                    s.names.push("held by no vehicle".to_owned());
                }
            }
        }
        Ok(s)
    }

    pub(super) fn of_task(&self, skills: &[u64]) -> Skills {
        skills.iter().fold(Skills::NONE, |acc, k| match self.bits.get(k).copied().or(self.unheld) {
            Some(bit) => acc.with(bit),
            None => acc,
        })
    }

    pub(super) fn of_vehicle(&self, skills: &[u64]) -> Skills {
        skills.iter().fold(Skills::NONE, |acc, k| self.bits.get(k).map_or(acc, |&bit| acc.with(bit)))
    }
}
