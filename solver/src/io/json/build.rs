//! Builds the integer [`Problem`] from a [`JsonProblem`]: resolves names to indices, converts
//! units (see the parent module), computes matrices from coordinates, and checks every field,
//! naming its JSON path when it is wrong.

use super::units::{check_amount, check_date, check_range, haversine_m, parse_clock, scaled, DAY_SECONDS};
use super::{Amounts, JsonError, JsonProblem, JsonProfile, COST_SCALE};
use crate::error::ModelError;
use crate::model::{
    Balance, Break, Client, Congestion, Depot, Group, Load, Location, Matrix, Pair, Problem, ProblemData, Profile, Skills, SpeedBand, TimeWindow, VehicleType,
    UNLIMITED,
};
use std::collections::HashMap;

/// Most locations (depots + clients) a document may have: each matrix holds their square.
pub const MAX_LOCATIONS: usize = 20_000;
/// Largest amount in one capacity dimension.
const MAX_AMOUNT: i64 = 1_000_000_000;
/// Most vehicles of one type.
const MAX_COUNT: usize = 10_000;
/// Most trips per route.
const MAX_TRIPS: usize = 1_000;
/// Largest fixed cost or prize, in NT$.
const MAX_NTD: f64 = 10_000_000.0;
/// Largest cost per km, in NT$.
const MAX_PER_KM: f64 = 100_000.0;
/// Largest cost per hour, in NT$.
const MAX_PER_HOUR: f64 = 1_000_000.0;
/// Largest number of minutes (service, reload, max duration): one day.
const MAX_MINUTES: f64 = 1440.0;
/// Largest max distance, in km.
const MAX_KM: f64 = 100_000.0;

