//! Field-level validation errors with stable codes and messages in Traditional Chinese (the
//! default) and English, plus the small checks shared by several resources.

use serde::Serialize;

/// The language of messages shown to API clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Traditional Chinese as used in Taiwan (the default).
    ZhTw,
    /// English, chosen with `Accept-Language: en…`.
    En,
}

impl Lang {
    /// Picks the language from an `Accept-Language` header value: English when the first
    /// preference starts with `en`, Traditional Chinese otherwise.
    pub fn from_accept_language(value: Option<&str>) -> Lang {
        match value {
            Some(v) if v.trim_start().to_ascii_lowercase().starts_with("en") => Lang::En,
            _ => Lang::ZhTw,
        }
    }
}

/// What is wrong with one field.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldProblem {
    /// The field is missing or blank.
    Required,
    /// The text is longer than `max` characters.
    TooLong {
        /// The maximum number of characters.
        max: usize,
    },
    /// The text does not have the expected shape (`expected` shows an example).
    Pattern {
        /// An example of a valid value.
        expected: &'static str,
    },
    /// The number is outside `min..=max`.
    OutOfRange {
        /// Smallest accepted value.
        min: f64,
        /// Largest accepted value.
        max: f64,
    },
    /// A time window's start is not before its end.
    WindowOrder,
    /// Two time windows overlap.
    WindowOverlap,
    /// The value is not one of `allowed`.
    NotAllowed {
        /// The accepted values.
        allowed: &'static [&'static str],
    },
    /// The value appears twice in a list that must not repeat.
    Duplicate,
    /// The text is shorter than `min` characters (passwords).
    TooShort {
        /// The minimum number of characters.
        min: usize,
    },
    /// The list has more than `max` entries.
    TooMany {
        /// The maximum number of entries.
        max: usize,
    },
    /// The text holds a control character (U+0000 NUL, or another C0 control other than tab
    /// and line breaks), which no field of the service takes and PostgreSQL cannot store.
    ControlCharacter,
    /// The JSON value has the wrong type or shape: it should have been `expected`.
    InvalidType(Expected),
    /// The object has a field it does not take (a typo, or a field of another resource).
    UnknownField {
        /// The fields the object takes, by their JSON names.
        allowed: Vec<String>,
    },
    /// The id names no existing row.
    UnknownReference,
    /// No received order waits for planning on this day.
    NothingToPlan,
    /// None of these depots has an active vehicle.
    NoVehicles,
    /// The day has `count` orders to plan, more than the `max` one plan may hold
    /// (`PLAN_MAX_ORDERS`).
    TooManyOrders {
        /// Orders the plan would hold.
        count: usize,
        /// The most a plan may hold.
        max: usize,
    },
    /// The value does not fit what is stored now (a replan's event against its plan): a stable
    /// `code` with its message in both languages.
    State {
        /// Stable code (`not_in_plan`, `already_executed`, `before_executed`, …).
        code: &'static str,
        /// Message in Traditional Chinese.
        zh: &'static str,
        /// Message in English.
        en: &'static str,
    },
    /// A reader's own verdict on an input (e.g. the VROOM reader's): its stable `code`, a
    /// Traditional Chinese summary of that kind of fault, and the reader's English detail.
    Input {
        /// The reader's stable code.
        code: &'static str,
        /// What the code means, in Traditional Chinese.
        zh: &'static str,
        /// The reader's message, in English.
        detail: String,
    },
}

/// What a JSON value should have been, in the words of [`FieldProblem::InvalidType`] messages
/// (rather than the parser's Rust type names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// A number.
    Number,
    /// A whole number.
    Integer,
    /// A whole number, 0 or more.
    NonNegativeInteger,
    /// `true` or `false`.
    Bool,
    /// A string.
    Text,
    /// A list (a JSON array).
    List,
    /// An object.
    Object,
    /// One of these values (the names of an enumeration).
    OneOf(Vec<String>),
    /// Something the parser described in other terms.
    Other,
}

