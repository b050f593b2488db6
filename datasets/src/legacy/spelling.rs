//! How the old program's clerks typed things: one place, phone number or name, several
//! spellings. Every spelling drawn here normalises to the same key under `legacy::clean` (the
//! tests check it), so the planted duplicates are findable by the stated rule.

use crate::places::DISTRICTS;
use crate::rng::SplitMix64;
use crate::taipei::Kind;

/// Streets of Taipei City with the number of sections (段) they have (0: none).
const TAIPEI_STREETS: &[(&str, u8)] = &[
    ("忠孝東路", 7),
    ("仁愛路", 4),
    ("信義路", 6),
    ("和平東路", 3),
    ("民生東路", 5),
    ("南京東路", 6),
    ("中山北路", 7),
    ("承德路", 7),
    ("重慶北路", 4),
    ("基隆路", 2),
    ("復興南路", 2),
    ("敦化北路", 0),
    ("內湖路", 3),
    ("文林路", 0),
    ("八德路", 4),
    ("羅斯福路", 6),
];

/// Streets of New Taipei (several towns have one of each name).
const NEW_TAIPEI_STREETS: &[(&str, u8)] = &[
    ("中正路", 0),
    ("中山路", 3),
    ("文化路", 2),
    ("民族路", 0),
    ("三民路", 0),
    ("光復路", 2),
    ("中華路", 2),
    ("民生路", 3),
    ("成功路", 0),
    ("重新路", 5),
    ("新莊路", 0),
    ("永和路", 2),
    ("四維路", 0),
    ("板新路", 0),
];

/// The streets of `district`'s city.
fn streets(district: usize) -> &'static [(&'static str, u8)] {
    if district < 12 {
        TAIPEI_STREETS
    } else {
        NEW_TAIPEI_STREETS
    }
}

/// The first twelve of `DISTRICTS` are in Taipei City, the rest in New Taipei.
pub(crate) fn city_of(district: usize) -> &'static str {
    if district < 12 {
        "台北市"
    } else {
        "新北市"
    }
}

/// A place as it is, whatever the spelling: district, street, section, lane, alley, number,
/// sub-number (之), floor and floor sub-number; 0 means none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Place {
    pub district: usize,
    street: usize,
    section: u8,
    lane: u16,
    alley: u16,
    number: u16,
    sub: u8,
    floor: u8,
    floor_sub: u8,
}

impl Place {
    /// A place in `district` for a customer of `kind`: flats for households, ground floors for
    /// shops and workshops.
    pub(crate) fn draw(rng: &mut SplitMix64, district: usize, kind: Kind) -> Place {
        let street = rng.below(streets(district).len());
        let sections = streets(district)[street].1;
        let section = if sections == 0 { 0 } else { 1 + rng.below(usize::from(sections)) as u8 };
        let lane = if rng.chance(0.3) { 1 + rng.below(300) as u16 } else { 0 };
        let alley = if lane > 0 && rng.chance(0.3) { 1 + rng.below(20) as u16 } else { 0 };
        let number = 1 + rng.below(300) as u16;
        let sub = if rng.chance(0.06) { 1 + rng.below(5) as u8 } else { 0 };
        let floor = match kind {
            Kind::Household if rng.chance(0.75) => 2 + rng.below(14) as u8,
            Kind::Restaurant if rng.chance(0.1) => 2,
            _ => 0,
        };
        let floor_sub = if floor > 0 && rng.chance(0.1) { 1 + rng.below(3) as u8 } else { 0 };
        Place { district, street, section, lane, alley, number, sub, floor, floor_sub }
    }

    /// The place written one way, drawn from the spellings clerks use (see the README's rates):
    /// the city and district written or not, 台 or 臺, sections in Chinese or Arabic numerals,
    /// full-width digits, floors as 樓, F or Chinese numerals, 之 or `-`, spaces, a missing 號.
    /// `with_district` forces the district into the address (when `AREA` is left empty).
    pub(crate) fn spell(&self, rng: &mut SplitMix64, with_district: bool) -> String {
        let tai = rng.chance(0.3);
        let with_city = rng.chance(0.5);
        let with_district = with_district || rng.chance(if with_city { 0.7 } else { 0.4 });
        let arabic_section = rng.chance(0.25);
        let fullwidth = rng.chance(0.08);
        let floor_style = rng.weighted(&[60, 30, 10]);
        let dash = rng.chance(0.4);
        let spaces = rng.chance(0.1);
        let drop_hao = self.floor == 0 && rng.chance(0.05);

        let mut parts: Vec<String> = Vec::new();
        if with_city {
            let city = city_of(self.district);
            parts.push(if tai { city.replace('台', "臺") } else { city.to_owned() });
        }
        if with_district {
            parts.push(DISTRICTS[self.district].name.to_owned());
        }
        let mut street = streets(self.district)[self.street].0.to_owned();
        if self.section > 0 {
            street.push_str(&if arabic_section { self.section.to_string() } else { chinese(u32::from(self.section)) });
            street.push('段');
        }
        parts.push(street);
        if self.lane > 0 {
            parts.push(format!("{}巷", self.lane));
        }
        if self.alley > 0 {
            parts.push(format!("{}弄", self.alley));
        }
        let zhi = if dash { "-" } else { "之" };
        let mut number = self.number.to_string();
        if self.sub > 0 {
            number.push_str(&format!("{zhi}{}", self.sub));
        }
        if !drop_hao {
            number.push('號');
        }
        parts.push(number);
        if self.floor > 0 {
            let mut floor = match floor_style {
                0 => format!("{}樓", self.floor),
                1 => format!("{}F", self.floor),
                _ => format!("{}樓", chinese(u32::from(self.floor))),
            };
            if self.floor_sub > 0 {
                floor.push_str(&format!("{zhi}{}", self.floor_sub));
            }
            parts.push(floor);
        }
        let text = parts.join(if spaces { " " } else { "" });
        if fullwidth {
            to_fullwidth(&text)
        } else {
            text
        }
    }

