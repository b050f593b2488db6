//! Serde through text: the identifiers of this crate (統一編號, invoice numbers, periods, codes)
//! travel in JSON as the strings people read, and deserializing one validates it with the same
//! parser as [`std::str::FromStr`], so an invalid value never enters the program from outside.

use serde::{Deserialize, Deserializer, Serializer};
use std::fmt::Display;
use std::str::FromStr;

/// Serializes `value` through its [`Display`] text.
pub(crate) fn serialize<T: Display, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// Deserializes a string and parses it with `T`'s [`FromStr`], reporting the parser's error.
pub(crate) fn deserialize<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: FromStr,
    T::Err: Display,
    D: Deserializer<'de>,
{
    let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    text.parse().map_err(serde::de::Error::custom)
}