impl Expected {
    /// "must be …" in `lang`.
    fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (Expected::Number, Lang::ZhTw) => "必須是數字".into(),
            (Expected::Number, Lang::En) => "must be a number".into(),
            (Expected::Integer, Lang::ZhTw) => "必須是整數".into(),
            (Expected::Integer, Lang::En) => "must be an integer".into(),
            (Expected::NonNegativeInteger, Lang::ZhTw) => "必須是大於或等於 0 的整數".into(),
            (Expected::NonNegativeInteger, Lang::En) => "must be an integer, 0 or more".into(),
            (Expected::Bool, Lang::ZhTw) => "必須是 true 或 false".into(),
            (Expected::Bool, Lang::En) => "must be true or false".into(),
            (Expected::Text, Lang::ZhTw) => "必須是字串".into(),
            (Expected::Text, Lang::En) => "must be a string".into(),
            (Expected::List, Lang::ZhTw) => "必須是陣列".into(),
            (Expected::List, Lang::En) => "must be a list".into(),
            (Expected::Object, Lang::ZhTw) => "必須是物件".into(),
            (Expected::Object, Lang::En) => "must be an object".into(),
            (Expected::OneOf(names), Lang::ZhTw) => format!("必須是下列之一：{}", names.join(", ")),
            (Expected::OneOf(names), Lang::En) => format!("must be one of: {}", names.join(", ")),
            (Expected::Other, Lang::ZhTw) => "欄位型別或格式錯誤".into(),
            (Expected::Other, Lang::En) => "has the wrong type or shape".into(),
        }
    }
}

/// One failing field: its JSON path (`lat`, `time_windows[1].end`) and the problem.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// JSON path of the field.
    pub field: String,
    /// What is wrong with it.
    pub problem: FieldProblem,
}

/// How a field error is shown to clients.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FieldErrorView {
    /// JSON path of the field.
    pub field: String,
    /// Stable code of the problem (`required`, `out_of_range`, …).
    #[schema(value_type = String)]
    pub code: &'static str,
    /// Human-readable message in the requested language.
    pub message: String,
}

impl FieldError {
    /// Creates an error for `field`.
    pub fn new(field: impl Into<String>, problem: FieldProblem) -> Self {
        FieldError { field: field.into(), problem }
    }

