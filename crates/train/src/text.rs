//! Serde through a type's text form (`Display` out, `FromStr` in), for
//! settings that people write as text: a schedule (`cosine`), an
//! augmentation (`rotate=10,shift=2`), a split (`full`). The text of a
//! `ladder.toml` rung, of `mnist train`'s flag and of a model file's
//! metadata is then one and the same.

use std::fmt::Display;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serializer, de::Error};

/// Writes `value` as its text.
pub fn serialize<T: Display, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// Reads a value from its text; a text that does not parse is an error
/// with the parser's words.
pub fn deserialize<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: FromStr,
    T::Err: Display,
    D: Deserializer<'de>,
{
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(D::Error::custom)
}
