//! Addresses and names as clerks typed them, normalised so that spellings of the same place (or
//! the same customer) compare equal. The result is a matching key, not an address to print.
//!
//! Address rules ([`normalize_address`]), in order:
//! 1. full-width letters, digits and signs become ASCII (`１２３` → `123`, `Ｆ` → `F`), every kind
//!    of dash `-`; whitespace and the separators `,` `，` `、` go (a space between two numbers,
//!    `123 5樓`, means the house number ends there and becomes `號`); `臺` becomes `台`; letters
//!    are upper-cased;
//! 2. a leading city (two characters and `市` or `縣`: `台北市`, `台北縣`), district (two characters
//!    and `區`, `鄉`, `鎮` or `市`: `信義區`, the pre-2010 `板橋市`), village (`…里`) and
//!    neighbourhood (`5鄰`) are split off;
//! 3. Chinese numerals directly before `段`, `巷`, `弄`, `號`, `樓`, `路` or `街` become digits
//!    (`四段` → `4段`, `十二樓` → `12樓`);
//! 4. a floor `5F` is `5樓`; `之` between a number (or `號`, `樓`) and a digit is `-` (`12之3號` →
//!    `12-3號`, `5樓之1` → `5樓-1`);
//! 5. a house number after `路`, `街`, `段`, `巷`, `弄` or `道` without its `號` gets one
//!    (`忠孝東路4段123` → `忠孝東路4段123號`).

/// An address split and normalised for matching.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Address {
    /// The city found at the start (`台北市`), or empty.
    pub city: String,
    /// The district found after it (`信義區`), or empty.
    pub district: String,
    /// The rest: road, lane, alley, number, floor (`忠孝東路4段123號5樓`).
    pub street: String,
}

/// Full-width ASCII forms as ASCII, dashes as `-`, the ideographic space as a space.
pub fn fold_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' => '-',
            _ => c,
        })
        .collect()
}

