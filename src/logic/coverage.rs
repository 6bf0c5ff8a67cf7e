//! Coverage and unmet demand per language: what a coordinator recruits from.
//!
//! A pure function of the roster and the request history, so that it is the same whichever
//! store holds them.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use crate::domain::language::LanguageTag;
use crate::domain::request::{Request, RequestState};
use crate::domain::roster::{Availability, Interpreter};

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

/// How far back a language counts as in demand for the schedule grid and its gaps.
pub const DEMAND_WINDOW: SignedDuration = SignedDuration::from_hours(30 * 24);

/// Interpreters on call per language and hour, ahead of now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    /// The start of the first hour (the current hour in the hotline's time zone).
    pub start: Timestamp,
    pub hours: usize,
    pub lines: Vec<GridLine>,
    /// Hours with nobody on call for a language in demand, soonest first.
    pub gaps: Vec<Gap>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridLine {
    pub tag: LanguageTag,
    /// Interpreters on call for at least part of each hour.
    pub on_call: Vec<u32>,
    /// Requests in the last 30 days.
    pub demand: usize,
}

impl GridLine {
    fn empty(tag: &LanguageTag, hours: usize) -> GridLine {
        GridLine {
            tag: tag.clone(),
            on_call: vec![0; hours],
            demand: 0,
        }
    }
}

/// A stretch of hours with nobody on call for a language in demand.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gap {
    pub tag: LanguageTag,
    pub from: Timestamp,
    pub to: Timestamp,
}

/// When, between `start` and `end`, interpreter `it` is on call.
fn on_call_spans(
    it: &Interpreter,
    start: Timestamp,
    end: Timestamp,
    now: Timestamp,
) -> Vec<(Timestamp, Timestamp)> {
    match &it.schedule {
        // Windows say when; without windows only time off does, around availability
        // (on call now, or off now because of time off and back after it).
        Some(s) if !s.windows.is_empty() => s.intervals(start, end),
        Some(s) if it.availability == Availability::Available || !s.on_call_at(now) => {
            s.intervals(start, end)
        }
        Some(_) => Vec::new(),
        None if it.availability == Availability::Available => vec![(start, end)],
        None => Vec::new(),
    }
}

