//! Alerts: what coordinators must act on, sent to their live streams and to the alert
//! webhook. Serialised as the API shows them (`kind` names the variant).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::language::LanguageTag;

/// A language as an alert names it: its tag and its name in the hotline's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedLanguage {
    pub tag: LanguageTag,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Alert {
    /// Nobody is on call for a language in demand from `from` to `to`, which begins within
    /// `within_hours`.
    CoverageGap {
        language: NamedLanguage,
        from: Timestamp,
        to: Timestamp,
        within_hours: u32,
    },
    /// Requests of a language arrive faster than its interpreters take them: the queue
    /// grows (rates per hour over the last minutes).
    DemandExceedsRoster {
        language: NamedLanguage,
        waiting: usize,
        arrivals_per_hour: u32,
        connections_per_hour: u32,
    },
}

impl Alert {
    /// The kind, as in the JSON (`coverage_gap`), for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Alert::CoverageGap { .. } => "coverage_gap",
            Alert::DemandExceedsRoster { .. } => "demand_exceeds_roster",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_reads_as_its_kind_and_fields() {
        let a = Alert::CoverageGap {
            language: NamedLanguage {
                tag: LanguageTag::parse("tzo").unwrap(),
                name: "tsotsil".into(),
            },
            from: Timestamp::from_second(0).unwrap(),
            to: Timestamp::from_second(3600).unwrap(),
            within_hours: 12,
        };
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["kind"], a.kind());
        assert_eq!(v["language"]["tag"], "tzo");
        assert_eq!(v["within_hours"], 12);
        assert_eq!(serde_json::from_value::<Alert>(v).unwrap(), a);
    }
}
