//! Helpers shared by the unit tests.

use jiff::Timestamp;

use crate::domain::language::LanguageTag;

/// A fixed instant plus `s` seconds.
pub fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

pub fn tag(s: &str) -> LanguageTag {
    LanguageTag::parse(s).unwrap()
}
