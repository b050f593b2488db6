//! Depots and clients of a VRPLIB instance: `DIMENSION`, `DEPOT_SECTION` and the per-node
//! sections (coordinates, demands, backhauls, time windows, service and release times, prizes).
//!
//! Node `k` of the file (1-based) is location `k - 1`; depots are nodes `1..=D`, clients the
//! other nodes in order.

use super::document::{Document, Section};
use super::numbers::{Numbers, MAX_DIMENSION};
use crate::error::ReadError;
use crate::io::Rounding;
use crate::model::{Client, Depot, Group, Load, Location, Skills, TimeWindow};

/// The nodes of an instance.
pub(super) struct Nodes {
    /// Coordinates per location; empty when the file has no `NODE_COORD_SECTION`.
    pub coordinates: Vec<Location>,
    /// Depots: nodes `1..=depots.len()`.
    pub depots: Vec<Depot>,
    /// Clients: the other nodes in order.
    pub clients: Vec<Client>,
    /// Capacity dimensions: the number of amounts per `DEMAND_SECTION` row.
    pub dimensions: usize,
}

/// Reads `DIMENSION` (required, `1..=MAX_DIMENSION`).
pub(super) fn dimension(doc: &Document<'_>, nums: Numbers<'_>) -> Result<usize, ReadError> {
    let spec = doc.spec("DIMENSION").ok_or_else(|| nums.err(0, "missing DIMENSION"))?;
    let n = nums.count(spec.line, spec.value, "DIMENSION", MAX_DIMENSION)?;
    if n == 0 {
        return Err(nums.err(spec.line, "DIMENSION must be at least 1"));
    }
    Ok(n)
}

/// Reads the depot count from `DEPOT_SECTION` (default: node 1 alone). Depots must be nodes
/// `1..=D` in order, as PyVRP requires; a `-1` ends the list.
pub(super) fn depot_count(doc: &Document<'_>, nums: Numbers<'_>, n: usize) -> Result<usize, ReadError> {
    let Some(section) = doc.section("DEPOT") else { return Ok(1) };
    let mut count = 0usize;
    let mut ended_on = None;
    for row in &section.rows {
        for &token in &row.fields {
            if let Some(end) = ended_on {
                return Err(nums.err(row.line, format!("DEPOT_SECTION continues after its -1 terminator (line {end})")));
            }
            let id = nums.integer(row.line, token, "DEPOT_SECTION node id")?;
            if id == -1 {
                ended_on = Some(row.line);
                continue;
            }
            if id < 1 || id as u64 > n as u64 {
                return Err(nums.err(row.line, format!("depot node {id} is out of range 1..={n}")));
            }
            if id as u64 != count as u64 + 1 {
                return Err(nums.err(row.line, format!("depot node {id} found where node {} was expected: depots must be nodes 1..=D in order", count + 1)));
            }
            count += 1;
        }
    }
    if count == 0 {
        return Err(nums.err(section.line, "DEPOT_SECTION lists no depot"));
    }
    Ok(count)
}

/// The section `name` checked to have one row per node with `columns` values (`None`: as many
/// as the first row, at least one).
fn node_section<'d, 'a>(doc: &'d Document<'a>, nums: Numbers<'_>, name: &str, n: usize, columns: Option<usize>) -> Result<Option<&'d Section<'a>>, ReadError> {
    let Some(section) = doc.section(name) else { return Ok(None) };
    section.check_ids(nums, n, "node")?;
    let columns = match columns {
        Some(c) => c,
        None => {
            let first = section.rows.first().map_or(0, |r| r.values().len());
            if first == 0 {
                let line = section.rows.first().map_or(section.line, |r| r.line);
                return Err(nums.err(line, format!("{} rows need at least one value after the id", section.title())));
            }
            first
        }
    };
    section.check_columns(nums, columns)?;
    Ok(Some(section))
}

