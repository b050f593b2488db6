//! The solver input of a plan version as downloaded (`GET /v1/plans/{id}/problem`).
//!
//! Plans are stored without travel matrices (they are four n × n arrays: 552 MB of JSON for a
//! day of 3,000 orders), so the download computes them again from the travel source and writes
//! them as it goes: [`write`] sends the document in chunks, a block of matrix rows at a time,
//! so the memory it needs grows with the number of locations, not its square, however big the
//! body. `?matrices=false` gives the matrix-free form (a few MB for a big day), which the solver
//! cannot build without a speed per profile but which names every client, vehicle and depot.

use crate::travel::{RoutingProfile, TravelMatrix};
use solver::io::json::JsonProblem;

/// Matrix values computed at once while writing (rows × locations), about 16 MB with both
/// measures.
const BLOCK_VALUES: usize = 1 << 20;

/// Up to this many locations, a profile's matrices are computed at once (16 MB at most).
const WHOLE_UP_TO: usize = 1_000;

/// The routing profile of a profile name of the solver input.
fn routing_profile(name: &str) -> Option<RoutingProfile> {
    [RoutingProfile::Truck, RoutingProfile::Motorcycle].into_iter().find(|r| r.name() == name)
}

/// `value` as JSON text.
fn json<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| format!("solver input: {e}"))
}

/// Writes `doc` as JSON to `sink` in chunks, with the travel matrices of its profiles computed
/// from `travel` when `matrices` (profiles the travel source does not know, or with a speed of
/// their own and no matrix, are written as they are). Stops early, without error, when `sink`
/// says the reader is gone (returns `false`).
pub fn write(doc: &JsonProblem, matrices: bool, travel: &dyn TravelMatrix, sink: &mut dyn FnMut(Vec<u8>) -> bool) -> Result<(), String> {
    if !matrices {
        let mut doc = doc.clone();
        for p in &mut doc.profiles {
            p.distance_m = None;
            p.duration_s = None;
        }
        sink(json(&doc)?.into_bytes());
        return Ok(());
    }
    let mut shell = doc.clone();
    shell.profiles = Vec::new();
    let text = json(&shell)?;
    // Quotes inside strings are escaped, so this can only be the profiles key itself.
    let marker = "\"profiles\":[]";
    let at = text.find(marker).ok_or("solver input: no profiles key")?;
    let (head, tail) = (&text[..at], &text[at + marker.len()..]);
    if !sink(format!("{head}\"profiles\":[").into_bytes()) {
        return Ok(());
    }
    let points: Vec<(f64, f64)> = doc.depots.iter().map(|d| (d.lat, d.lon)).chain(doc.clients.iter().map(|c| (c.lat, c.lon))).collect();
    let rows_per_block = (BLOCK_VALUES / points.len().max(1)).max(1);
    for (i, p) in doc.profiles.iter().enumerate() {
        let mut bare = p.clone();
        bare.distance_m = None;
        bare.duration_s = None;
        let comma = if i == 0 { "" } else { "," };
        let profile = routing_profile(&p.name).filter(|_| !(p.speed_kmh.is_some() && p.distance_m.is_none() && p.duration_s.is_none()));
        let Some(profile) = profile else {
            if !sink(format!("{comma}{}", json(p)?).into_bytes()) {
                return Ok(());
            }
            continue;
        };
        let open = json(&bare)?;
        let open = open.strip_suffix('}').ok_or("solver input: a profile is not an object")?;
        if !sink(format!("{comma}{open},\"distance_m\":[").into_bytes()) {
            return Ok(());
        }
        // A small day's matrices at once, as it was planned (one request to OSRM); a big day's a
        // block of rows at a time, distances then durations, each block computed once per
        // measure.
        let whole = if points.len() <= WHOLE_UP_TO { Some(travel.matrices(profile, &points).map_err(|e| format!("travel matrix: {e}"))?) } else { None };
        for (m, key) in [(0, "],\"duration_s\":["), (1, "]}")] {
            for (b, from) in points.chunks(rows_per_block).enumerate() {
                let rows = match &whole {
                    Some(x) => {
                        let all = if m == 0 { &x.distance_m } else { &x.duration_s };
                        all[b * rows_per_block..b * rows_per_block + from.len()].to_vec()
                    }
                    None => {
                        let (distance, duration) = travel.between(profile, from, &points).map_err(|e| format!("travel matrix: {e}"))?;
                        if m == 0 {
                            distance
                        } else {
                            duration
                        }
                    }
                };
                let mut chunk = String::with_capacity(rows.len() * points.len() * 6);
                for (r, row) in rows.iter().enumerate() {
                    if b > 0 || r > 0 {
                        chunk.push(',');
                    }
                    chunk.push('[');
                    for (k, v) in row.iter().enumerate() {
                        if k > 0 {
                            chunk.push(',');
                        }
                        chunk.push_str(&v.to_string());
                    }
                    chunk.push(']');
                }
                if !sink(chunk.into_bytes()) {
                    return Ok(());
                }
            }
            if !sink(key.as_bytes().to_vec()) {
                return Ok(());
            }
        }
    }
    sink(format!("]{tail}").into_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planning::day::tests::{inputs, stop};
    use crate::planning::day::{Day, DayModel};
    use crate::travel::{GreatCircle, TravelConfig};

    fn written(doc: &JsonProblem, matrices: bool, travel: &GreatCircle) -> String {
        let mut out = Vec::new();
        write(doc, matrices, travel, &mut |chunk| {
            out.extend(chunk);
            true
        })
        .expect("writes");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn writes_the_matrices_the_day_was_planned_with_a_block_at_a_time() {
        let travel = GreatCircle::new(TravelConfig::default());
        let stops = (1..=5).map(|id| stop(id, vec![], crate::domain::Priority::Normal)).collect();
        let Ok(Day::Solvable(day)) = DayModel::build(inputs(stops), &travel) else { panic!("solvable") };
        let text = written(&day.doc, true, &travel);
        let (doc, problem) = solver::io::json::parse(&text).expect("the download parses and builds");
        assert_eq!((doc.clients.len(), doc.depots.len()), (5, 1));
        let planned = &day.parts[0].compiled.problem;
        let n = planned.num_locations();
        for (a, b) in planned.profiles.iter().zip(&problem.profiles) {
            assert!((0..n).all(|x| (0..n).all(|y| a.distance.get(x, y) == b.distance.get(x, y) && a.duration.get(x, y) == b.duration.get(x, y))));
        }
        let bare: JsonProblem = serde_json::from_str(&written(&day.doc, false, &travel)).expect("matrix-free JSON");
        assert!(bare.profiles.iter().all(|p| p.distance_m.is_none() && p.duration_s.is_none()));
        assert_eq!(bare.clients, doc.clients);

        // A reader that leaves stops the writing.
        let mut chunks = 0;
        write(&day.doc, true, &travel, &mut |_| {
            chunks += 1;
            chunks < 2
        })
        .expect("stops quietly");
        assert_eq!(chunks, 2);
    }
}
