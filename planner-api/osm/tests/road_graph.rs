//! The road graph on a hand-made extract (`tests/fixtures/taipei-block.osm`), turned into PBF by
//! Debian's `osmium-tool` in each encoding it writes: dense nodes or plain ones, zlib or raw.

use luckygas_osm::{haversine_m, pbf, Element, GraphError, PbfError, RoadGraph, RoadSpeeds, RouteError, Select, Table, Vehicle};
use std::path::Path;
use std::process::Command;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/taipei-block.osm");

/// The fixture as PBF, written by osmium with `format` (e.g. `pbf,pbf_dense_nodes=false`).
fn pbf_bytes(format: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("block.osm.pbf");
    let status = Command::new("osmium")
        .args(["cat", FIXTURE, "--no-progress", "-f", format, "-o"])
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("cannot run osmium ({e}): install Debian's osmium-tool (.ci/run does)"));
    assert!(status.success(), "osmium cat failed: {status}");
    std::fs::read(&out).expect("osmium's output")
}

/// The fixture's node `id`, `(lat, lon)`.
fn node(id: i64) -> (f64, f64) {
    match id {
        1 => (25.040, 121.540),
        2 => (25.040, 121.542),
        3 => (25.040, 121.544),
        4 => (25.042, 121.540),
        5 => (25.042, 121.542),
        6 => (25.042, 121.544),
        7 => (25.0385, 121.542),
        8 => (25.0435, 121.542),
        9 => (25.0435, 121.544),
        10 => (25.0435, 121.540),
        11 => (25.050, 121.550),
        _ => panic!("no node {id} in the fixture"),
    }
}

/// Metres along the fixture's nodes `path`.
fn along(path: &[i64]) -> f64 {
    path.windows(2).map(|w| haversine_m(node(w[0]), node(w[1]))).sum()
}

fn graph() -> RoadGraph {
    RoadGraph::from_pbf_bytes(&pbf_bytes("pbf"), &RoadSpeeds::taipei()).expect("graph")
}

fn table(g: &RoadGraph, v: Vehicle, from: &[i64], to: &[i64], snap_m: f64) -> Result<Table, RouteError> {
    let f: Vec<_> = from.iter().map(|&i| node(i)).collect();
    let t: Vec<_> = to.iter().map(|&i| node(i)).collect();
    g.table(v, &f, &t, snap_m)
}

/// Seconds to drive `metres` at `kmh`.
fn secs(metres: f64, kmh: f64) -> f64 {
    metres / (kmh / 3.6)
}

#[derive(Debug, PartialEq)]
enum Owned {
    Node(i64, f64, f64, Vec<(String, String)>),
    Way(i64, Vec<i64>, Vec<(String, String)>),
}

fn elements(bytes: &[u8]) -> Vec<Owned> {
    let tags = |t: &[(&str, &str)]| t.iter().map(|&(k, v)| (k.to_owned(), v.to_owned())).collect();
    let mut out = Vec::new();
    let summary = pbf::read(bytes, Select::ALL, |e| match e {
        Element::Node(n) => out.push(Owned::Node(n.id, n.lat, n.lon, tags(n.tags))),
        Element::Way(w) => out.push(Owned::Way(w.id, w.refs.to_vec(), tags(w.tags))),
    })
    .expect("a valid extract");
    assert_eq!((summary.nodes, summary.ways), (15, 11));
    out
}

#[test]
fn every_encoding_osmium_writes_reads_the_same() {
    let dense = elements(&pbf_bytes("pbf"));
    for format in ["pbf,pbf_dense_nodes=false", "pbf,pbf_compression=none", "pbf,pbf_dense_nodes=false,pbf_compression=none,add_metadata=false"] {
        assert_eq!(elements(&pbf_bytes(format)), dense, "{format}");
    }
    let Some(Owned::Node(2, lat, lon, tags)) = dense.iter().find(|e| matches!(e, Owned::Node(2, ..))) else { panic!("node 2") };
    assert!((lat - 25.040).abs() < 1e-9 && (lon - 121.542).abs() < 1e-9, "{lat} {lon}");
    assert_eq!(tags, &[("highway".to_owned(), "traffic_signals".to_owned())]);
    let Some(Owned::Way(101, refs, tags)) = dense.iter().find(|e| matches!(e, Owned::Way(101, ..))) else { panic!("way 101") };
    assert_eq!(refs, &[1, 2, 3]);
    assert!(tags.contains(&("name".to_owned(), "信義路".to_owned())), "{tags:?}");
}

