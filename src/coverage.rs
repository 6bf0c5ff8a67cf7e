//! Coverage and unmet demand per language: what a coordinator recruits from.
//!
//! A pure function of the roster and the request history, so that it is the same whichever
//! store holds them.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use crate::language::LanguageTag;
use crate::request::{Request, RequestState};
use crate::roster::{Availability, Interpreter};

/// How far back `recent` looks.
pub const WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);

/// One language's line of the coverage table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguageCoverage {
    pub tag: LanguageTag,
    /// Interpreters on the roster who list the language.
    pub registered: usize,
    /// Of those, the ones available (in a session or not).
    pub on_call: usize,
    /// Of those, the ones free to take an offer now.
    pub available: usize,
    /// Requests waiting now (queued or offered).
    pub waiting: usize,
    /// Requests created in the last [`WINDOW`].
    pub recent: Recent,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recent {
    pub total: usize,
    /// Ever connected to an interpreter (connected now or completed after connecting).
    pub connected: usize,
    pub unfilled: usize,
    /// Median time from creation to connection of the connected ones.
    pub median_wait: Option<SignedDuration>,
}

impl LanguageCoverage {
    fn new(tag: LanguageTag) -> LanguageCoverage {
        LanguageCoverage {
            tag,
            registered: 0,
            on_call: 0,
            available: 0,
            waiting: 0,
            recent: Recent::default(),
        }
    }

    /// Nobody can take a call in this language right now.
    pub fn uncovered(&self) -> bool {
        self.on_call == 0
    }
}

/// Every language with an interpreter registered, a request waiting, or a request in the
/// last week; languages with nobody on call first, then by recent demand, then by tag.
pub fn coverage(
    interpreters: &[Interpreter],
    requests: &[Request],
    now: Timestamp,
) -> Vec<LanguageCoverage> {
    let mut lines: BTreeMap<&LanguageTag, LanguageCoverage> = BTreeMap::new();
    let mut waits: BTreeMap<&LanguageTag, Vec<SignedDuration>> = BTreeMap::new();
    for it in interpreters {
        for skill in &it.languages {
            let line = lines
                .entry(&skill.tag)
                .or_insert_with(|| LanguageCoverage::new(skill.tag.clone()));
            line.registered += 1;
            if it.availability == Availability::Available {
                line.on_call += 1;
                if it.session.is_none() && it.ready_at.is_none_or(|t| t <= now) {
                    line.available += 1;
                }
            }
        }
    }
    let since = now.saturating_sub(WINDOW).unwrap_or(now);
    for r in requests {
        let pending = r.state.is_pending();
        let recent = r.created_at >= since;
        if !pending && !recent {
            continue;
        }
        let line = lines
            .entry(&r.language)
            .or_insert_with(|| LanguageCoverage::new(r.language.clone()));
        if pending {
            line.waiting += 1;
        }
        if recent {
            line.recent.total += 1;
            if r.state == RequestState::Unfilled {
                line.recent.unfilled += 1;
            }
            if let Some(at) = r.connected_at {
                line.recent.connected += 1;
                waits
                    .entry(&r.language)
                    .or_default()
                    .push(at.duration_since(r.created_at));
            }
        }
    }
    let mut out: Vec<LanguageCoverage> = lines
        .into_iter()
        .map(|(tag, mut line)| {
            if let Some(w) = waits.get_mut(tag) {
                w.sort();
                line.recent.median_wait = Some(median(w));
            }
            line
        })
        .collect();
    out.sort_by(|a, b| {
        b.uncovered()
            .cmp(&a.uncovered())
            .then(b.waiting.cmp(&a.waiting))
            .then(b.recent.total.cmp(&a.recent.total))
            .then(a.tag.cmp(&b.tag))
    });
    out
}

fn median(sorted: &[SignedDuration]) -> SignedDuration {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Channel, Priority};
    use crate::roster::{InterpreterId, LanguageSkill, PhoneNumber, Proficiency};
    use crate::testing::{t, tag};

    fn interpreter(id: &str, langs: &[&str], availability: Availability) -> Interpreter {
        Interpreter {
            id: InterpreterId::parse(id).unwrap(),
            name: id.into(),
            phone: PhoneNumber::parse("+525550001234").unwrap(),
            languages: langs
                .iter()
                .map(|l| LanguageSkill {
                    tag: tag(l),
                    proficiency: Proficiency::new(4).unwrap(),
                    certification: None,
                    group: None,
                })
                .collect(),
            availability,
            session: None,
            idle_since: t(0),
            ready_at: None,
            missed_in_row: 0,
            schedule: None,
            created_at: t(0),
        }
    }

    fn request(lang: &str, at: i64, state: RequestState, wait: Option<i64>) -> Request {
        let mut r = Request::new(tag(lang), Priority::Normal, Channel::Phone, t(at));
        r.state = state;
        r.connected_at = wait.map(|w| t(at + w));
        r
    }

    #[test]
    fn counts_supply_and_demand_per_language() {
        let mut busy = interpreter("busy", &["tzo"], Availability::Available);
        busy.session = Some(crate::request::RequestId::generate());
        let roster = [
            interpreter("ana", &["tzo", "spa"], Availability::Available),
            busy,
            interpreter("off", &["tzo"], Availability::Offline),
            interpreter("yu", &["yua"], Availability::Offline),
        ];
        let week = 7 * 24 * 3600;
        let now = t(week + 100);
        let requests = [
            request("tzo", week + 10, RequestState::Completed, Some(20)),
            request("tzo", week + 20, RequestState::Connected, Some(40)),
            request("tzo", week + 30, RequestState::Queued, None),
            request("tzo", 0, RequestState::Completed, Some(999)), // older than a week
            request("yua", week + 40, RequestState::Unfilled, None),
            request("mam", week + 50, RequestState::Queued, None),
        ];
        let table = coverage(&roster, &requests, now);
        let line = |t: &str| table.iter().find(|l| l.tag == tag(t)).unwrap();

        let tzo = line("tzo");
        assert_eq!((tzo.registered, tzo.on_call, tzo.available), (3, 2, 1));
        assert_eq!(tzo.waiting, 1);
        assert_eq!(
            tzo.recent,
            Recent {
                total: 3,
                connected: 2,
                unfilled: 0,
                median_wait: Some(SignedDuration::from_secs(30)),
            }
        );
        let yua = line("yua");
        assert_eq!(
            (yua.registered, yua.on_call, yua.recent.unfilled),
            (1, 0, 1)
        );
        assert!(yua.uncovered());
        // Nobody registered, someone waiting: listed, first.
        assert_eq!(table[0].tag, tag("mam"));
        assert_eq!((table[0].registered, table[0].waiting), (0, 1));
        assert_eq!(
            table.last().unwrap().tag,
            tag("spa"),
            "covered, no demand: last"
        );
    }
}
