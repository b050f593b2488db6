//! The road graph at city size: how long reading an extract and computing travel matrices take,
//! and how much memory they hold.
//!
//! No real extract is at hand offline, so it writes a city of its own as OSM XML and has
//! Debian's `osmium-tool` turn it into PBF, as a real extract would come: a grid of `--size` ×
//! `--size` street corners 100 m apart around Taipei's centre, every tenth street a two-way
//! primary road, every fifth (the others) a secondary one, the rest residential streets of which
//! every other is one-way (alternating direction) and every seventh block a 2 m lane (motorcycles
//! only). Then it reads the PBF (`RoadGraph::from_pbf_file`, Taipei's speeds), prints each
//! vehicle's nodes, edges and rush-hour bands, and times square matrices of `--points` random
//! stops (fixed seed) for trucks, on all cores (rayon) and on one, with the process's peak memory.
//!
//!     cargo run --release -p benches --example road_graph -- --size 300 --points 100,300

use luckygas_osm::{RoadGraph, RoadSpeeds, Vehicle};
use std::fmt::Write as _;
use std::time::Instant;

/// Peak resident memory of this process, MiB (`VmHWM`).
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The city as OSM XML.
fn city(size: usize) -> String {
    let (lat0, lon0, dlat, dlon) = (25.00, 121.50, 0.0009, 0.001);
    let id = |r: usize, c: usize| r * size + c + 1;
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<osm version=\"0.6\" generator=\"benches/examples/road_graph.rs\">\n");
    for r in 0..size {
        for c in 0..size {
            let _ = writeln!(xml, "  <node id=\"{}\" lat=\"{:.7}\" lon=\"{:.7}\"/>", id(r, c), lat0 + dlat * r as f64, lon0 + dlon * c as f64);
        }
    }
    let mut way = 1;
    let class = |k: usize| {
        if k.is_multiple_of(10) {
            "primary"
        } else if k.is_multiple_of(5) {
            "secondary"
        } else {
            "residential"
        }
    };
    // Streets along rows and columns, a way per block so that lanes and one-ways can differ.
    for (k, horizontal) in (0..size).flat_map(|k| [(k, true), (k, false)]) {
        for step in 0..size - 1 {
            let (a, b) = if horizontal { (id(k, step), id(k, step + 1)) } else { (id(step, k), id(step + 1, k)) };
            let mut tags = format!("<tag k=\"highway\" v=\"{}\"/>", class(k));
            if class(k) == "residential" {
                if k % 2 == 1 {
                    tags.push_str(if k % 4 == 1 { "<tag k=\"oneway\" v=\"yes\"/>" } else { "<tag k=\"oneway\" v=\"-1\"/>" });
                } else if (step + k) % 7 == 3 {
                    tags = "<tag k=\"highway\" v=\"service\"/><tag k=\"width\" v=\"2\"/>".to_owned();
                }
            }
            let _ = writeln!(xml, "  <way id=\"{way}\"><nd ref=\"{a}\"/><nd ref=\"{b}\"/>{tags}</way>");
            way += 1;
        }
    }
    xml.push_str("</osm>\n");
    xml
}

fn main() {
    let mut size = 300usize;
    let mut points = vec![100usize, 300];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--size" => size = args.next().and_then(|v| v.parse().ok()).filter(|&s| s >= 2).expect("--size N (at least 2)"),
            "--points" => points = args.next().map(|v| v.split(',').filter_map(|p| p.parse().ok()).collect()).expect("--points N,M"),
            other => panic!("unknown argument {other}; expected --size N --points N,M"),
        }
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let (xml, pbf) = (dir.path().join("city.osm"), dir.path().join("city.osm.pbf"));
    std::fs::write(&xml, city(size)).expect("write the city");
    let status =
        std::process::Command::new("osmium").args(["cat", "--no-progress", "-o"]).arg(&pbf).arg(&xml).status().expect("run osmium (Debian's osmium-tool)");
    assert!(status.success(), "osmium cat failed");
    std::fs::remove_file(&xml).expect("remove the XML");
    let bytes = std::fs::metadata(&pbf).expect("PBF").len();
    println!("city: {size} x {size} corners, {} road nodes; PBF {:.1} MiB", size * size, bytes as f64 / (1024.0 * 1024.0));
    let before = peak_mib();
    let t = Instant::now();
    let graph = RoadGraph::from_pbf_file(&pbf, &RoadSpeeds::taipei()).expect("graph");
    println!("read and built in {:.2} s; peak memory {:.0} MiB (before reading: {before:.0} MiB)", t.elapsed().as_secs_f64(), peak_mib());
    for v in Vehicle::ALL {
        let s = graph.stats(v);
        let bands: Vec<String> =
            graph.rush_hours(v).iter().map(|b| format!("{:02}:00-{:02}:00 at {} %", b.start_s / 3600, b.end_s / 3600, b.speed_percent)).collect();
        println!("{}: {} nodes, {} edges, {} unreachable nodes left out; rush hours {}", v.name(), s.nodes, s.edges, s.dropped_nodes, bands.join(", "));
    }
    // Stops at random spots of the city (a fixed linear congruential sequence).
    let mut x: u64 = 7;
    let mut next = || {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let span = (0.0009 * (size - 1) as f64, 0.001 * (size - 1) as f64);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
    for &n in &points {
        let stops: Vec<(f64, f64)> = (0..n).map(|_| (25.00 + span.0 * next(), 121.50 + span.1 * next())).collect();
        let t = Instant::now();
        let all = graph.table(Vehicle::Truck, &stops, &stops, 300.0).expect("matrix");
        let parallel = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let single = one.install(|| graph.table(Vehicle::Truck, &stops, &stops, 300.0)).expect("matrix");
        let serial = t.elapsed().as_secs_f64();
        assert_eq!(all, single);
        let mean_km = all.metres.iter().flatten().sum::<i64>() as f64 / (n * n) as f64 / 1000.0;
        println!(
            "{n} stops: truck matrix in {parallel:.2} s on {} threads, {serial:.2} s on one ({:.1} ms per source); mean trip {mean_km:.2} km; peak memory {:.0} MiB",
            rayon::current_num_threads(),
            1000.0 * serial / n as f64,
            peak_mib()
        );
    }
}