/// Step 1 of the rules: widths folded, 臺 as 台, letters upper-cased, whitespace and list
/// separators dropped (a space between two digits becomes `號`).
fn squeeze(raw: &str) -> Vec<char> {
    let folded: Vec<char> = fold_width(raw).chars().map(|c| if c == '臺' { '台' } else { c.to_ascii_uppercase() }).collect();
    let mut out: Vec<char> = Vec::with_capacity(folded.len());
    for (i, &c) in folded.iter().enumerate() {
        if c.is_whitespace() || matches!(c, ',' | '，' | '、') {
            let before = out.last().is_some_and(|p| p.is_ascii_digit());
            let after = folded[i + 1..].iter().find(|n| !n.is_whitespace()).is_some_and(|n| n.is_ascii_digit());
            if before && after && out.last() != Some(&'號') {
                out.push('號');
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Splits a leading `XX` + one of `ends` off `chars` (from `at`), returning the part.
fn split_unit(chars: &[char], at: &mut usize, ends: &[char]) -> String {
    match chars.get(*at + 2) {
        Some(c) if ends.contains(c) && chars[*at..*at + 2].iter().all(|c| !c.is_ascii()) => {
            let part: String = chars[*at..*at + 3].iter().collect();
            *at += 3;
            part
        }
        _ => String::new(),
    }
}

/// The value of a run of Chinese numerals (`十二` → 12, `一百零五` → 105), if it is one.
fn chinese_number(run: &[char]) -> Option<u32> {
    let digit = |c: char| "零一二三四五六七八九".chars().position(|d| d == c).map(|d| d as u32);
    let (mut total, mut current) = (0u32, 0u32);
    for &c in run {
        match c {
            '十' => {
                total += if current == 0 { 10 } else { current * 10 };
                current = 0;
            }
            '百' => {
                total += if current == 0 { 100 } else { current * 100 };
                current = 0;
            }
            '〇' => current *= 10,
            c => current = current * 10 + digit(c)?,
        }
    }
    Some(total + current)
}

const NUMBERED: [char; 7] = ['段', '巷', '弄', '號', '樓', '路', '街'];
const STREET_ENDS: [char; 6] = ['路', '街', '段', '巷', '弄', '道'];
const NUMBER_ENDS: [char; 5] = ['號', '巷', '弄', '樓', '段'];

fn is_numeral(c: char) -> bool {
    "零〇一二三四五六七八九十百".contains(c)
}

/// Normalises an address as typed (see the module docs).
pub fn normalize_address(raw: &str) -> Address {
    let chars = squeeze(raw);
    let mut at = 0;
    let city = split_unit(&chars, &mut at, &['市', '縣']);
    let district = split_unit(&chars, &mut at, &['區', '鄉', '鎮', '市']);
    split_unit(&chars, &mut at, &['里']);
    // A neighbourhood: digits and 鄰.
    let digits = chars[at..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 && chars.get(at + digits) == Some(&'鄰') {
        at += digits + 1;
    }
    let rest = &chars[at..];

    // Chinese numerals before a numbered unit.
    let mut numbered: Vec<char> = Vec::with_capacity(rest.len());
    let mut i = 0;
    while i < rest.len() {
        let run = rest[i..].iter().take_while(|c| is_numeral(**c)).count();
        let next = rest.get(i + run);
        let after_zhi = i > 0 && rest[i - 1] == '之' && next.is_none_or(|c| NUMBERED.contains(c));
        if run > 0 && (next.is_some_and(|c| NUMBERED.contains(c)) || after_zhi) {
            if let Some(n) = chinese_number(&rest[i..i + run]) {
                numbered.extend(n.to_string().chars());
                i += run;
                continue;
            }
        }
        numbered.push(rest[i]);
        i += 1;
    }

    // Floors and 之.
    let mut out: Vec<char> = Vec::with_capacity(numbered.len() + 2);
    for (k, &c) in numbered.iter().enumerate() {
        let prev = out.last().copied();
        let next = numbered.get(k + 1).copied();
        match c {
            'F' if prev.is_some_and(|p| p.is_ascii_digit()) => out.push('樓'),
            '之' if prev.is_some_and(|p| p.is_ascii_digit() || p == '號' || p == '樓') && next.is_some_and(|n| n.is_ascii_digit()) => out.push('-'),
            _ => out.push(c),
        }
    }

    // 號 after a house number that lacks it.
    let mut street: Vec<char> = Vec::with_capacity(out.len() + 1);
    let mut k = 0;
    while k < out.len() {
        let c = out[k];
        street.push(c);
        k += 1;
        if STREET_ENDS.contains(&c) && out.get(k).is_some_and(|n| n.is_ascii_digit()) {
            let len = out[k..].iter().take_while(|n| n.is_ascii_digit() || **n == '-').count();
            street.extend(&out[k..k + len]);
            k += len;
            if !out.get(k).is_some_and(|n| NUMBER_ENDS.contains(n)) {
                street.push('號');
            }
        }
    }
    Address { city, district, street: street.into_iter().collect() }
}

/// A district as typed (`臺北市信義區`, `信義區 `), normalised: the district alone, width
/// folded, 臺 as 台; empty when nothing is recognised.
pub fn normalize_district(raw: &str) -> String {
    let chars = squeeze(raw);
    let mut at = 0;
    split_unit(&chars, &mut at, &['市', '縣']);
    let district = split_unit(&chars, &mut at, &['區', '鄉', '鎮', '市']);
    if !district.is_empty() {
        return district;
    }
    // A city alone, or a district without its 區 (`信義`): keep what is there.
    chars.into_iter().collect()
}

/// Words a name may end with that do not tell customers apart (`王家` = `王宅` = `王先生`).
const NAME_SUFFIXES: [&str; 14] = ["股份有限公司", "有限公司", "企業社", "公司", "(股)", "公館", "先生", "小姐", "太太", "女士", "媽媽", "宅", "家", "府"];

/// A customer's name normalised for comparison: widths folded, whitespace and punctuation
/// dropped, 臺 as 台, one trailing word of `NAME_SUFFIXES` (家, 宅, 先生, 有限公司, …) removed (unless nothing would be
/// left).
pub fn normalize_name(raw: &str) -> String {
    let text: String = fold_width(raw)
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '·' | '・' | '-' | '\'' | '"'))
        .map(|c| if c == '臺' { '台' } else { c.to_ascii_uppercase() })
        .collect();
    for suffix in NAME_SUFFIXES {
        if let Some(stem) = text.strip_suffix(suffix) {
            if !stem.is_empty() {
                return stem.to_owned();
            }
        }
    }
    text
}

/// Whether two names are likely the same customer's: equal once normalised; or one a prefix of
/// the other of at least two characters (`老張牛肉麵` / `老張牛肉麵店`); or of equal length at
/// least two, the same first character and one character different (`陳記麵店` / `陳記麵館`).
pub fn similar_names(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (normalize_name(a).chars().collect(), normalize_name(b).chars().collect());
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a == b {
        return true;
    }
    let (short, long) = if a.len() <= b.len() { (&a, &b) } else { (&b, &a) };
    if short.len() >= 2 && long.starts_with(short) {
        return true;
    }
    a.len() == b.len() && a.len() >= 2 && a[0] == b[0] && a.iter().zip(&b).filter(|(x, y)| x != y).count() == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn street(raw: &str) -> String {
        normalize_address(raw).street
    }

    #[test]
    fn spellings_of_one_address_are_one_key() {
        let want = "忠孝東路4段123號5樓";
        for raw in [
            "臺北市信義區忠孝東路四段123號5樓",
            "台北市信義區忠孝東路4段123號5F",
            "信義區忠孝東路四段１２３號５樓",
            "忠孝東路 4 段 123 號 5 樓",
            "忠孝東路四段123號五樓",
            "忠孝東路四段 123 5f",
            "臺北市 信義區 忠孝東路４段１２３號５Ｆ",
        ] {
            assert_eq!(street(raw), want, "{raw:?}");
        }
        let a = normalize_address("臺北市信義區忠孝東路四段123號5樓");
        assert_eq!((a.city.as_str(), a.district.as_str()), ("台北市", "信義區"));
    }

    #[test]
    fn zhi_dashes_and_missing_hao() {
        assert_eq!(street("中山北路二段12之3號"), "中山北路2段12-3號");
        assert_eq!(street("中山北路二段12－3號"), "中山北路2段12-3號");
        assert_eq!(street("中山北路2段12-3"), "中山北路2段12-3號");
        assert_eq!(street("民生東路100巷5弄7號3樓之1"), "民生東路100巷5弄7號3樓-1");
        assert_eq!(street("民生東路一百巷五弄七號三樓之一"), "民生東路100巷5弄7號3樓-1");
        assert_eq!(street("新北市板橋區文化路一段25號十二樓"), "文化路1段25號12樓");
    }

    #[test]
    fn old_county_names_villages_and_neighbourhoods_are_split_off() {
        let a = normalize_address("台北縣板橋市留侯里5鄰文化路一段25號");
        assert_eq!((a.city.as_str(), a.district.as_str(), a.street.as_str()), ("台北縣", "板橋市", "文化路1段25號"));
        assert_eq!(street("三民路25號"), "三民路25號");
        assert_eq!(street("八德路四段7號"), "八德路4段7號");
    }

    #[test]
    fn chinese_numbers() {
        assert_eq!(chinese_number(&['十']), Some(10));
        assert_eq!(chinese_number(&['十', '二']), Some(12));
        assert_eq!(chinese_number(&['二', '十', '三']), Some(23));
        assert_eq!(chinese_number(&['一', '百', '零', '五']), Some(105));
        assert_eq!(chinese_number(&['四']), Some(4));
    }

    #[test]
    fn districts_and_names() {
        assert_eq!(normalize_district("臺北市信義區"), "信義區");
        assert_eq!(normalize_district(" 信義區 "), "信義區");
        assert_eq!(normalize_name("王 家"), "王");
        assert_eq!(normalize_name("王先生"), "王");
        assert_eq!(normalize_name("永信食品廠有限公司"), "永信食品廠");
        assert_eq!(normalize_name("家"), "家");
        assert!(similar_names("王家", "王宅"));
        assert!(similar_names("老張牛肉麵", "老張牛肉麵店"));
        assert!(similar_names("陳記麵店", "陳記麵館"));
        assert!(similar_names("ＡＢＣ小吃", "abc小吃"));
        assert!(!similar_names("王家", "汪家"));
        assert!(!similar_names("王家", "王記小吃"));
        assert!(!similar_names("", ""));
    }
}
