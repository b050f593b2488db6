//! Centroids of the districts of Taipei City (臺北市, 12) and New Taipei City (新北市, 29): where a
//! customer without coordinates is placed, approximately, from its district.
//!
//! Generated from `../shared/geo/taipei-area-towns.geojson` (g0v twgeojson, from the National
//! Land Surveying and Mapping Center's open boundary data; simplified outlines) as the
//! area-weighted centroid of each district's polygons in longitude/latitude, rounded to four
//! decimals (about 10 m, far below the error of a centroid as a position). `tests/district_centroids.rs`
//! recomputes them and fails when the table drifts; run it with `--nocapture` to print the table:
//!
//! ```sh
//! cargo test -p legacy --test district_centroids -- --nocapture
//! ```
//!
//! The file's outline of 臺北市中正區 is empty (lost in the simplification); its row holds the
//! district centre that `datasets` uses (25.0320, 121.5190) instead.

use crate::clean::address::normalize_district;

/// A district and its centroid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Centroid {
    /// The city, `臺北市` or `新北市`.
    pub city: &'static str,
    /// The district, `信義區`.
    pub district: &'static str,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

const fn c(city: &'static str, district: &'static str, lat: f64, lon: f64) -> Centroid {
    Centroid { city, district, lat, lon }
}

/// 臺北市中正區's centre, where the outline file has none.
pub const ZHONGZHENG: (f64, f64) = (25.0320, 121.5190);

/// Every district of Taipei and New Taipei with its centroid.
pub const CENTROIDS: &[Centroid] = &[
    c("臺北市", "北投區", 25.1505, 121.5183),
    c("臺北市", "士林區", 25.1243, 121.5521),
    c("臺北市", "內湖區", 25.0824, 121.5886),
    c("臺北市", "中山區", 25.0662, 121.5353),
    c("臺北市", "大同區", 25.0679, 121.5149),
    c("臺北市", "松山區", 25.0619, 121.5573),
    c("臺北市", "南港區", 25.0342, 121.6117),
    c("臺北市", "萬華區", 25.0290, 121.4995),
    c("臺北市", "中正區", ZHONGZHENG.0, ZHONGZHENG.1),
    c("臺北市", "信義區", 25.0279, 121.5717),
    c("臺北市", "大安區", 25.0266, 121.5487),
    c("臺北市", "文山區", 24.9901, 121.5745),
    c("新北市", "石門區", 25.2677, 121.5658),
    c("新北市", "三芝區", 25.2316, 121.5150),
    c("新北市", "金山區", 25.2178, 121.6052),
    c("新北市", "萬里區", 25.1749, 121.6431),
    c("新北市", "淡水區", 25.1889, 121.4609),
    c("新北市", "瑞芳區", 25.0996, 121.8222),
    c("新北市", "八里區", 25.1374, 121.4134),
    c("新北市", "林口區", 25.0999, 121.3565),
    c("新北市", "貢寮區", 25.0252, 121.9187),
    c("新北市", "五股區", 25.0975, 121.4301),
    c("新北市", "蘆洲區", 25.0904, 121.4764),
    c("新北市", "汐止區", 25.0713, 121.6555),
    c("新北市", "三重區", 25.0620, 121.4834),
    c("新北市", "泰山區", 25.0548, 121.4150),
    c("新北市", "新莊區", 25.0286, 121.4368),
    c("新北市", "平溪區", 25.0254, 121.7571),
    c("新北市", "永和區", 25.0088, 121.5115),
    c("新北市", "板橋區", 25.0119, 121.4625),
    c("新北市", "雙溪區", 24.9966, 121.8337),
    c("新北市", "深坑區", 24.9993, 121.6197),
    c("新北市", "中和區", 24.9907, 121.4931),
    c("新北市", "樹林區", 24.9798, 121.3987),
    c("新北市", "土城區", 24.9647, 121.4430),
    c("新北市", "鶯歌區", 24.9603, 121.3519),
    c("新北市", "石碇區", 24.9476, 121.6457),
    c("新北市", "新店區", 24.9305, 121.5307),
    c("新北市", "坪林區", 24.9098, 121.7230),
    c("新北市", "三峽區", 24.8822, 121.4185),
    c("新北市", "烏來區", 24.7876, 121.5396),
];

/// The centroid of `district` (`信義區`, `臺北市信義區`, `台北市 信義區`); when `city` is not
/// empty it must match too (`台北市` and `臺北市` alike). `None` when unknown, or when the district
/// name alone is ambiguous (no two districts of the two cities share a name today).
pub fn centroid(city: &str, district: &str) -> Option<&'static Centroid> {
    let district = normalize_district(district);
    let city = normalize_district(city).replace('臺', "台");
    let mut found = CENTROIDS.iter().filter(|c| normalize_district(c.district) == district && (city.is_empty() || c.city.replace('臺', "台") == city));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}