    /// The one spelling used to tell places apart when drawing them (never written out).
    pub(crate) fn key(&self) -> (usize, usize, u8, u16, u16, u16, u8, u8, u8) {
        (self.district, self.street, self.section, self.lane, self.alley, self.number, self.sub, self.floor, self.floor_sub)
    }
}

/// 1 → 一, 12 → 十二, 20 → 二十, 23 → 二十三 (1 ..= 99).
pub(crate) fn chinese(n: u32) -> String {
    const DIGITS: [char; 10] = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    let (tens, ones) = (n / 10, n % 10);
    let mut out = String::new();
    if tens > 1 {
        out.push(DIGITS[tens as usize % 10]);
    }
    if tens > 0 {
        out.push('十');
    }
    if ones > 0 || tens == 0 {
        out.push(DIGITS[ones as usize]);
    }
    out
}

/// ASCII digits, `F`, `-`, `(`, `)` and `#` in their full-width forms.
fn to_fullwidth(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0'..='9' | 'F' | '-' | '(' | ')' | '#' => char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// A phone number as it is: a mobile (`09` and eight digits) or a Taipei landline (eight
/// digits after `02`), maybe with an extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PhoneNumber {
    mobile: bool,
    /// The eight digits after `09` or `02`.
    digits: u32,
    extension: u16,
}

impl PhoneNumber {
    /// A mobile number.
    pub(crate) fn mobile(rng: &mut SplitMix64) -> PhoneNumber {
        PhoneNumber { mobile: true, digits: rng.below(100_000_000) as u32, extension: 0 }
    }

    /// A Taipei or New Taipei landline (local numbers start with 2 or 8), with an extension
    /// when `extension`.
    pub(crate) fn landline(rng: &mut SplitMix64, extension: bool) -> PhoneNumber {
        let first = if rng.chance(0.8) { 2 } else { 8 };
        let extension = if extension { 10 + rng.below(590) as u16 } else { 0 };
        PhoneNumber { mobile: false, digits: first * 10_000_000 + rng.below(10_000_000) as u32, extension }
    }

    /// The key that tells numbers apart (E.164, as `legacy::clean` makes it).
    pub(crate) fn key(&self) -> String {
        format!("+886{}{:08}", if self.mobile { 9 } else { 2 }, self.digits)
    }

    /// The number typed one of the ways clerks type it (see the README's rates); at most 20
    /// Big5 bytes.
    pub(crate) fn spell(&self, rng: &mut SplitMix64) -> String {
        let d = format!("{:08}", self.digits);
        let (a, b) = d.split_at(if self.mobile { 2 } else { 4 });
        let text = if self.mobile {
            let (b1, b2) = b.split_at(3);
            match rng.weighted(&[50, 30, 10, 3, 5, 2]) {
                0 => format!("09{a}-{b1}-{b2}"),
                1 => format!("09{d}"),
                2 => format!("09{a} {b1} {b2}"),
                3 => format!("+886 9{a} {b1} {b2}"),
                4 => format!("09{a}-{b}"),
                _ => to_fullwidth(&format!("09{d}")),
            }
        } else {
            match rng.weighted(&[35, 25, 15, 7, 5, 5, 5, 3]) {
                0 => format!("02-{a}-{b}"),
                1 => format!("(02){a}-{b}"),
                2 => format!("{a}-{b}"),
                3 => d.clone(),
                4 => format!("02{d}"),
                5 => format!("02 {a} {b}"),
                6 => format!("(02){d}"),
                _ => return to_fullwidth(&d),
            }
        };
        match self.extension {
            0 => text,
            ext if rng.chance(0.5) => format!("{text}#{ext}"),
            ext => format!("{text} 轉{ext}"),
        }
    }
}

/// Phone entries that are no number at all, or a digit short.
pub(crate) const JUNK_PHONES: [&str; 5] = ["無", "", "0912-345-67", "2345-678", "洽店家"];

/// Another name the same customer may have been entered under: 王家 as 王宅, 王先生 or 王太太; a
/// shop with 店 added; a workshop with 有限公司 added; or the same name.
pub(crate) fn name_variant(rng: &mut SplitMix64, name: &str, kind: Kind) -> String {
    match kind {
        Kind::Household => {
            let surname: String = name.chars().take(1).collect();
            let suffix = ["宅", "先生", "太太", "家", "公館"].into_iter().filter(|s| !name.ends_with(s)).nth(rng.below(4)).unwrap_or("先生");
            format!("{surname}{suffix}")
        }
        Kind::Restaurant if rng.chance(0.5) => format!("{name}店"),
        Kind::Factory if rng.chance(0.5) => format!("{name}有限公司"),
        _ => name.to_owned(),
    }
}