#[test]
fn one_way_streets_are_driven_one_way() {
    let g = graph();
    let t = table(&g, Vehicle::Truck, &[3, 6], &[3, 6], 5.0).expect("table");
    // North along the one-way street; back south round the block: 6-5-2-3.
    assert_eq!(t.metres[0][1], along(&[3, 6]).round() as i64);
    assert_eq!(t.seconds[0][1], secs(along(&[3, 6]), 18.0).round() as i64);
    assert_eq!(t.metres[1][0], along(&[6, 5, 2, 3]).round() as i64);
    let expected = secs(along(&[6, 5, 2]), 18.0) + secs(along(&[2, 3]), 35.0);
    assert!((t.seconds[1][0] as f64 - expected).abs() <= 1.0, "{} against {expected}", t.seconds[1][0]);
    assert_eq!((t.metres[0][0], t.seconds[1][1]), (0, 0));
}

#[test]
fn motorcycles_keep_off_freeways_and_trucks_off_narrow_lanes() {
    let g = graph();
    // The truck takes the freeway (longer, quicker); the motorcycle the primary road.
    let truck = table(&g, Vehicle::Truck, &[1], &[3], 5.0).expect("truck");
    assert_eq!(truck.metres[0][0], along(&[1, 7, 3]).round() as i64);
    assert!((truck.seconds[0][0] as f64 - secs(along(&[1, 7, 3]), 70.0)).abs() <= 1.0, "{truck:?}");
    let moto = table(&g, Vehicle::Motorcycle, &[1], &[3], 5.0).expect("motorcycle");
    assert_eq!(moto.metres[0][0], along(&[1, 2, 3]).round() as i64);
    assert!(moto.seconds[0][0] > truck.seconds[0][0] && moto.metres[0][0] < truck.metres[0][0]);
    assert_eq!(g.stats(Vehicle::Truck).nodes, 7, "1-7, not the lane's end 8");
    assert_eq!(g.stats(Vehicle::Motorcycle).nodes, 7, "1-6 and 8, not the freeway's 7");
    // The lane's end: a motorcycle drives there; a truck stops at its mouth, 167 m away, and
    // the rest is off its graph (walked at service-road speed) or out of its snapping radius.
    let lane = table(&g, Vehicle::Motorcycle, &[8], &[5], 5.0).expect("lane");
    assert_eq!(lane.metres[0][0], along(&[8, 5]).round() as i64);
    assert!(matches!(table(&g, Vehicle::Truck, &[8], &[5], 100.0), Err(RouteError::OffGraph { index: 0, .. })));
    let walked = table(&g, Vehicle::Truck, &[8], &[5], 300.0).expect("snapped to 5");
    assert_eq!(walked.metres[0][0], along(&[8, 5]).round() as i64);
    assert_eq!(walked.seconds[0][0], secs(along(&[8, 5]), 10.0).round() as i64);
}

#[test]
fn footways_private_roads_and_islands_are_left_out() {
    let g = graph();
    for v in Vehicle::ALL {
        assert_eq!(g.stats(v).dropped_nodes, 2, "the island 11-12 of {v:?}");
        for lonely in [9, 10, 11] {
            assert!(matches!(table(&g, v, &[1], &[lonely], 20.0), Err(RouteError::OffGraph { index: 0, .. })), "{v:?} {lonely}");
        }
    }
    assert!(matches!(g.table(Vehicle::Truck, &[(f64::NAN, 121.5)], &[], 20.0), Err(RouteError::BadPoint { index: 0, .. })));
    // Rows without columns, and columns without rows.
    let empty = g.table(Vehicle::Truck, &[node(1), node(2)], &[], 20.0).expect("rows");
    assert_eq!(empty.metres, vec![Vec::<i64>::new(); 2]);
    assert!(g.table(Vehicle::Truck, &[], &[node(1)], 20.0).expect("columns").metres.is_empty());
}