/// The coverage grid from the current hour (in `tz`) for `hours` hours. An interpreter
/// with a schedule counts where it has them on call; one without counts for every hour if
/// available now (availability is all puente knows of them), for none otherwise.
pub fn schedule_grid(
    interpreters: &[Interpreter],
    requests: &[Request],
    now: Timestamp,
    tz: &jiff::tz::TimeZone,
    hours: usize,
) -> Grid {
    let hour_start = jiff::ZonedRound::new()
        .smallest(jiff::Unit::Hour)
        .mode(jiff::RoundMode::Trunc);
    let start = now
        .to_zoned(tz.clone())
        .round(hour_start)
        .map_or(now, |z| z.timestamp());
    let hour = SignedDuration::from_hours(1);
    let end = start + SignedDuration::from_hours(hours as i64);
    let mut lines: BTreeMap<&LanguageTag, GridLine> = BTreeMap::new();
    for it in interpreters {
        // Hour slots this interpreter covers.
        let mut covered = vec![false; hours];
        for (s, e) in on_call_spans(it, start, end, now) {
            let first = (s.duration_since(start).as_secs() / 3600).max(0) as usize;
            let last = ((e.duration_since(start) - SignedDuration::from_nanos(1)).as_secs() / 3600)
                .max(0) as usize;
            for slot in covered.iter_mut().take(last.min(hours - 1) + 1).skip(first) {
                *slot = true;
            }
        }
        for skill in &it.languages {
            let l = lines
                .entry(&skill.tag)
                .or_insert_with(|| GridLine::empty(&skill.tag, hours));
            for (n, c) in l.on_call.iter_mut().zip(&covered) {
                *n += u32::from(*c);
            }
        }
    }
    let since = now.saturating_sub(DEMAND_WINDOW).unwrap_or(now);
    for r in requests.iter().filter(|r| r.created_at >= since) {
        lines
            .entry(&r.language)
            .or_insert_with(|| GridLine::empty(&r.language, hours))
            .demand += 1;
    }
    let mut gaps = Vec::new();
    for l in lines.values().filter(|l| l.demand > 0) {
        let mut open: Option<usize> = None;
        for (i, n) in l.on_call.iter().chain(std::iter::once(&1)).enumerate() {
            match (open, *n == 0 && i < hours) {
                (None, true) => open = Some(i),
                (Some(from), false) => {
                    gaps.push(Gap {
                        tag: l.tag.clone(),
                        from: start + hour * from as i32,
                        to: start + hour * i as i32,
                    });
                    open = None;
                }
                _ => {}
            }
        }
    }
    gaps.sort_by(|a, b| (a.from, &a.tag).cmp(&(b.from, &b.tag)));
    Grid {
        start,
        hours,
        lines: lines.into_values().collect(),
        gaps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::InterpreterId;
    use crate::domain::request::{Channel, Priority};
    use crate::domain::roster::{LanguageSkill, PhoneNumber, Proficiency};
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
            certification: None,
            revision: 1,
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
        busy.session = Some(crate::domain::ids::RequestId::generate());
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

    #[test]
    fn the_schedule_grid_counts_on_call_hours_and_lists_gaps_soonest_first() {
        let tz = jiff::tz::TimeZone::get("America/Mexico_City").unwrap();
        let mx = |c: &str| -> Timestamp {
            c.parse::<jiff::civil::DateTime>()
                .unwrap()
                .to_zoned(tz.clone())
                .unwrap()
                .timestamp()
        };
        let mut day = interpreter("day", &["tzo"], Availability::Offline);
        day.schedule = Some(
            serde_json::from_value(serde_json::json!({
                "windows": [{"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "08:30", "end": "10:00"}]
            }))
            .unwrap(),
        );
        let always = interpreter("always", &["hch"], Availability::Available);
        let now = mx("2026-11-30T06:45");
        let requests = [
            {
                let mut r = request("tzo", 0, RequestState::Completed, Some(5));
                r.created_at = mx("2026-09-01T10:00"); // long ago: no demand
                r
            },
            {
                let mut r = request("tzo", 0, RequestState::Completed, Some(5));
                r.created_at = mx("2026-11-20T10:00");
                r
            },
            {
                let mut r = request("yua", 0, RequestState::Unfilled, None);
                r.created_at = mx("2026-11-29T10:00");
                r
            },
        ];
        let grid = schedule_grid(&[day, always], &requests, now, &tz, 24);
        assert_eq!(grid.start, mx("2026-11-30T06:00"), "the current hour");
        let line = |t: &str| grid.lines.iter().find(|l| l.tag == tag(t)).unwrap();
        let tzo = line("tzo");
        assert_eq!(tzo.demand, 1);
        // 08:30–10:00 covers the 08:00 and 09:00 slots (2 and 3 hours after 06:00).
        assert_eq!(&tzo.on_call[..5], &[0, 0, 1, 1, 0]);
        assert!(line("hch").on_call.iter().all(|&n| n == 1));
        assert_eq!(line("hch").demand, 0);
        // Gaps: Maya all day, Tsotsil before and after its window; Huichol has no demand.
        let gaps: Vec<(String, Timestamp, Timestamp)> = grid
            .gaps
            .iter()
            .map(|g| (g.tag.to_string(), g.from, g.to))
            .collect();
        assert_eq!(
            gaps,
            vec![
                ("tzo".into(), mx("2026-11-30T06:00"), mx("2026-11-30T08:00")),
                ("yua".into(), mx("2026-11-30T06:00"), mx("2026-12-01T06:00")),
                ("tzo".into(), mx("2026-11-30T10:00"), mx("2026-12-01T06:00")),
            ]
        );
    }
}
