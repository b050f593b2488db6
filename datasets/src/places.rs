//! Places and names of the Taipei generator: districts of Taipei and New Taipei with approximate
//! centres, depot sites, and the pieces of Chinese customer names.
//!
//! Coordinates are rounded district centres (WGS 84 degrees) of the built-up area; weights are
//! rough shares of households, for realism only.

/// A district that customers are drawn from.
#[derive(Clone, Copy, Debug)]
pub struct District {
    /// Name, e.g. `信義區`.
    pub name: &'static str,
    /// Latitude of the centre of its built-up area.
    pub lat: f64,
    /// Longitude of the centre of its built-up area.
    pub lon: f64,
    /// Relative share of customers.
    pub weight: u32,
}

const fn d(name: &'static str, lat: f64, lon: f64, weight: u32) -> District {
    District { name, lat, lon, weight }
}

/// Districts of Taipei (台北市, the first twelve) and the inner ring of New Taipei (新北市).
pub const DISTRICTS: &[District] = &[
    d("信義區", 25.0330, 121.5680, 6),
    d("大安區", 25.0265, 121.5435, 8),
    d("中山區", 25.0640, 121.5330, 6),
    d("松山區", 25.0540, 121.5580, 5),
    d("內湖區", 25.0760, 121.5850, 7),
    d("士林區", 25.0930, 121.5250, 7),
    d("北投區", 25.1280, 121.5010, 6),
    d("文山區", 24.9960, 121.5620, 7),
    d("萬華區", 25.0340, 121.4990, 5),
    d("中正區", 25.0320, 121.5190, 4),
    d("大同區", 25.0630, 121.5130, 3),
    d("南港區", 25.0470, 121.6040, 3),
    d("板橋區", 25.0110, 121.4640, 14),
    d("三重區", 25.0620, 121.4880, 10),
    d("新莊區", 25.0370, 121.4500, 10),
    d("中和區", 24.9990, 121.4990, 10),
    d("永和區", 25.0080, 121.5160, 5),
];

/// A depot site.
#[derive(Clone, Copy, Debug)]
pub struct Site {
    /// Identifier used by vehicle types.
    pub id: &'static str,
    /// Name shown to people.
    pub name: &'static str,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// The Taipei depot, in the 內湖 industrial area.
pub const DEPOT_TAIPEI: Site = Site { id: "NH", name: "LuckyGas 內湖站", lat: 25.0752, lon: 121.5753 };
/// The New Taipei depot, in 新莊.
pub const DEPOT_NEW_TAIPEI: Site = Site { id: "XZ", name: "LuckyGas 新莊站", lat: 25.0445, lon: 121.4420 };

/// Common Taiwanese surnames.
pub const SURNAMES: &[&str] = &[
    "陳", "林", "黃", "張", "李", "王", "吳", "劉", "蔡", "楊", "許", "鄭", "謝", "洪", "郭", "邱", "曾", "廖", "賴", "徐", "周", "葉", "蘇", "莊", "呂", "江",
    "何", "蕭", "羅", "高", "潘", "簡", "朱", "鍾", "游", "彭", "詹", "胡",
];

/// Household name endings: 王家, 林宅, 陳公館.
pub const HOUSEHOLD_SUFFIXES: &[&str] = &["家", "宅", "公館"];

/// Given-name characters used in 阿美小吃-style shop names.
pub const NICKNAMES: &[&str] = &["美", "財", "珠", "明", "娟", "福", "德", "英"];

/// Kinds of small restaurants.
pub const EATERIES: &[&str] = &["麵店", "小吃", "自助餐", "水餃館", "牛肉麵", "熱炒", "早餐店", "便當", "火鍋", "滷肉飯"];

/// Auspicious trade-name prefixes of factories.
pub const TRADE_NAMES: &[&str] = &["永信", "金源", "福隆", "和興", "新光", "長春", "正隆", "建宏", "合發", "順益"];

/// Kinds of small factories using 50 kg cylinders.
pub const WORKSHOPS: &[&str] = &["食品廠", "鐵工廠", "豆花工廠", "洗衣廠", "烘焙坊", "塑膠廠", "製麵廠"];