/// Checks `doc` and builds its problem. Errors name the JSON path of the first bad field.
pub fn build(doc: &JsonProblem) -> Result<Problem, JsonError> {
    check_date(&doc.date, "date")?;
    let dims = index_names(doc.dimensions.iter().map(String::as_str), "dimensions", "dimension")?;
    if dims.is_empty() {
        return Err(JsonError::invalid("dimensions", "empty", "at least one capacity dimension is needed"));
    }
    if doc.depots.is_empty() {
        return Err(JsonError::invalid("depots", "empty", "at least one depot is needed"));
    }
    if doc.profiles.is_empty() {
        return Err(JsonError::invalid("profiles", "empty", "at least one profile is needed"));
    }
    let n = doc.depots.len() + doc.clients.len();
    if n > MAX_LOCATIONS {
        return Err(JsonError::invalid("clients", "too_large", format!("{n} locations, at most {MAX_LOCATIONS}")));
    }
    let depot_ids = index_names(doc.depots.iter().map(|d| d.id.as_str()), "depots", "id")?;
    let client_ids = index_names(doc.clients.iter().map(|c| c.id.as_str()), "clients", "id")?;
    index_names(doc.vehicle_types.iter().map(|v| v.id.as_str()), "vehicle_types", "id")?;
    let profile_ids = index_names(doc.profiles.iter().map(|p| p.name.as_str()), "profiles", "name")?;

    let mut locations = Vec::with_capacity(n);
    for (i, d) in doc.depots.iter().enumerate() {
        locations.push(location(d.lat, d.lon, &format!("depots[{i}]"))?);
    }
    for (i, c) in doc.clients.iter().enumerate() {
        locations.push(location(c.lat, c.lon, &format!("clients[{i}]"))?);
    }

    let mut depots = Vec::with_capacity(doc.depots.len());
    for (i, d) in doc.depots.iter().enumerate() {
        let path = format!("depots[{i}]");
        let window = window(&d.open, &d.close, &format!("{path}.open"), &format!("{path}.close"))?;
        let reload_duration = scaled(d.reload_minutes, 60.0, MAX_MINUTES, &format!("{path}.reload_minutes"))?;
        depots.push(Depot { name: d.name.clone(), location: i, time_window: window, reload_duration });
    }

    let profiles = doc.profiles.iter().enumerate().map(|(i, p)| profile(p, i, &locations)).collect::<Result<Vec<_>, _>>()?;

    let (skill_ids, mut skill_names) = skill_bits(doc)?;
    let skills_of = |names: &[String], path: &str| skills_of(&skill_ids, names, path);
    let allowed = AllowedTypes::of(doc, skill_names.len())?;
    skill_names.extend(allowed.names(doc));
    let depot_of = |id: &str, path: &str| -> Result<usize, JsonError> {
        depot_ids.get(id).copied().ok_or_else(|| JsonError::invalid(path, "unknown_name", format!("no depot has id '{id}'")))
    };

    let mut vehicle_types = Vec::with_capacity(doc.vehicle_types.len());
    for (t, vt) in doc.vehicle_types.iter().enumerate() {
        let path = format!("vehicle_types[{t}]");
        let field = |f: &str| format!("{path}.{f}");
        if vt.count > MAX_COUNT {
            return Err(JsonError::invalid(&field("count"), "out_of_range", format!("at most {MAX_COUNT} vehicles per type")));
        }
        let start_depot = depot_of(&vt.start_depot, &field("start_depot"))?;
        let end_depot = match &vt.end_depot {
            Some(id) => depot_of(id, &field("end_depot"))?,
            None => start_depot,
        };
        let shift_start = vt.shift_start.as_deref().map(|s| parse_clock(s, &field("shift_start"))).transpose()?;
        let shift_end = vt.shift_end.as_deref().map(|s| parse_clock(s, &field("shift_end"))).transpose()?;
        let shift = TimeWindow::new(shift_start.unwrap_or(depots[start_depot].time_window.early), shift_end.unwrap_or(depots[end_depot].time_window.late));
        if shift.early > shift.late {
            return Err(JsonError::invalid(&field("shift_end"), "bad_time_window", "the shift ends before it starts"));
        }
        let limit = |v: Option<f64>, scale: f64, max: f64, f: &str| v.map_or(Ok(UNLIMITED), |v| scaled(v, scale, max, &field(f)));
        let profile = *profile_ids
            .get(vt.profile.as_str())
            .ok_or_else(|| JsonError::invalid(&field("profile"), "unknown_name", format!("no profile is named '{}'", vt.profile)))?;
        let reload_depots =
            vt.reload_depots.iter().enumerate().map(|(k, id)| depot_of(id, &format!("{path}.reload_depots[{k}]"))).collect::<Result<Vec<_>, _>>()?;
        if vt.max_trips == 0 || vt.max_trips > MAX_TRIPS {
            return Err(JsonError::invalid(&field("max_trips"), "bad_trips", format!("must be between 1 and {MAX_TRIPS}")));
        }
        if vt.max_trips > 1 && reload_depots.is_empty() {
            return Err(JsonError::invalid(&field("max_trips"), "bad_trips", "more than one trip needs a reload depot"));
        }
        vehicle_types.push(VehicleType {
            name: vt.name.clone(),
            count: vt.count,
            capacity: amounts(&vt.capacity, &dims, &field("capacity"))?,
            start_depot,
            end_depot,
            shift,
            max_duration: limit(vt.max_duration_minutes, 60.0, MAX_MINUTES, "max_duration_minutes")?,
            max_distance: limit(vt.max_distance_km, 1000.0, MAX_KM, "max_distance_km")?,
            fixed_cost: scaled(vt.fixed_cost, COST_SCALE as f64, MAX_NTD, &field("fixed_cost"))?,
            // NT$/km = NT$ / 1000 m, so per metre in NT$/COST_SCALE: x COST_SCALE / 1000.
            unit_distance_cost: scaled(vt.cost_per_km, COST_SCALE as f64 / 1000.0, MAX_PER_KM, &field("cost_per_km"))?,
            unit_duration_cost: scaled(vt.cost_per_hour, COST_SCALE as f64 / 3600.0, MAX_PER_HOUR, &field("cost_per_hour"))?,
            profile,
            skills: Skills(skills_of(&vt.skills, &path)?.0 | allowed.of_type(t).0),
            reload_depots,
            max_trips: vt.max_trips,
            breaks: vt
                .breaks
                .iter()
                .enumerate()
                .map(|(k, b)| {
                    let at = format!("{path}.breaks[{k}]");
                    Ok(Break {
                        window: window(&b.window.start, &b.window.end, &format!("{at}.window.start"), &format!("{at}.window.end"))?,
                        duration: scaled(b.minutes, 60.0, MAX_MINUTES, &format!("{at}.minutes"))?,
                    })
                })
                .collect::<Result<Vec<_>, JsonError>>()?,
            overtime_after: limit(vt.overtime_after_minutes, 60.0, MAX_MINUTES, "overtime_after_minutes")?,
            unit_overtime_cost: scaled(vt.overtime_cost_per_hour, COST_SCALE as f64 / 3600.0, MAX_PER_HOUR, &field("overtime_cost_per_hour"))?,
            balance: Balance {
                cost: scaled(vt.fair_day_cost_per_hour_squared, COST_SCALE as f64, MAX_PER_HOUR, &field("fair_day_cost_per_hour_squared"))?,
                per: 3600,
            },
            on_board: None,
        });
    }

    let mut clients = Vec::with_capacity(doc.clients.len());
    for (i, c) in doc.clients.iter().enumerate() {
        let mut cl = client(c, i, doc.client_location(i), &dims, &skill_ids)?.0;
        cl.skills.0 |= allowed.of_client(doc, c, &format!("clients[{i}]"))?.0;
        clients.push(cl);
    }
    let groups = groups(doc, &mut clients)?;

    let mut pairs = Vec::with_capacity(doc.pairs.len());
    for (k, pair) in doc.pairs.iter().enumerate() {
        let client = |id: &str, field: &str| {
            let path = format!("pairs[{k}].{field}");
            client_ids.get(id).copied().ok_or_else(|| JsonError::invalid(&path, "unknown_name", format!("no client has id '{id}'")))
        };
        pairs.push(Pair {
            pickup: client(&pair.pickup, "pickup")?,
            delivery: client(&pair.delivery, "delivery")?,
            amount: amounts(&pair.amount, &dims, &format!("pairs[{k}].amount"))?,
        });
    }

    let data = ProblemData {
        name: doc.name.clone(),
        locations,
        depots,
        clients,
        vehicle_types,
        profiles,
        dimensions: dims.len(),
        skill_names,
        backhaul_precedence: false,
        stability: Default::default(),
        groups,
        pairs,
    };
    Problem::new(data).map_err(|e| model_error(doc, e))
}

