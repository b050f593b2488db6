//! OpenStreetMap PBF extracts (`luckygas_osm::pbf::read`, then `RoadGraph::from_pbf_bytes`): any
//! bytes read to nodes and ways on the globe or to an error, never a panic or an allocation
//! beyond the format's limits; a graph built from them answers a matrix between its own nodes
//! or says which point is off it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use luckygas_osm::{pbf, Element, RoadGraph, RoadSpeeds, Select, Vehicle};

fuzz_target!(|data: &[u8]| {
    let mut points = Vec::new();
    let read = pbf::read(data, Select::ALL, |e| match e {
        Element::Node(n) => {
            assert!(n.lat.abs() <= 90.0 && n.lon.abs() <= 180.0, "node {} off the globe: {} {}", n.id, n.lat, n.lon);
            if points.len() < 4 {
                points.push((n.lat, n.lon));
            }
        }
        Element::Way(w) => {
            let _ = w.tag("highway");
        }
    });
    if let Err(e) = read {
        let _ = e.to_string();
    }
    match RoadGraph::from_pbf_bytes(data, &RoadSpeeds::taipei()) {
        Ok(graph) => {
            for v in Vehicle::ALL {
                let _ = graph.rush_hours(v);
                match graph.table(v, &points, &points, 200.0) {
                    Ok(t) => {
                        assert_eq!(t.metres.len(), points.len());
                        assert!(t.metres.iter().chain(&t.seconds).flatten().all(|&x| x >= 0));
                    }
                    Err(e) => {
                        let _ = e.to_string();
                    }
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