    /// The stable code of the problem.
    pub fn code(&self) -> &'static str {
        match self.problem {
            FieldProblem::Required => "required",
            FieldProblem::TooLong { .. } => "too_long",
            FieldProblem::Pattern { .. } => "pattern",
            FieldProblem::OutOfRange { .. } => "out_of_range",
            FieldProblem::WindowOrder => "window_order",
            FieldProblem::WindowOverlap => "window_overlap",
            FieldProblem::NotAllowed { .. } => "not_allowed",
            FieldProblem::Duplicate => "duplicate",
            FieldProblem::TooMany { .. } => "too_many",
            FieldProblem::TooShort { .. } => "too_short",
            FieldProblem::ControlCharacter => "control_character",
            FieldProblem::InvalidType(_) => "invalid_type",
            FieldProblem::UnknownField { .. } => "unknown_field",
            FieldProblem::UnknownReference => "unknown_reference",
            FieldProblem::NothingToPlan => "nothing_to_plan",
            FieldProblem::NoVehicles => "no_vehicles",
            FieldProblem::TooManyOrders { .. } => "too_many_orders",
            FieldProblem::Input { code, .. } | FieldProblem::State { code, .. } => code,
        }
    }

    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        use FieldProblem as P;
        match (&self.problem, lang) {
            (P::Required, Lang::ZhTw) => "此欄位為必填".into(),
            (P::Required, Lang::En) => "this field is required".into(),
            (P::TooLong { max }, Lang::ZhTw) => format!("長度不可超過 {max} 個字元"),
            (P::TooLong { max }, Lang::En) => format!("must be at most {max} characters long"),
            (P::Pattern { expected }, Lang::ZhTw) => format!("格式錯誤，例如 {expected}"),
            (P::Pattern { expected }, Lang::En) => format!("has the wrong format, expected e.g. {expected}"),
            (P::OutOfRange { min, max }, Lang::ZhTw) => format!("數值必須介於 {min} 與 {max} 之間"),
            (P::OutOfRange { min, max }, Lang::En) => format!("must be between {min} and {max}"),
            (P::WindowOrder, Lang::ZhTw) => "開始時間必須早於結束時間".into(),
            (P::WindowOrder, Lang::En) => "start must be before end".into(),
            (P::WindowOverlap, Lang::ZhTw) => "時段彼此重疊".into(),
            (P::WindowOverlap, Lang::En) => "time windows overlap".into(),
            (P::NotAllowed { allowed }, Lang::ZhTw) => format!("不是允許的值，可用：{}", allowed.join(", ")),
            (P::NotAllowed { allowed }, Lang::En) => format!("is not allowed, use one of: {}", allowed.join(", ")),
            (P::Duplicate, Lang::ZhTw) => "值重複".into(),
            (P::Duplicate, Lang::En) => "is repeated".into(),
            (P::TooMany { max }, Lang::ZhTw) => format!("最多 {max} 筆"),
            (P::TooMany { max }, Lang::En) => format!("must have at most {max} entries"),
            (P::TooShort { min }, Lang::ZhTw) => format!("長度至少 {min} 個字元"),
            (P::TooShort { min }, Lang::En) => format!("must be at least {min} characters long"),
            (P::ControlCharacter, Lang::ZhTw) => "含有不允許的控制字元（例如 NUL）".into(),
            (P::ControlCharacter, Lang::En) => "must not contain control characters (such as NUL)".into(),
            (P::InvalidType(expected), _) => expected.message(lang),
            (P::UnknownField { allowed }, Lang::ZhTw) if allowed.is_empty() => "不是可用的欄位：此物件不接受任何欄位".into(),
            (P::UnknownField { allowed }, Lang::En) if allowed.is_empty() => "is not a known field: this object takes none".into(),
            (P::UnknownField { allowed }, Lang::ZhTw) => format!("不是可用的欄位，可用欄位：{}", allowed.join(", ")),
            (P::UnknownField { allowed }, Lang::En) => format!("is not a known field, use one of: {}", allowed.join(", ")),
            (P::UnknownReference, Lang::ZhTw) => "指定的資料不存在".into(),
            (P::UnknownReference, Lang::En) => "names nothing that exists".into(),
            (P::NothingToPlan, Lang::ZhTw) => "這一天沒有待排程的訂單".into(),
            (P::NothingToPlan, Lang::En) => "no received order waits for planning on this day".into(),
            (P::TooManyOrders { count, max }, Lang::ZhTw) => format!("這一天有 {count} 筆待排程的訂單，超過一個排程的上限 {max} 筆"),
            (P::TooManyOrders { count, max }, Lang::En) => {
                format!("the day has {count} orders waiting for planning, more than the {max} one plan may hold")
            }
            (P::NoVehicles, Lang::ZhTw) => "這些站點沒有可用的車輛".into(),
            (P::NoVehicles, Lang::En) => "none of these depots has an active vehicle".into(),
            (P::State { zh, .. }, Lang::ZhTw) => (*zh).to_owned(),
            (P::State { en, .. }, Lang::En) => (*en).to_owned(),
            (P::Input { zh, detail, .. }, Lang::ZhTw) => format!("{zh}：{detail}"),
            (P::Input { detail, .. }, Lang::En) => detail.clone(),
        }
    }

    /// The error as shown to clients in `lang`.
    pub fn view(&self, lang: Lang) -> FieldErrorView {
        FieldErrorView { field: self.field.clone(), code: self.code(), message: self.message(lang) }
    }
}

