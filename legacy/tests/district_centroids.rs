//! Recomputes `legacy::districts::CENTROIDS` from the district outlines in
//! `../shared/geo/taipei-area-towns.geojson` (beside the project) and fails when the committed
//! table drifts from them. `--nocapture` prints the table to paste into `src/districts.rs`.

use legacy::districts::{centroid, CENTROIDS, ZHONGZHENG};
use serde_json::Value;
use std::path::PathBuf;

/// The signed area and the centroid sums of one ring (shoelace formula, longitude as x).
fn ring(points: &[Value]) -> (f64, f64, f64) {
    let xy: Vec<(f64, f64)> = points.iter().map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap())).collect();
    let (mut a, mut cx, mut cy) = (0.0, 0.0, 0.0);
    for (k, &(x0, y0)) in xy.iter().enumerate() {
        let (x1, y1) = xy[(k + 1) % xy.len()];
        let cross = x0 * y1 - x1 * y0;
        a += cross;
        cx += (x0 + x1) * cross;
        cy += (y0 + y1) * cross;
    }
    (a / 2.0, cx, cy)
}

/// `(city, district, lat, lon)` of every district of Taipei and New Taipei, Taipei first, in the
/// file's order, rounded to four decimals.
fn computed() -> Vec<(String, String, f64, f64)> {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/geo/taipei-area-towns.geojson"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("the district outlines must be at {}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut rows = Vec::new();
    for city in ["臺北市", "新北市"] {
        for feature in doc["features"].as_array().unwrap() {
            let current = feature["properties"]["current"].as_str().unwrap();
            let Some(district) = current.strip_prefix(city) else { continue };
            let geometry = &feature["geometry"];
            let polygons: Vec<&Value> = match geometry["type"].as_str().unwrap() {
                "Polygon" => vec![&geometry["coordinates"]],
                _ => geometry["coordinates"].as_array().unwrap().iter().collect(),
            };
            let (mut a, mut cx, mut cy) = (0.0, 0.0, 0.0);
            for polygon in polygons {
                for r in polygon.as_array().unwrap() {
                    let (ra, rx, ry) = ring(r.as_array().unwrap());
                    a += ra;
                    cx += rx;
                    cy += ry;
                }
            }
            let round = |v: f64| (v * 1e4).round() / 1e4;
            let (lat, lon) = if a == 0.0 { ZHONGZHENG } else { (round(cy / (6.0 * a)), round(cx / (6.0 * a))) };
            rows.push((city.to_owned(), district.to_owned(), lat, lon));
        }
    }
    rows
}

#[test]
fn the_committed_centroids_are_those_of_the_outlines() {
    let rows = computed();
    for (city, district, lat, lon) in &rows {
        println!("    c(\"{city}\", \"{district}\", {lat:.4}, {lon:.4}),");
    }
    assert_eq!(rows.len(), 41, "12 districts in Taipei, 29 in New Taipei");
    assert_eq!(CENTROIDS.len(), rows.len(), "regenerate: cargo test -p legacy --test district_centroids -- --nocapture");
    for (c, (city, district, lat, lon)) in CENTROIDS.iter().zip(&rows) {
        assert_eq!((c.city, c.district), (city.as_str(), district.as_str()));
        assert!((c.lat - lat).abs() < 1e-9 && (c.lon - lon).abs() < 1e-9, "{city}{district}: {} {} vs {lat} {lon}", c.lat, c.lon);
    }
}

#[test]
fn centroids_lie_in_the_taipei_basin_and_are_found_by_any_spelling() {
    for c in CENTROIDS {
        assert!((24.6..25.4).contains(&c.lat) && (121.2..122.1).contains(&c.lon), "{c:?}");
    }
    let xinyi = centroid("台北市", "信義區").unwrap();
    assert_eq!(xinyi.district, "信義區");
    assert_eq!(centroid("", "臺北市信義區"), Some(xinyi));
    assert_eq!(centroid("新北市", "信義區"), None);
    assert_eq!(centroid("", "板橋區").map(|c| c.city), Some("新北市"));
    assert_eq!(centroid("", "火星區"), None);
}