/// Builds clients that join the problem built from `doc` (a replan's new orders): their
/// dimensions and skills are `doc`'s, the `k`-th is at location `first_location + k`, and errors
/// name them as if they followed `doc`'s clients (`clients[n + k]`). Returns each client with its
/// coordinates.
pub fn build_clients(doc: &JsonProblem, clients: &[super::JsonClient], first_location: usize) -> Result<Vec<(Client, Location)>, JsonError> {
    let dims = index_names(doc.dimensions.iter().map(String::as_str), "dimensions", "dimension")?;
    let (skill_ids, named) = skill_bits(doc)?;
    let allowed = AllowedTypes::of(doc, named.len())?;
    clients
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let i = doc.clients.len() + k;
            let path = format!("clients[{i}]");
            if c.group.is_some() {
                return Err(JsonError::invalid(&format!("{path}.group"), "unsupported", "an order added to a plan under way cannot have alternatives"));
            }
            if !c.vehicle_types.is_empty() && !allowed.used {
                return Err(JsonError::invalid(&format!("{path}.vehicle_types"), "unsupported", "the plan under way restricts no client to vehicle types"));
            }
            let (mut cl, at) = client(c, i, first_location + k, &dims, &skill_ids)?;
            cl.skills.0 |= allowed.of_client(doc, c, &path)?.0;
            Ok((cl, at))
        })
        .collect()
}

/// "Client `c` may go on the vehicle types of its list only", as skills, since a vehicle serves a
/// client when it has every skill the client needs: after the named skills comes one skill per
/// vehicle type `t`, "not restricted to `t`", which every type but `t` has and which a client
/// needs for each type not on its list. Used only when some client has a list.
struct AllowedTypes {
    used: bool,
    /// Bit of the first type's skill.
    base: u32,
    types: usize,
}

impl AllowedTypes {
    fn of(doc: &JsonProblem, named: usize) -> Result<AllowedTypes, JsonError> {
        let used = doc.clients.iter().any(|c| !c.vehicle_types.is_empty());
        let types = doc.vehicle_types.len();
        if used && named + types > 64 {
            let i = doc.clients.iter().position(|c| !c.vehicle_types.is_empty()).unwrap_or(0);
            return Err(JsonError::invalid(
                &format!("clients[{i}].vehicle_types"),
                "too_many_skills",
                format!("allowed vehicle types need one skill per vehicle type: {named} skills and {types} types exceed 64"),
            ));
        }
        Ok(AllowedTypes { used, base: named as u32, types })
    }

    fn names(&self, doc: &JsonProblem) -> Vec<String> {
        if !self.used {
            return Vec::new();
        }
        doc.vehicle_types.iter().map(|vt| format!("not only vehicle type {}", vt.id)).collect()
    }

    fn of_type(&self, t: usize) -> Skills {
        if !self.used {
            return Skills::NONE;
        }
        let all = (0..self.types as u32).fold(0u64, |acc, k| acc | 1u64 << (self.base + k));
        Skills(all & !(1u64 << (self.base + t as u32)))
    }

    fn of_client(&self, doc: &JsonProblem, c: &super::JsonClient, path: &str) -> Result<Skills, JsonError> {
        if c.vehicle_types.is_empty() {
            return Ok(Skills::NONE);
        }
        let mut on_list = vec![false; self.types];
        for (k, id) in c.vehicle_types.iter().enumerate() {
            match doc.vehicle_type_index(id) {
                Some(t) => on_list[t] = true,
                None => return Err(JsonError::invalid(&format!("{path}.vehicle_types[{k}]"), "unknown_name", format!("no vehicle type has id '{id}'"))),
            }
        }
        Ok(Skills((0..self.types).filter(|&t| !on_list[t]).fold(0u64, |acc, t| acc | 1u64 << (self.base + t as u32))))
    }
}

/// The groups of alternatives (clients sharing a `group`), in order of first appearance: their
/// clients become optional and the group required when they are; a group of required and
/// optional clients is refused.
fn groups(doc: &JsonProblem, clients: &mut [Client]) -> Result<Vec<Group>, JsonError> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<Group> = Vec::new();
    for (i, c) in doc.clients.iter().enumerate() {
        let Some(name) = c.group.as_deref() else { continue };
        let path = format!("clients[{i}].group");
        if name.is_empty() {
            return Err(JsonError::invalid(&path, "empty", "must not be empty"));
        }
        let g = *index.entry(name).or_insert_with(|| {
            out.push(Group { clients: Vec::new(), required: c.required });
            out.len() - 1
        });
        if out[g].required != c.required {
            return Err(JsonError::invalid(
                &format!("clients[{i}].required"),
                "mixed_group",
                format!("the clients of group '{name}' must all be required or all optional"),
            ));
        }
        out[g].clients.push(i);
        clients[i].required = false;
    }
    Ok(out)
}

/// The coordinates of a depot or client (`path` names it).
fn location(lat: f64, lon: f64, path: &str) -> Result<Location, JsonError> {
    let y = check_range(lat, -90.0, 90.0, &format!("{path}.lat"))?;
    let x = check_range(lon, -180.0, 180.0, &format!("{path}.lon"))?;
    Ok(Location { x, y })
}

/// Skills numbered in order of first use by a vehicle type (a client may only ask for a skill
/// some vehicle type has): name → bit, and the names by bit.
fn skill_bits(doc: &JsonProblem) -> Result<(HashMap<&str, u32>, Vec<String>), JsonError> {
    let mut skill_ids: HashMap<&str, u32> = HashMap::new();
    let mut skill_names = Vec::new();
    for (t, vt) in doc.vehicle_types.iter().enumerate() {
        for (k, s) in vt.skills.iter().enumerate() {
            if !skill_ids.contains_key(s.as_str()) {
                if skill_names.len() == 64 {
                    return Err(JsonError::invalid(&format!("vehicle_types[{t}].skills[{k}]"), "too_many_skills", "at most 64 different skills"));
                }
                skill_ids.insert(s, skill_names.len() as u32);
                skill_names.push(s.clone());
            }
        }
    }
    Ok((skill_ids, skill_names))
}