#[test]
fn a_whole_matrix_agrees_with_its_pairs() {
    let g = graph();
    let ids = [1, 2, 3, 4, 5, 6];
    let whole = table(&g, Vehicle::Motorcycle, &ids, &ids, 5.0).expect("whole");
    for (i, &a) in ids.iter().enumerate() {
        for (j, &b) in ids.iter().enumerate() {
            let one = table(&g, Vehicle::Motorcycle, &[a], &[b], 5.0).expect("pair");
            assert_eq!((one.metres[0][0], one.seconds[0][0]), (whole.metres[i][j], whole.seconds[i][j]));
            // No pair beats the straight line.
            assert!(whole.metres[i][j] as f64 >= haversine_m(node(a), node(b)) - 1.0);
        }
    }
}

#[test]
fn rush_hour_bands_follow_the_hourly_speeds() {
    let g = graph();
    // Taipei's default peaks: between the arterials' and the streets' shares of free flow.
    let truck = g.rush_hours(Vehicle::Truck);
    assert_eq!(truck.iter().map(|b| (b.start_s / 3600, b.end_s / 3600)).collect::<Vec<_>>(), [(7, 9), (17, 19)]);
    assert!((56..80).contains(&truck[0].speed_percent) && (51..80).contains(&truck[1].speed_percent), "{truck:?}");
    assert!(truck[1].speed_percent < truck[0].speed_percent);
    // One hourly profile on every road: the bands are its shares exactly.
    let classes = ["motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential", "living_street", "service", "track"];
    let per_class: Vec<String> = classes.iter().map(|c| format!(r#""{c}": {{"kmh": 40, "hours": {{"12": 20, "13": 30}}}}"#)).collect();
    let speeds = RoadSpeeds::from_json(&format!(r#"{{"truck": {{{}}}}}"#, per_class.join(","))).expect("speeds");
    let g = RoadGraph::from_pbf_bytes(&pbf_bytes("pbf"), &speeds).expect("graph");
    let bands: Vec<_> = g.rush_hours(Vehicle::Truck).iter().map(|b| (b.start_s, b.end_s, b.speed_percent)).collect();
    assert_eq!(bands, [(12 * 3600, 13 * 3600, 50), (13 * 3600, 14 * 3600, 75)]);
    assert_eq!(g.rush_hours(Vehicle::Motorcycle).len(), 2, "motorcycles keep Taipei's peaks");
}

#[test]
fn a_damaged_extract_is_an_error_never_a_panic() {
    let bytes = pbf_bytes("pbf");
    // Cut anywhere inside: an error naming the cut, or (at a blob's end) fewer elements.
    for cut in 1..bytes.len() {
        match pbf::read(&bytes[..cut], Select::ALL, |_| {}) {
            Err(PbfError::Truncated { .. }) => {}
            Ok(s) if s.nodes + s.ways < 26 => {}
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    // Every single byte changed: whatever the reader says, it says it without panicking, and a
    // graph from it is built or refused with an error.
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = bytes.clone();
            bad[i] ^= flip;
            let _ = pbf::read(&bad[..], Select::ALL, |_| {});
            let _ = RoadGraph::from_pbf_bytes(&bad, &RoadSpeeds::taipei());
        }
    }
    assert!(matches!(RoadGraph::from_pbf_bytes(&[], &RoadSpeeds::taipei()), Err(GraphError::NoRoads("truck"))));
}

#[test]
fn reads_from_a_file() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("block.osm.pbf");
    std::fs::write(&path, pbf_bytes("pbf")).expect("write");
    let g = RoadGraph::from_pbf_file(&path, &RoadSpeeds::taipei()).expect("graph");
    assert_eq!(g.stats(Vehicle::Truck).nodes, 7);
    assert!(matches!(RoadGraph::from_pbf_file(Path::new("/nonexistent/x.pbf"), &RoadSpeeds::taipei()), Err(GraphError::Pbf(PbfError::Io(_)))));
}
