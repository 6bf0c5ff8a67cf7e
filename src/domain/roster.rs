//! The roster: interpreters and the newtypes that describe them ([`PhoneNumber`],
//! [`Proficiency`], [`Availability`]).
//!
//! Everything here is parsed once at the edge; the core never sees a raw string.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::ids::InterpreterId;
use crate::domain::ids::RequestId;
use crate::domain::language::{Catalogue, LanguageTag};

/// A phone number in E.164 form (`+` then 8 to 15 digits, no leading zero). It is personal
/// data: its `Debug` shows only the last two digits, so it cannot leak into a log by accident.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(s: &str) -> Result<PhoneNumber, String> {
        // People write numbers with spaces, dashes and brackets; E.164 has none of them.
        let compact: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
            .collect();
        let digits = compact.strip_prefix('+').unwrap_or("");
        let ok = (8..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0');
        if ok {
            Ok(PhoneNumber(compact))
        } else {
            Err("phone number must be in E.164 form: `+`, the country code, then the number, 8 to 15 digits in all (for example `+529671234567`)".to_string())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = &self.0[self.0.len().saturating_sub(2)..];
        write!(f, "PhoneNumber(…{tail})")
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PhoneNumber::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// How well an interpreter speaks a language, 1 (basic) to 5 (native or certified level).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Proficiency(u8);

impl Proficiency {
    pub fn new(n: i64) -> Result<Proficiency, String> {
        if (1..=5).contains(&n) {
            Ok(Proficiency(n as u8))
        } else {
            Err(format!(
                "proficiency must be a whole number from 1 (basic) to 5 (native), not {n}"
            ))
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Proficiency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Proficiency::new(i64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// One language an interpreter works in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanguageSkill {
    pub tag: LanguageTag,
    pub proficiency: Proficiency,
    /// A certification such as INALI's PANITLI registration or EC0015, free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification: Option<String>,
    /// The agrupación of `tag`, filled in from the catalogue when the interpreter is added or
    /// edited (so that the store can index interpreters by agrupación).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<LanguageTag>,
}

/// What a coordinator may change about an interpreter: everything but the id, the token and
/// the live state (availability, session).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    pub phone: PhoneNumber,
    pub languages: Vec<LanguageSkill>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<crate::domain::schedule::Schedule>,
    /// The person's registration or certification (INALI's PANITLI, EC0015), free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification: Option<String>,
}

/// Whether an interpreter wants to receive offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Available,
    Offline,
}

crate::domain::named::named!(Availability, "status", Available => "available", Offline => "offline");

/// What an interpreter is doing right now, as the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Available,
    Offline,
    /// In a session (connected to a request).
    Connected,
}

/// An interpreter on the roster. Serialised as stored (Redis), not as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interpreter {
    pub id: InterpreterId,
    pub name: String,
    pub phone: PhoneNumber,
    pub languages: Vec<LanguageSkill>,
    pub availability: Availability,
    /// The request this interpreter is connected to, if any.
    pub session: Option<RequestId>,
    /// Since when the interpreter has been free; the longest idle is offered first.
    pub idle_since: Timestamp,
    /// Not offered anything before this instant (wrap-up time after a session).
    pub ready_at: Option<Timestamp>,
    /// Offers let expire in a row; reset by any answer.
    pub missed_in_row: u32,
    pub created_at: Timestamp,
    /// When the interpreter is on call; none: availability is only what they set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<crate::domain::schedule::Schedule>,
    /// The person's registration or certification (INALI's PANITLI, EC0015), free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification: Option<String>,
    /// The profile's revision: one more at every edit of the profile (name, phone,
    /// languages, schedule, certification, time off), so that an edit made from a stale
    /// copy can be refused (`ETag`, `If-Match`).
    #[serde(default)]
    pub revision: u64,
}

impl Interpreter {
    pub fn status(&self) -> Status {
        match (self.session.is_some(), self.availability) {
            (true, _) => Status::Connected,
            (false, Availability::Available) => Status::Available,
            (false, Availability::Offline) => Status::Offline,
        }
    }

    pub fn speaks(&self, tag: &LanguageTag) -> Option<Proficiency> {
        self.languages
            .iter()
            .find(|s| &s.tag == tag)
            .map(|s| s.proficiency)
    }
}

/// Validate a display name: not blank, at most 200 characters.
pub fn parse_name(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        Err("name must not be empty".into())
    } else if t.chars().count() > 200 {
        Err("name must be at most 200 characters".into())
    } else {
        Ok(t.to_string())
    }
}

/// Check a list of skills against the catalogue: known tags, at least one, no duplicates.
pub fn check_skills(skills: &[LanguageSkill], catalogue: &Catalogue) -> Result<(), String> {
    if skills.is_empty() {
        return Err("an interpreter needs at least one language, for example `[{\"tag\": \"tzo\", \"proficiency\": 5}]`".into());
    }
    for (i, s) in skills.iter().enumerate() {
        if catalogue.get(&s.tag).is_none() {
            let hint = match catalogue.search(s.tag.as_str()).first() {
                Some(c) => format!(
                    "did you mean `{}` ({})?",
                    c.language.tag, c.language.names_en[0]
                ),
                None => "see GET /api/v1/languages?q= for the tags puente knows".into(),
            };
            return Err(format!(
                "language `{}` is not in the catalogue: {hint}",
                s.tag
            ));
        }
        if skills[..i].iter().any(|o| o.tag == s.tag) {
            return Err(format!("language `{}` is listed twice", s.tag));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_e164_and_never_printed_whole() {
        let p = PhoneNumber::parse("+52 967 123 4567").unwrap();
        assert_eq!(p.as_str(), "+529671234567");
        assert_eq!(format!("{p:?}"), "PhoneNumber(…67)");
        assert!(PhoneNumber::parse("9671234567").is_err());
        assert!(PhoneNumber::parse("+0529671234567").is_err());
        assert!(PhoneNumber::parse("+52abc").is_err());
    }

    #[test]
    fn ids_are_restricted_to_a_safe_alphabet() {
        assert!(InterpreterId::parse("ana-lopez_2").is_ok());
        assert!(InterpreterId::parse("").is_err());
        assert!(InterpreterId::parse("Ana").is_err());
        assert!(InterpreterId::parse("-ana").is_err());
        assert!(InterpreterId::parse("a/b").is_err());
    }
}