/// The skills `names` as bits (`path` names their owner).
fn skills_of(skill_ids: &HashMap<&str, u32>, names: &[String], path: &str) -> Result<Skills, JsonError> {
    names.iter().enumerate().try_fold(Skills::NONE, |acc, (k, s)| match skill_ids.get(s.as_str()) {
        Some(&bit) => Ok(acc.with(bit)),
        None => Err(JsonError::invalid(&format!("{path}.skills[{k}]"), "unknown_name", format!("no vehicle type has skill '{s}'"))),
    })
}

/// Client `clients[i]` of a document, at `location`, with its coordinates.
fn client(
    c: &super::JsonClient,
    i: usize,
    location: usize,
    dims: &HashMap<&str, usize>,
    skill_ids: &HashMap<&str, u32>,
) -> Result<(Client, Location), JsonError> {
    let path = format!("clients[{i}]");
    let field = |f: &str| format!("{path}.{f}");
    let at = self::location(c.lat, c.lon, &path)?;
    let prize = match c.prize {
        Some(p) => scaled(p, COST_SCALE as f64, MAX_NTD, &field("prize"))?,
        None => 0,
    };
    let client = Client {
        name: if c.name.is_empty() { c.id.clone() } else { c.name.clone() },
        location,
        delivery: amounts(&c.delivery, dims, &field("delivery"))?,
        pickup: amounts(&c.pickup, dims, &field("pickup"))?,
        service_duration: scaled(c.service_minutes, 60.0, MAX_MINUTES, &field("service_minutes"))?,
        time_windows: time_windows(c, &path)?,
        release_time: c.release_time.as_deref().map_or(Ok(0), |s| parse_clock(s, &field("release_time")))?,
        required: c.required,
        prize,
        skills: skills_of(skill_ids, &c.skills, &path)?,
    };
    Ok((client, at))
}

/// Maps names to their index, rejecting empty and repeated names (`list[i].field`).
fn index_names<'a>(names: impl Iterator<Item = &'a str>, list: &str, field: &str) -> Result<HashMap<&'a str, usize>, JsonError> {
    let mut map = HashMap::new();
    for (i, name) in names.enumerate() {
        let path = if field == "dimension" { format!("{list}[{i}]") } else { format!("{list}[{i}].{field}") };
        if name.is_empty() {
            return Err(JsonError::invalid(&path, "empty", "must not be empty"));
        }
        if let Some(first) = map.insert(name, i) {
            return Err(JsonError::invalid(&path, "duplicate_id", format!("'{name}' is already used by {list}[{first}]")));
        }
    }
    Ok(map)
}

/// Amounts by dimension name as a vector in dimension order; missing dimensions are 0.
fn amounts(given: &Amounts, dims: &HashMap<&str, usize>, path: &str) -> Result<Vec<Load>, JsonError> {
    let mut v = vec![0; dims.len()];
    for (name, &amount) in given {
        let p = format!("{path}.{name}");
        let &d = dims.get(name.as_str()).ok_or_else(|| JsonError::invalid(&p, "unknown_name", format!("'{name}' is not a dimension")))?;
        v[d] = check_amount(amount, MAX_AMOUNT, &p)?;
    }
    Ok(v)
}

/// A window `[start, end]` from two clock times.
fn window(start: &str, end: &str, start_path: &str, end_path: &str) -> Result<TimeWindow, JsonError> {
    let w = TimeWindow::new(parse_clock(start, start_path)?, parse_clock(end, end_path)?);
    if w.early > w.late {
        return Err(JsonError::invalid(end_path, "bad_time_window", format!("ends ({end}) before it starts ({start})")));
    }
    Ok(w)
}

/// A client's windows, sorted; the whole day when none is given. Overlapping or touching windows
/// are rejected (merge them in the input).
fn time_windows(c: &super::JsonClient, path: &str) -> Result<Vec<TimeWindow>, JsonError> {
    if c.time_windows.is_empty() {
        return Ok(vec![TimeWindow::new(0, DAY_SECONDS)]);
    }
    let mut windows = Vec::with_capacity(c.time_windows.len());
    for (k, w) in c.time_windows.iter().enumerate() {
        let p = format!("{path}.time_windows[{k}]");
        let tw = window(&w.start, &w.end, &format!("{p}.start"), &format!("{p}.end")).map_err(|e| match e {
            JsonError::Invalid { code: "bad_time_window", message, .. } => JsonError::invalid(&p, "bad_time_window", message),
            e => e,
        })?;
        windows.push((tw, k));
    }
    windows.sort_by_key(|&(w, _)| (w.early, w.late));
    for pair in windows.windows(2) {
        let ((a, ka), (b, kb)) = (pair[0], pair[1]);
        if a.late >= b.early {
            return Err(JsonError::invalid(
                &format!("{path}.time_windows[{kb}]"),
                "bad_time_window",
                format!("overlaps or touches time_windows[{ka}]; merge them"),
            ));
        }
    }
    Ok(windows.into_iter().map(|(w, _)| w).collect())
}