/// One scaled value per node, from the scalar `key` (clients only; depots get 0) or the section
/// `key`; `None` when neither is given.
fn per_node_scaled(doc: &Document<'_>, nums: Numbers<'_>, key: &str, n: usize, depots: usize, r: Rounding) -> Result<Option<Vec<i64>>, ReadError> {
    let what = key.to_ascii_lowercase().replace('_', " ");
    if let Some(spec) = doc.spec(key) {
        let v = nums.scaled(spec.line, spec.value, key, r)?;
        return Ok(Some((0..n).map(|i| if i < depots { 0 } else { v }).collect()));
    }
    let Some(section) = node_section(doc, nums, key, n, Some(1))? else { return Ok(None) };
    let mut out = Vec::with_capacity(n);
    for row in &section.rows {
        out.push(nums.scaled(row.line, row.values().first().copied().unwrap_or(""), &what, r)?);
    }
    Ok(Some(out))
}

/// `MUTUALLY_EXCLUSIVE_GROUP_SECTION` (GVRP): rows `g c1 c2 ...` of client node ids, groups
/// numbered `1..` in order. Exactly one client of each group is served, so its clients become
/// optional and the group required (PyVRP's reading).
pub(super) fn groups(doc: &Document<'_>, nums: Numbers<'_>, nodes: &mut Nodes) -> Result<Vec<Group>, ReadError> {
    let Some(section) = doc.section("MUTUALLY_EXCLUSIVE_GROUP") else { return Ok(Vec::new()) };
    section.check_ids(nums, section.rows.len(), "group")?;
    let depots = nodes.depots.len();
    let clients = nodes.clients.len();
    let mut seen = vec![None; clients];
    let mut out = Vec::with_capacity(section.rows.len());
    for (g, row) in section.rows.iter().enumerate() {
        let mut members = Vec::with_capacity(row.values().len());
        for token in row.values() {
            let id = nums.integer(row.line, token, "group client")?;
            let Some(c) = usize::try_from(id).ok().and_then(|id| id.checked_sub(depots + 1)).filter(|&c| c < clients) else {
                return Err(nums.err(row.line, format!("group client {id} is not a client (clients are nodes {}..={})", depots + 1, depots + clients)));
            };
            if let Some(other) = seen[c].replace(g) {
                return Err(nums.err(row.line, format!("node {id} is in group {} and group {}", other + 1, g + 1)));
            }
            nodes.clients[c].required = false;
            members.push(c);
        }
        if members.is_empty() {
            return Err(nums.err(row.line, format!("group {} has no client", g + 1)));
        }
        out.push(Group { clients: members, required: true });
    }
    Ok(out)
}

/// Whether the file is a TSP (`TYPE : TSP`), the one family without `DEMAND_SECTION`.
fn is_tsp(doc: &Document<'_>) -> bool {
    doc.spec("TYPE").is_some_and(|s| s.value.eq_ignore_ascii_case("TSP"))
}

/// Non-negative integer amounts per node (`DEMAND`, `BACKHAUL`), `columns` per row.
fn amounts(section: &Section<'_>, nums: Numbers<'_>, what: &str) -> Result<Vec<Vec<Load>>, ReadError> {
    section.rows.iter().map(|row| row.values().iter().map(|t| nums.amount(row.line, t, what)).collect()).collect()
}

