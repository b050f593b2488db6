//! The web console (issue 19), served at `/` from files embedded in the binary at build time
//! (`planner-api/web/`): `cargo build` is all it takes, nothing is fetched at run time, and no
//! JavaScript build step exists (plain ES modules).
//!
//! Every page and asset is public (the console signs in through `/v1/auth/login` like any
//! client); each answer carries an `ETag` (a hash of the file) and `Cache-Control: no-cache`, so
//! browsers revalidate and get `304` while the binary is the same. Browsers that accept gzip get
//! the files gzipped (compressed once, at the first request), for phones on a slow line. The
//! pages' content security policy allows scripts, styles and connections from this origin only:
//! no inline script or style, no `eval`, no framing.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::error::ApiError;
use super::AppState;

/// The content security policy of the console's pages and assets.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
                       font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// An embedded file: its name under `/assets/`, its type and its bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const INDEX: Asset = Asset { name: "index.html", content_type: "text/html; charset=utf-8", body: include_bytes!("../../web/index.html") };

/// The service worker, served at the root so that its scope is the whole console.
const SERVICE_WORKER: Asset = Asset { name: "sw.js", content_type: "text/javascript; charset=utf-8", body: include_bytes!("../../web/sw.js") };

const ASSETS: &[Asset] = &[
    Asset { name: "app.js", content_type: "text/javascript; charset=utf-8", body: include_bytes!("../../web/app.js") },
    Asset { name: "i18n.js", content_type: "text/javascript; charset=utf-8", body: include_bytes!("../../web/i18n.js") },
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", body: include_bytes!("../../web/app.css") },
    Asset { name: "icon.svg", content_type: "image/svg+xml", body: include_bytes!("../../web/icon.svg") },
    Asset { name: "map.js", content_type: "text/javascript; charset=utf-8", body: include_bytes!("../../web/map.js") },
    Asset { name: "dispatch.js", content_type: "text/javascript; charset=utf-8", body: include_bytes!("../../web/dispatch.js") },
    Asset { name: "driver.js", content_type: "text/javascript; charset=utf-8", body: include_bytes!("../../web/driver.js") },
    // The district outlines of ../shared/geo, embedded by build.rs.
    Asset { name: "towns.geojson", content_type: "application/geo+json", body: include_bytes!(concat!(env!("OUT_DIR"), "/towns.geojson")) },
];

/// Whether `path` is one of the console's public paths (no token needed).
pub fn is_public(path: &str) -> bool {
    path == "/" || path == "/sw.js" || path.starts_with("/assets/")
}

/// `/` and `/assets/{file}`.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(index)).route("/sw.js", get(service_worker)).route("/assets/{file}", get(asset))
}

/// The console's page.
#[utoipa::path(get, operation_id = "getConsole", path = "/", tag = "console",
    responses((status = 200, description = "The web console (HTML; sign in from there)", content_type = "text/html"),
        (status = 304, description = "Not modified (`If-None-Match` names the current `ETag`)")))]
pub async fn index(headers: HeaderMap) -> Response {
    serve(&INDEX, &headers)
}

/// The console's service worker (keeps the page for opening offline).
#[utoipa::path(get, operation_id = "getConsoleServiceWorker", path = "/sw.js", tag = "console",
    responses((status = 200, description = "The service worker script, with its `ETag`"),
        (status = 304, description = "Not modified")))]
pub async fn service_worker(headers: HeaderMap) -> Response {
    serve(&SERVICE_WORKER, &headers)
}

/// One of the console's files (scripts, styles, the icon, the basemap).
#[utoipa::path(get, operation_id = "getConsoleAsset", path = "/assets/{file}", tag = "console", params(("file" = String, Path, description = "e.g. `app.js`")),
    responses((status = 200, description = "The file, with its `ETag`"),
        (status = 304, description = "Not modified"),
        (status = 404, description = "No such file", body = crate::http::error::Problem, content_type = "application/problem+json")))]
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(a) => serve(a, &headers),
        None => ApiError::NotFound { resource: "asset" }.into_response(),
    }
}

/// A strong validator of `body`: FNV-1a over the bytes (the files are fixed in the binary).
fn etag(body: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}-{}\"", body.len())
}

/// Whether the request's `Accept-Encoding` takes gzip (not refused with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        let refused = parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)));
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}

/// The gzip of `body`, made once per file.
fn gzipped(a: &Asset) -> &'static [u8] {
    static GZ: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<&'static str, &'static [u8]>>> = std::sync::OnceLock::new();
    let cache = GZ.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    cache.entry(a.name).or_insert_with(|| {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing into a Vec cannot fail.
        let bytes = enc.write_all(a.body).and_then(|()| enc.finish()).unwrap_or_else(|_| a.body.to_vec());
        Box::leak(bytes.into_boxed_slice())
    })
}

fn serve(a: &Asset, headers: &HeaderMap) -> Response {
    let gzip = accepts_gzip(headers);
    let body: &'static [u8] = if gzip { gzipped(a) } else { a.body };
    // Each representation its own validator: `"…-gz"` for the gzipped one.
    let plain = etag(a.body);
    let tag = if gzip { format!("{}-gz\"", plain.trim_end_matches('"')) } else { plain };
    let matches = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut res = if matches { StatusCode::NOT_MODIFIED.into_response() } else { (StatusCode::OK, body).into_response() };
    let h = res.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_inline_script_or_style_is_allowed() {
        assert!(!CSP.contains("unsafe-inline") && !CSP.contains("unsafe-eval"));
        let html = std::str::from_utf8(INDEX.body).expect("UTF-8");
        // Scripts only from files, no inline handlers or style attributes.
        assert!(!html.contains("<script>") && !html.contains(" onclick=") && !html.contains(" style="), "{html}");
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".css")) {
            assert!(html.contains(&format!("/assets/{}", a.name)), "{} is not used", a.name);
        }
    }

    #[test]
    fn gzip_only_when_accepted_and_it_round_trips() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        for (value, yes) in [("gzip, deflate, br", true), ("br;q=1.0, gzip;q=0.5", true), ("gzip;q=0", false), ("identity", false), ("*", true)] {
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
            assert_eq!(accepts_gzip(&h), yes, "{value}");
        }
        let a = ASSETS.iter().find(|a| a.name == "driver.js").expect("driver.js");
        let gz = gzipped(a);
        assert!(gz.len() * 2 < a.body.len(), "{} → {}", a.body.len(), gz.len());
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz), &mut back).expect("gunzip");
        assert_eq!(back, a.body);
    }

    #[test]
    fn etags_differ_by_content() {
        assert_ne!(etag(b"a"), etag(b"b"));
        assert_eq!(etag(b"abc"), etag(b"abc"));
    }
}