/// The matrices of one profile, from explicit values or from coordinates.
fn profile(p: &JsonProfile, i: usize, locations: &[Location]) -> Result<Profile, JsonError> {
    let path = format!("profiles[{i}]");
    let n = locations.len();
    if let Some(rows) = &p.distance_m {
        check_square(rows, n, &format!("{path}.distance_m"))?;
    }
    if let Some(rows) = &p.duration_s {
        check_square(rows, n, &format!("{path}.duration_s"))?;
    }
    let detour = check_range(p.detour_factor.unwrap_or(1.0), 1.0, 10.0, &format!("{path}.detour_factor"))?;
    // Road metres between two locations, before rounding.
    let metres = |a: usize, b: usize| -> f64 {
        match &p.distance_m {
            Some(rows) => rows[a][b] as f64,
            None => haversine_m(locations[a].y, locations[a].x, locations[b].y, locations[b].x) * detour,
        }
    };
    let to_matrix = |field: &str, f: &mut dyn FnMut(usize, usize) -> i64| {
        Matrix::from_fn(n, f)
            .map_err(|(a, b, v)| JsonError::invalid(&format!("{path}.{field}[{a}][{b}]"), "out_of_range", format!("{v} is negative or too large for a matrix")))
    };
    let distance = match &p.distance_m {
        Some(rows) => to_matrix("distance_m", &mut |a, b| rows[a][b])?,
        None => to_matrix("distance_m", &mut |a, b| metres(a, b).round() as i64)?,
    };
    let duration = match (&p.duration_s, p.speed_kmh) {
        (Some(rows), _) => to_matrix("duration_s", &mut |a, b| rows[a][b])?,
        (None, Some(speed)) => {
            let metres_per_second = check_range(speed, 1.0, 1000.0, &format!("{path}.speed_kmh"))? / 3.6;
            to_matrix("duration_s", &mut |a, b| (metres(a, b) / metres_per_second).round() as i64)?
        }
        (None, None) => {
            return Err(JsonError::invalid(&format!("{path}.speed_kmh"), "missing_field", "needed when duration_s is not given"));
        }
    };
    let congestion = rush_hours(&p.rush_hours, &path)?;
    Ok(Profile { name: p.name.clone(), distance, duration, congestion })
}

/// A profile's rush hours as speed bands: each band's clock times in order, its speed 1 to 99 %,
/// the bands in order of the day and disjoint.
fn rush_hours(bands: &[super::JsonRushHour], path: &str) -> Result<Congestion, JsonError> {
    let mut out = Vec::with_capacity(bands.len());
    for (k, b) in bands.iter().enumerate() {
        let p = format!("{path}.rush_hours[{k}]");
        let (from, to) = (parse_clock(&b.start, &format!("{p}.start"))?, parse_clock(&b.end, &format!("{p}.end"))?);
        if to <= from {
            return Err(JsonError::invalid(&format!("{p}.end"), "bad_time_window", format!("ends ({}) at or before it starts ({})", b.end, b.start)));
        }
        if !(1..=99).contains(&b.speed_percent) {
            return Err(JsonError::invalid(
                &format!("{p}.speed_percent"),
                "out_of_range",
                format!("{} is not a rush-hour speed: 1 to 99 % of free flow", b.speed_percent),
            ));
        }
        if out.last().is_some_and(|prev: &SpeedBand| from < prev.to) {
            return Err(JsonError::invalid(
                &format!("{p}.start"),
                "bad_time_window",
                format!("starts ({}) before rush_hours[{}] ends; bands must be in order of the day and must not overlap", b.start, k - 1),
            ));
        }
        out.push(SpeedBand { from, to, speed_percent: b.speed_percent });
    }
    Congestion::new(out).map_err(|e| JsonError::invalid(&format!("{path}.rush_hours"), "bad_time_window", e.to_string()))
}

/// Checks a matrix has `n` rows of `n` values.
fn check_square(rows: &[Vec<i64>], n: usize, path: &str) -> Result<(), JsonError> {
    if rows.len() != n {
        return Err(JsonError::invalid(path, "matrix_size", format!("{} rows, expected {n} (depots, then clients)", rows.len())));
    }
    for (a, row) in rows.iter().enumerate() {
        if row.len() != n {
            return Err(JsonError::invalid(&format!("{path}[{a}]"), "matrix_size", format!("{} values, expected {n}", row.len())));
        }
    }
    Ok(())
}