/// Checks a required text field: trimmed, non-empty, at most `max` characters and on one line
/// (no control character at all, tabs and line breaks included: names and addresses are
/// printed on labels and invoices); returns the trimmed text.
pub(crate) fn required_text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.push(FieldError::new(field, FieldProblem::Required));
    } else if v.chars().count() > max {
        errors.push(FieldError::new(field, FieldProblem::TooLong { max }));
    } else if v.chars().any(char::is_control) {
        errors.push(FieldError::new(field, FieldProblem::ControlCharacter));
    }
    v.to_owned()
}

/// Checks an optional phone number (6–15 digits with `+-() #`); returns it trimmed, `None` when
/// blank.
pub(crate) fn optional_phone(errors: &mut Vec<FieldError>, phone: Option<String>) -> Option<String> {
    let phone = phone.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
    if let Some(p) = &phone {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        if !((6..=15).contains(&digits) && p.chars().all(|c| c.is_ascii_digit() || "+-() #".contains(c))) {
            errors.push(FieldError::new("phone", FieldProblem::Pattern { expected: "02-2345-6789" }));
        }
    }
    phone
}

/// Most skills a driver has or a vehicle type requires (the solver tells skills apart as the
/// bits of a 64-bit word).
pub const MAX_SKILLS: usize = 64;

/// Whether `text` holds a character no text field takes: a C0 control other than tab, line feed
/// and carriage return (NUL above all, which PostgreSQL cannot store), or DEL.
pub fn has_control_character(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// Checks that the list at `field` has at most `max` entries; records a `too_many` error and
/// returns `false` when it has more, so that callers skip checking its entries one by one (a
/// list of a hundred thousand entries costs no more than one of `max + 1`).
pub(crate) fn at_most<T>(errors: &mut Vec<FieldError>, field: &str, list: &[T], max: usize) -> bool {
    if list.len() > max {
        errors.push(FieldError::new(field, FieldProblem::TooMany { max }));
        false
    } else {
        true
    }
}

/// Checks a list of skill names (`snake_case`, 1–32 characters, each once, at most
/// [`MAX_SKILLS`]) at `field`; returns the valid ones. Linear in the list's length.
pub(crate) fn skills(errors: &mut Vec<FieldError>, field: &str, names: &[String]) -> Vec<String> {
    if !at_most(errors, field, names, MAX_SKILLS) {
        return Vec::new();
    }
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<String> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let name = name.trim();
        let valid = (1..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            errors.push(FieldError::new(format!("{field}[{i}]"), FieldProblem::Pattern { expected: "hazmat_permit" }));
        } else if !seen.insert(name) {
            errors.push(FieldError::new(format!("{field}[{i}]"), FieldProblem::Duplicate));
        } else {
            out.push(name.to_owned());
        }
    }
    out
}

/// Latitude bounds of the service area: Taiwan with Penghu, Kinmen and Matsu.
pub const LAT_RANGE: (f64, f64) = (21.5, 26.5);
/// Longitude bounds of the service area: Taiwan with Penghu, Kinmen and Matsu.
pub const LON_RANGE: (f64, f64) = (118.0, 122.5);

/// Checks that coordinates are given and lie in the service area; returns them (0 when missing,
/// in which case an error is recorded).
pub(crate) fn coordinates(errors: &mut Vec<FieldError>, lat: Option<f64>, lon: Option<f64>) -> (f64, f64) {
    coordinates_at(errors, "", lat, lon)
}