/// Reads all nodes of a file whose `DIMENSION` is `n` and whose first `depots` nodes are depots.
pub(super) fn read(doc: &Document<'_>, nums: Numbers<'_>, n: usize, depots: usize, r: Rounding) -> Result<Nodes, ReadError> {
    let coordinates = match node_section(doc, nums, "NODE_COORD", n, Some(2))? {
        None => Vec::new(),
        Some(section) => {
            let mut out = Vec::with_capacity(n);
            for row in &section.rows {
                let v = row.values();
                let x = nums.real(row.line, v.first().copied().unwrap_or(""), "x coordinate")?;
                let y = nums.real(row.line, v.get(1).copied().unwrap_or(""), "y coordinate")?;
                out.push(Location { x, y });
            }
            out
        }
    };

    let demand_name = if doc.section("DEMAND").is_some() { "DEMAND" } else { "LINEHAUL" };
    let demand = node_section(doc, nums, demand_name, n, None)?;
    // A TSP has no demands: one dimension, nothing delivered.
    if demand.is_none() && !is_tsp(doc) {
        return Err(nums.err(0, "missing DEMAND_SECTION"));
    }
    let dimensions = demand.and_then(|d| d.rows.first()).map_or(1, |r| r.values().len());
    let deliveries = match demand {
        Some(section) => amounts(section, nums, "demand")?,
        None => vec![vec![0; 1]; n],
    };
    let pickups = match doc.section("BACKHAUL") {
        None => vec![vec![0; dimensions]; n],
        Some(section) => {
            if let Some(row) = section.rows.iter().find(|r| r.values().len() != dimensions) {
                return Err(
                    nums.err(row.line, format!("BACKHAUL_SECTION rows need {dimensions} amounts (as DEMAND_SECTION has), found {}", row.values().len()))
                );
            }
            section.check_ids(nums, n, "node")?;
            amounts(section, nums, "backhaul amount")?
        }
    };

    let windows = match node_section(doc, nums, "TIME_WINDOW", n, Some(2))? {
        None => vec![TimeWindow::ALWAYS; n],
        Some(section) => {
            let mut out = Vec::with_capacity(n);
            for row in &section.rows {
                let v = row.values();
                let early = nums.scaled(row.line, v.first().copied().unwrap_or(""), "time window start", r)?;
                let late = nums.scaled(row.line, v.get(1).copied().unwrap_or(""), "time window end", r)?;
                if early > late {
                    return Err(nums.err(row.line, format!("time window [{early}, {late}] (after scaling) ends before it starts")));
                }
                out.push(TimeWindow::new(early, late));
            }
            out
        }
    };
    let service = per_node_scaled(doc, nums, "SERVICE_TIME", n, depots, r)?;
    let release = per_node_scaled(doc, nums, "RELEASE_TIME", n, 0, r)?;
    let prizes = match node_section(doc, nums, "PRIZE", n, Some(1))? {
        None => None,
        Some(section) => {
            Some(section.rows.iter().map(|row| nums.scaled(row.line, row.values().first().copied().unwrap_or(""), "prize", r)).collect::<Result<Vec<_>, _>>()?)
        }
    };

    let at = |v: &Option<Vec<i64>>, i: usize| v.as_ref().and_then(|v| v.get(i).copied()).unwrap_or(0);
    let window = |i: usize| windows.get(i).copied().unwrap_or(TimeWindow::ALWAYS);
    let depot_list = (0..depots).map(|i| Depot { name: (i + 1).to_string(), location: i, time_window: window(i), reload_duration: 0 }).collect();
    let mut clients = Vec::with_capacity(n.saturating_sub(depots));
    for (i, (delivery, pickup)) in deliveries.into_iter().zip(pickups).enumerate().skip(depots) {
        let prize = at(&prizes, i);
        clients.push(Client {
            name: (i + 1).to_string(),
            location: i,
            delivery,
            pickup,
            service_duration: at(&service, i),
            time_windows: vec![window(i)],
            release_time: at(&release, i),
            // Benchmark convention: a client without prize must be served.
            required: prize == 0,
            prize,
            skills: Skills::NONE,
        });
    }
    Ok(Nodes { coordinates, depots: depot_list, clients, dimensions })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn nums() -> Numbers<'static> {
        Numbers { path: Path::new("t.vrp") }
    }

    fn nodes(text: &str, r: Rounding) -> Result<Nodes, ReadError> {
        let doc = Document::split(text, nums())?;
        let n = dimension(&doc, nums())?;
        let d = depot_count(&doc, nums(), n)?;
        read(&doc, nums(), n, d, r)
    }

    const BASE: &str = "DIMENSION : 3\nSERVICE_TIME : 1.25\nNODE_COORD_SECTION\n1 0 0\n2 3 4\n3 -1.5 2\n\
DEMAND_SECTION\n1 0 0\n2 4 1\n3 2 0\nTIME_WINDOW_SECTION\n1 0 100\n2 10.05 20\n3 0 50\nDEPOT_SECTION\n1\n-1\nEOF\n";

    #[test]
    fn reads_clients_with_scaled_times_and_unscaled_amounts() {
        let nodes = nodes(BASE, Rounding::Dimacs).unwrap();
        assert_eq!(nodes.dimensions, 2);
        assert_eq!(nodes.depots.len(), 1);
        assert_eq!(nodes.depots[0].time_window, TimeWindow::new(0, 1000));
        let c = &nodes.clients[0];
        assert_eq!((c.location, c.delivery.clone(), c.pickup.clone()), (1, vec![4, 1], vec![0, 0]));
        assert_eq!(c.time_windows, vec![TimeWindow::new(100, 200)]);
        assert_eq!(c.service_duration, 12);
        assert!(c.required);
        assert_eq!(nodes.coordinates[2], Location { x: -1.5, y: 2.0 });
    }

    #[test]
    fn defaults_without_optional_sections() {
        let nodes = nodes("DIMENSION: 2\nDEMAND_SECTION\n1 0\n2 3\n", Rounding::Round).unwrap();
        assert!(nodes.coordinates.is_empty());
        assert_eq!(nodes.clients[0].time_windows, vec![TimeWindow::ALWAYS]);
        assert_eq!(nodes.clients[0].service_duration, 0);
    }

    #[test]
    fn reads_prizes_and_marks_prized_clients_optional() {
        let text = "DIMENSION: 3\nDEMAND_SECTION\n1 0\n2 3\n3 1\nPRIZE_SECTION\n1 0\n2 0\n3 7\n";
        let nodes = nodes(text, Rounding::Dimacs).unwrap();
        assert!(nodes.clients[0].required);
        assert!(!nodes.clients[1].required);
        assert_eq!(nodes.clients[1].prize, 70);
    }

    #[test]
    fn rejects_bad_depot_lists() {
        let base = "DIMENSION: 3\nDEMAND_SECTION\n1 0\n2 3\n3 1\nDEPOT_SECTION\n";
        for (depots, line) in [("2\n-1\n", 7), ("1\n3\n", 8), ("4\n", 7), ("-1\n", 6), ("1\n-1\n2\n", 9)] {
            let e = nodes(&format!("{base}{depots}"), Rounding::Round).err().unwrap();
            assert_eq!(e.line, line, "{depots:?}: {e}");
        }
        assert_eq!(nodes(&format!("{base}1 2\n-1\n"), Rounding::Round).unwrap().depots.len(), 2);
    }

    #[test]
    fn rejects_inconsistent_sections() {
        let cases = [
            ("DIMENSION: 2\nDEMAND_SECTION\n1 0\n", 3),
            ("DIMENSION: 2\nDEMAND_SECTION\n1 0\n2 -3\n", 4),
            ("DIMENSION: 2\nDEMAND_SECTION\n1 0\n2 3 4\n", 4),
            ("DIMENSION: 2\nDEMAND_SECTION\n2 0\n1 3\n", 3),
            ("DIMENSION: 2\nDEMAND_SECTION\n1 0\n2 3\nBACKHAUL_SECTION\n1 0\n2 0 1\n", 7),
            ("DIMENSION: 2\nDEMAND_SECTION\n1 0\n2 3\nTIME_WINDOW_SECTION\n1 0 9\n2 5 4\n", 7),
            ("DIMENSION: 2\nDEMAND_SECTION\n1 0\n2 3\nNODE_COORD_SECTION\n1 0 nan\n2 1 1\n", 6),
            ("DIMENSION: 2\nSERVICE_TIME: -2\nDEMAND_SECTION\n1 0\n2 3\n", 2),
            ("DIMENSION: 0\n", 1),
            ("DIMENSION: 1000000000\n", 1),
            ("NAME: x\n", 0),
            ("DIMENSION: 2\n", 0),
        ];
        for (text, line) in cases {
            let e = nodes(text, Rounding::Round).err().unwrap();
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
    }
}
