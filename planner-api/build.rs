//! Embeds the basemap of the web console: the district outlines of `../shared/geo` (read at build
//! time, never copied into the repository; see its README for the source and attribution). A
//! checkout without `../shared` still builds: the map then has no outlines, and cargo says so.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let source = manifest.join("../../shared/geo/taipei-area-towns.geojson");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("towns.geojson");
    println!("cargo:rerun-if-changed={}", source.display());
    match std::fs::read(&source) {
        Ok(bytes) => std::fs::write(&out, bytes).expect("write the basemap"),
        Err(e) => {
            println!("cargo:warning=no basemap at {} ({e}): the web console's map draws no district outlines", source.display());
            std::fs::write(&out, br#"{"type":"FeatureCollection","features":[]}"#).expect("write the basemap");
        }
    }
}