/// [`coordinates`] of fields named `{prefix}lat` and `{prefix}lon`.
pub(crate) fn coordinates_at(errors: &mut Vec<FieldError>, prefix: &str, lat: Option<f64>, lon: Option<f64>) -> (f64, f64) {
    for (name, v, (min, max)) in [("lat", lat, LAT_RANGE), ("lon", lon, LON_RANGE)] {
        let field = format!("{prefix}{name}");
        match v {
            None => errors.push(FieldError::new(field, FieldProblem::Required)),
            Some(v) if !(v.is_finite() && v >= min && v <= max) => {
                errors.push(FieldError::new(field, FieldProblem::OutOfRange { min, max }));
            }
            Some(_) => {}
        }
    }
    (lat.unwrap_or(0.0), lon.unwrap_or(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_english_only_when_asked_first() {
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("zh-TW,en;q=0.5")), Lang::ZhTw);
        assert_eq!(Lang::from_accept_language(None), Lang::ZhTw);
    }

    #[test]
    fn says_what_a_value_should_be_in_both_languages_without_type_names() {
        let expected = [
            (Expected::Number, "必須是數字", "must be a number"),
            (Expected::Integer, "必須是整數", "must be an integer"),
            (Expected::NonNegativeInteger, "必須是大於或等於 0 的整數", "must be an integer, 0 or more"),
            (Expected::Bool, "必須是 true 或 false", "must be true or false"),
            (Expected::Text, "必須是字串", "must be a string"),
            (Expected::List, "必須是陣列", "must be a list"),
            (Expected::Object, "必須是物件", "must be an object"),
            (Expected::OneOf(vec!["cash".into(), "monthly".into()]), "必須是下列之一：cash, monthly", "must be one of: cash, monthly"),
        ];
        for (expected, zh, en) in expected {
            let e = FieldError::new("lat", FieldProblem::InvalidType(expected));
            assert_eq!((e.code(), e.message(Lang::ZhTw).as_str(), e.message(Lang::En).as_str()), ("invalid_type", zh, en));
        }
    }

    #[test]
    fn lists_the_fields_an_object_takes_when_it_gets_an_unknown_one() {
        let e = FieldError::new("events[0].colour", FieldProblem::UnknownField { allowed: vec!["type".into(), "order_id".into()] });
        assert_eq!(e.code(), "unknown_field");
        assert_eq!(e.message(Lang::ZhTw), "不是可用的欄位，可用欄位：type, order_id");
        assert_eq!(e.message(Lang::En), "is not a known field, use one of: type, order_id");
        let none = FieldError::new("x", FieldProblem::UnknownField { allowed: vec![] });
        assert_eq!(none.message(Lang::En), "is not a known field: this object takes none");
    }

    #[test]
    fn refuses_more_skills_than_the_solver_tells_apart_without_checking_each() {
        let names: Vec<String> = (0..100_000).map(|i| format!("s{i}")).collect();
        let mut e = Vec::new();
        assert!(skills(&mut e, "skills", &names).is_empty());
        assert_eq!(e, [FieldError::new("skills", FieldProblem::TooMany { max: MAX_SKILLS })]);
        let mut e = Vec::new();
        let names: Vec<String> = (0..MAX_SKILLS).map(|i| format!("s{}", i % 32)).collect();
        assert_eq!(skills(&mut e, "skills", &names).len(), 32);
        assert_eq!((e.len(), e[0].field.as_str(), e[0].code()), (32, "skills[32]", "duplicate"));
    }

    #[test]
    fn tells_control_characters_from_tabs_and_line_breaks() {
        assert!(has_control_character("a\u{0}b") && has_control_character("\u{1b}[31m") && has_control_character("x\u{7f}"));
        assert!(!has_control_character("第一行\n第二行\tok\r\n"));
        let mut errors = Vec::new();
        assert_eq!(required_text(&mut errors, "name", " 陳大文\n", 100), "陳大文", "trimmed first");
        required_text(&mut errors, "address", "台北市\n信義區", 100);
        assert_eq!(errors, [FieldError::new("address", FieldProblem::ControlCharacter)], "single-line fields take no line break");
        let e = FieldError::new("email", FieldProblem::ControlCharacter);
        assert_eq!(e.code(), "control_character");
        assert!(e.message(Lang::En).contains("NUL") && e.message(Lang::ZhTw).contains("NUL"));
    }

    #[test]
    fn rejects_coordinates_outside_taiwan() {
        let mut e = Vec::new();
        assert_eq!(coordinates(&mut e, Some(25.03), Some(121.56)), (25.03, 121.56));
        assert!(e.is_empty());
        coordinates(&mut e, Some(35.0), None);
        assert_eq!(e.iter().map(|e| e.code()).collect::<Vec<_>>(), ["out_of_range", "required"]);
    }
}