/// Names the depot, client or vehicle type a model error concerns, by JSON path and `id`.
///
/// Model errors name items by index in their message (`client 3 ...`, `vehicle type 0 ...`).
fn model_error(doc: &JsonProblem, source: ModelError) -> JsonError {
    let text = source.to_string();
    let indexed = |prefix: &str| -> Option<usize> {
        let rest = text.strip_prefix(prefix)?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    let (path, id) = if let Some(i) = indexed("client ").filter(|&i| i < doc.clients.len()) {
        (format!("clients[{i}]"), doc.clients[i].id.clone())
    } else if let Some(t) = indexed("vehicle type ").filter(|&t| t < doc.vehicle_types.len()) {
        (format!("vehicle_types[{t}]"), doc.vehicle_types[t].id.clone())
    } else if let Some(d) = indexed("depot ").filter(|&d| d < doc.depots.len()) {
        (format!("depots[{d}]"), doc.depots[d].id.clone())
    } else if let ModelError::BadPair { pair, .. } = source {
        (format!("pairs[{pair}]"), String::new())
    } else {
        let list = match source {
            ModelError::NoVehicle => "vehicle_types",
            ModelError::NoDepot => "depots",
            ModelError::NoProfile | ModelError::MatrixSize { .. } => "profiles",
            _ => "",
        };
        (list.to_string(), String::new())
    };
    JsonError::Model { path, id, source }
}

#[cfg(test)]
mod tests {
    use super::super::{parse, JsonPair, JsonTimeWindow, SAMPLE};
    use super::*;

    fn sample() -> JsonProblem {
        serde_json::from_str(SAMPLE).unwrap()
    }

    /// Builds `doc` after `edit`, expecting an error at `path` with `code`.
    fn fails_at(edit: impl FnOnce(&mut JsonProblem), path: &str, code: &str) {
        let mut doc = sample();
        edit(&mut doc);
        let err = build(&doc).expect_err(path);
        assert_eq!((err.path(), err.code()), (Some(path), code), "{err}");
        assert!(err.to_string().starts_with(path), "{err}");
    }

    #[test]
    fn restricts_clients_to_their_vehicle_types_by_skills() {
        let mut doc = sample();
        doc.clients[0].vehicle_types = vec!["moto".into()];
        doc.clients[2].vehicle_types = vec!["moto".into(), "truck".into()];
        let p = build(&doc).unwrap();
        assert_eq!(p.skill_names.len(), 4);
        let serves = |t: usize, c: usize| p.vehicle_types[t].skills.covers(p.clients[c].skills);
        // C0001 on the motorcycle only; C0002 (hazmat) still by its skill; C0003 needs its
        // narrow-lane skill whatever its list says.
        assert_eq!((serves(0, 0), serves(1, 0)), (false, true));
        assert_eq!((serves(0, 1), serves(1, 1)), (true, false));
        assert_eq!((serves(0, 2), serves(1, 2)), (false, true));
        fails_at(|d| d.clients[1].vehicle_types = vec!["van".into()], "clients[1].vehicle_types[0]", "unknown_name");
    }

    #[test]
    fn makes_a_group_of_a_customers_alternatives() {
        let mut doc = sample();
        doc.clients[0].group = Some("王家".into());
        let mut other = doc.clients[0].clone();
        other.id = "C0001-shop".into();
        other.lat = 25.0400;
        doc.clients.push(other);
        let p = build(&doc).unwrap();
        assert_eq!(p.groups, vec![Group { clients: vec![0, 3], required: true }]);
        assert!(!p.clients[0].required && !p.clients[3].required && p.clients[1].required);
        // Served once: the search picks one address, the other is left out for that reason.
        let out = crate::search::solve(&p, &crate::search::Environment { time_limit: None, max_iterations: Some(200), ..Default::default() });
        let report = crate::check::check(&p, &out.solution);
        assert!(report.is_feasible(), "{:?}", report.violations);
        let served: Vec<usize> = out.solution.routes.iter().flat_map(|r| r.visits()).filter(|c| [0, 3].contains(c)).collect();
        assert_eq!(served.len(), 1, "{served:?}");
        assert!(out.solution.unassigned.iter().any(|u| [0, 3].contains(&u.client) && u.reason == crate::solution::UnassignedReason::GroupServed));
        fails_at(
            |d| {
                d.clients[0].group = Some("x".into());
                d.clients[2].group = Some("x".into());
            },
            "clients[2].required",
            "mixed_group",
        );
    }

    #[test]
    fn builds_the_sample_in_internal_units() {
        let (_, p) = parse(SAMPLE).unwrap();
        assert_eq!(p.num_locations(), 5);
        assert_eq!(p.dimensions, 3);
        assert_eq!(p.skill_names, vec!["hazmat_permit".to_string(), "narrow_lane".to_string()]);
        let c0 = &p.clients[0];
        assert_eq!(c0.location, 2);
        assert_eq!(c0.delivery, vec![1, 0, 40]);
        assert_eq!(c0.pickup, vec![1, 0, 20]);
        assert_eq!(c0.service_duration, 300);
        // Given afternoon first, stored sorted.
        assert_eq!(c0.time_windows, vec![TimeWindow::new(8 * 3600, 12 * 3600), TimeWindow::new(13 * 3600, 18 * 3600)]);
        assert_eq!(p.clients[1].release_time, 10 * 3600);
        assert_eq!(p.clients[1].skills, Skills(1));
        assert_eq!(p.clients[1].time_windows, vec![TimeWindow::new(0, DAY_SECONDS)]);
        assert_eq!((p.clients[2].required, p.clients[2].prize, p.clients[2].service_duration), (false, 35_050_000, 390));
        let truck = &p.vehicle_types[0];
        assert_eq!(truck.capacity, vec![30, 10, 900]);
        assert_eq!((truck.shift.early, truck.shift.late), (8 * 3600, 18 * 3600));
        assert_eq!((truck.fixed_cost, truck.unit_distance_cost, truck.unit_duration_cost), (120_000_000, 800, 6944));
        assert_eq!((truck.max_duration, truck.max_trips, truck.reload_depots.clone()), (UNLIMITED, 3, vec![0]));
        let moto = &p.vehicle_types[1];
        assert_eq!((moto.start_depot, moto.end_depot, moto.profile), (1, 1, 1));
        assert_eq!((moto.shift.early, moto.shift.late), (7 * 3600 + 1800, 19 * 3600));
        assert_eq!((moto.max_duration, moto.max_distance), (480 * 60, 120_000));
        assert_eq!(p.depots[0].reload_duration, 900);
        assert_eq!(p.locations[2], Location { x: 121.5654, y: 25.0330 });
    }

    #[test]
    fn computes_road_distances_and_durations_from_coordinates() {
        let mut doc = sample();
        // Taipei 101 and Taipei Main Station: about 5 km apart as the crow flies.
        (doc.clients[0].lat, doc.clients[0].lon) = (25.033976, 121.564472);
        (doc.clients[1].lat, doc.clients[1].lon) = (25.047924, 121.517081);
        let p = build(&doc).unwrap();
        let crow = p.profiles[1].distance.get(2, 3);
        assert!((4_800..5_200).contains(&crow), "{crow}");
        assert_eq!(p.profiles[1].distance.get(3, 2), crow);
        // Trucks: detour 1.3 at 24 km/h.
        let road = p.profiles[0].distance.get(2, 3);
        assert!((road - (crow as f64 * 1.3).round() as i64).abs() <= 1);
        let secs = p.profiles[0].duration.get(2, 3);
        assert!((secs - (road as f64 / (24.0 / 3.6)).round() as i64).abs() <= 1, "{secs}");
        assert_eq!(p.profiles[0].distance.get(2, 2), 0);
    }

    #[test]
    fn uses_explicit_matrices_and_checks_their_shape() {
        let mut doc = sample();
        let m: Vec<Vec<i64>> = (0..5).map(|a| (0..5).map(|b| (a as i64 - b as i64).abs() * 100).collect()).collect();
        doc.profiles[0] = JsonProfile {
            name: "truck".into(),
            speed_kmh: None,
            detour_factor: None,
            distance_m: Some(m.clone()),
            duration_s: Some(m.clone()),
            rush_hours: Vec::new(),
        };
        let p = build(&doc).unwrap();
        assert_eq!(p.profiles[0].distance.get(4, 1), 300);
        let mut bad = m.clone();
        bad[3].pop();
        fails_at(|d| d.profiles[0].distance_m = Some(bad), "profiles[0].distance_m[3]", "matrix_size");
        fails_at(|d| d.profiles[0].duration_s = Some(m[..4].to_vec()), "profiles[0].duration_s", "matrix_size");
        let mut neg = m.clone();
        neg[1][2] = -5;
        fails_at(|d| d.profiles[0].duration_s = Some(neg), "profiles[0].duration_s[1][2]", "out_of_range");
        fails_at(|d| d.profiles[1].speed_kmh = None, "profiles[1].speed_kmh", "missing_field");
    }

    #[test]
    fn reads_rush_hours_and_refuses_bands_that_make_no_sense() {
        use crate::io::json::JsonRushHour;
        let band = |start: &str, end: &str, speed_percent| JsonRushHour { start: start.into(), end: end.into(), speed_percent };
        let mut doc = sample();
        doc.profiles[0].rush_hours = vec![band("07:00", "09:00", 55), band("17:00", "19:30", 40)];
        let p = build(&doc).unwrap();
        let bands = p.profiles[0].congestion.bands();
        assert_eq!(bands.len(), 2);
        assert_eq!((bands[1].from, bands[1].to, bands[1].speed_percent), (17 * 3600, 19 * 3600 + 1800, 40));
        assert!(p.profiles[1].congestion.is_free_flow());
        // A 10-minute leg leaving at 08:00 takes 10 / 0.55 minutes.
        let free = p.profiles[0].duration.get(2, 3);
        assert_eq!(p.profiles[0].congestion.travel(8 * 3600, free), (free * 100 + 54) / 55);
        fails_at(|d| d.profiles[0].rush_hours = vec![band("09:00", "07:00", 50)], "profiles[0].rush_hours[0].end", "bad_time_window");
        fails_at(|d| d.profiles[0].rush_hours = vec![band("07:00", "09:00", 100)], "profiles[0].rush_hours[0].speed_percent", "out_of_range");
        fails_at(|d| d.profiles[0].rush_hours = vec![band("07:00", "09:00", 0)], "profiles[0].rush_hours[0].speed_percent", "out_of_range");
        fails_at(
            |d| d.profiles[0].rush_hours = vec![band("07:00", "09:00", 50), band("08:30", "10:00", 70)],
            "profiles[0].rush_hours[1].start",
            "bad_time_window",
        );
        fails_at(|d| d.profiles[0].rush_hours = vec![band("7am", "09:00", 50)], "profiles[0].rush_hours[0].start", "bad_time");
    }

    #[test]
    fn rejects_unknown_names_with_their_path() {
        fails_at(|d| d.vehicle_types[1].start_depot = "TP".into(), "vehicle_types[1].start_depot", "unknown_name");
        fails_at(|d| d.vehicle_types[0].reload_depots.push("TP".into()), "vehicle_types[0].reload_depots[1]", "unknown_name");
        fails_at(|d| d.vehicle_types[0].profile = "van".into(), "vehicle_types[0].profile", "unknown_name");
        fails_at(|d| _ = d.clients[2].delivery.insert("cylinders_4kg".into(), 1), "clients[2].delivery.cylinders_4kg", "unknown_name");
        fails_at(|d| _ = d.vehicle_types[0].capacity.insert("volume".into(), 1), "vehicle_types[0].capacity.volume", "unknown_name");
        fails_at(|d| d.clients[1].skills.push("forklift".into()), "clients[1].skills[1]", "unknown_name");
        fails_at(|d| d.clients[1].id = "C0001".into(), "clients[1].id", "duplicate_id");
        fails_at(|d| d.dimensions.push("weight_kg".into()), "dimensions[3]", "duplicate_id");
    }

    #[test]
    fn rejects_bad_times_dates_and_windows_with_their_path() {
        fails_at(|d| d.date = "2026-02-30".into(), "date", "bad_date");
        fails_at(|d| d.depots[1].close = "25:00".into(), "depots[1].close", "bad_time");
        fails_at(|d| d.depots[0].open = "20:00".into(), "depots[0].close", "bad_time_window");
        fails_at(|d| d.vehicle_types[0].shift_start = Some("8h".into()), "vehicle_types[0].shift_start", "bad_time");
        fails_at(|d| d.clients[1].release_time = Some("10:75".into()), "clients[1].release_time", "bad_time");
        let w = |s: &str, e: &str| JsonTimeWindow { start: s.into(), end: e.into() };
        fails_at(|d| d.clients[0].time_windows[1] = w("12:00", "09:00"), "clients[0].time_windows[1]", "bad_time_window");
        fails_at(|d| d.clients[0].time_windows.push(w("11:00", "12:30")), "clients[0].time_windows[2]", "bad_time_window");
        fails_at(|d| d.clients[0].time_windows[0] = w("12:00", "14:00"), "clients[0].time_windows[0]", "bad_time_window");
        fails_at(|d| d.clients[0].time_windows[1].end = "noon".into(), "clients[0].time_windows[1].end", "bad_time");
    }

    #[test]
    fn rejects_negative_and_out_of_range_numbers_with_their_path() {
        fails_at(|d| _ = d.clients[2].pickup.insert("weight_kg".into(), -20), "clients[2].pickup.weight_kg", "negative_value");
        fails_at(|d| d.clients[0].service_minutes = -1.0, "clients[0].service_minutes", "negative_value");
        fails_at(|d| d.clients[2].prize = Some(f64::INFINITY), "clients[2].prize", "out_of_range");
        fails_at(|d| d.vehicle_types[0].cost_per_km = -8.0, "vehicle_types[0].cost_per_km", "negative_value");
        fails_at(|d| d.vehicle_types[1].max_distance_km = Some(1e12), "vehicle_types[1].max_distance_km", "out_of_range");
        fails_at(|d| d.vehicle_types[1].count = usize::MAX, "vehicle_types[1].count", "out_of_range");
        fails_at(|d| d.clients[1].lat = 91.0, "clients[1].lat", "out_of_range");
        fails_at(|d| d.depots[0].lon = f64::NAN, "depots[0].lon", "out_of_range");
        fails_at(|d| d.profiles[0].detour_factor = Some(0.5), "profiles[0].detour_factor", "out_of_range");
        fails_at(|d| d.vehicle_types[1].max_trips = 2, "vehicle_types[1].max_trips", "bad_trips");
        fails_at(|d| d.vehicle_types[0].max_trips = 0, "vehicle_types[0].max_trips", "bad_trips");
    }

    #[test]
    fn rejects_empty_lists() {
        fails_at(|d| d.dimensions.clear(), "dimensions", "empty");
        fails_at(|d| d.depots.clear(), "depots", "empty");
        fails_at(|d| d.profiles.clear(), "profiles", "empty");
        fails_at(|d| d.vehicle_types.iter_mut().for_each(|v| v.count = 0), "vehicle_types", "no_vehicle");
    }

    #[test]
    fn names_an_unservable_client_by_path_and_id() {
        let mut doc = sample();
        doc.clients[1].delivery.insert("weight_kg".into(), 5_000);
        let err = build(&doc).unwrap_err();
        assert_eq!((err.path(), err.code()), (Some("clients[1]"), "unservable_client"));
        assert!(err.to_string().contains("C0002"), "{err}");
        // A narrow-lane stop the motorcycle cannot reach in its only window is unservable too.
        let mut doc = sample();
        doc.clients[2].required = true;
        doc.clients[2].time_windows = vec![JsonTimeWindow { start: "05:00".into(), end: "06:00".into() }];
        let err = build(&doc).unwrap_err();
        assert_eq!(err.path(), Some("clients[2]"), "{err}");
    }

    #[test]
    fn builds_pairs_between_clients_named_by_id() {
        let pair =
            |pickup: &str, delivery: &str| JsonPair { pickup: pickup.into(), delivery: delivery.into(), amount: [("cylinders_20kg".to_owned(), 2)].into() };
        let mut doc = sample();
        doc.pairs.push(pair("C0002", "C0001"));
        let p = build(&doc).unwrap();
        assert_eq!(p.pairs, vec![Pair { pickup: 1, delivery: 0, amount: vec![2, 0, 0] }]);
        fails_at(|d| d.pairs.push(pair("C0001", "C9999")), "pairs[0].delivery", "unknown_name");
        // C0003 is optional, C0001 required.
        fails_at(|d| d.pairs.push(pair("C0003", "C0001")), "pairs[0]", "bad_pair");
    }

    #[test]
    fn rejects_more_than_64_skills() {
        let mut doc = sample();
        doc.vehicle_types[0].skills = (0..65).map(|k| format!("s{k}")).collect();
        let err = build(&doc).unwrap_err();
        assert_eq!((err.path(), err.code()), (Some("vehicle_types[0].skills[64]"), "too_many_skills"));
    }
}
