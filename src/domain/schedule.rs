//! On-call schedules: weekly windows in the interpreter's own time zone, and dated
//! exceptions (time off, an extra shift). Pure: every function takes the instant it is about.
//!
//! Times are civil times in the schedule's IANA time zone (default America/Mexico_City),
//! turned into instants through the time zone database (jiff, with the database bundled in
//! the binary), never through fixed offsets: Tijuana's daylight saving time moves its
//! windows against Mexico City's, Cancún has none. A window whose end is not after its start
//! crosses midnight (`22:00`–`06:00` on Friday runs into Saturday). A civil time that does
//! not exist (skipped by a daylight-saving change) moves forward by the gap (02:30 becomes
//! 03:30), one that happens twice is the first of the two: the "compatible" rule calendars
//! use (RFC 5545).
//!
//! The availability that follows from a schedule is applied at its boundaries only (see
//! `scheduler`): at a window's start the interpreter becomes available, at its end offline.
//! So an interpreter who goes offline inside a window stays offline until the next window
//! starts, and one who goes available outside any window stays so until the next end.

use std::fmt;

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

pub const DEFAULT_TIME_ZONE: &str = "America/Mexico_City";

fn default_zone() -> String {
    DEFAULT_TIME_ZONE.to_string()
}

/// A day of the week, as written in rosters and the API: `mon` … `sun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    fn weekday(self) -> Weekday {
        match self {
            Day::Mon => Weekday::Monday,
            Day::Tue => Weekday::Tuesday,
            Day::Wed => Weekday::Wednesday,
            Day::Thu => Weekday::Thursday,
            Day::Fri => Weekday::Friday,
            Day::Sat => Weekday::Saturday,
            Day::Sun => Weekday::Sunday,
        }
    }
}

/// A weekly on-call window: on these days, from `start` to `end` (civil times).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub days: Vec<Day>,
    pub start: Time,
    /// Not after `start`: the window ends the next day.
    pub end: Time,
}

/// What a dated exception does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// Not on call, whatever the windows say.
    Off,
    /// On call, whatever the windows say.
    Extra,
}

/// A dated exception, from `from` to `to` (civil date-times in the schedule's zone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    pub kind: ExceptionKind,
    pub from: DateTime,
    pub to: DateTime,
}

/// An interpreter's on-call schedule. Without windows (only time off, say), it does not
/// switch anyone on or off except at its exceptions' edges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    #[serde(default = "default_zone")]
    pub time_zone: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<Window>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<Exception>,
}

impl Schedule {
    /// No windows and no exceptions, in the default time zone: where time off goes for an
    /// interpreter without a schedule.
    pub fn time_off_only() -> Schedule {
        Schedule {
            time_zone: DEFAULT_TIME_ZONE.into(),
            windows: Vec::new(),
            exceptions: Vec::new(),
        }
    }
}

/// A boundary of the on-call intervals: at `at`, the interpreter goes on call (`true`) or
/// off call (`false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub at: Timestamp,
    pub on_call: bool,
}

/// What is wrong with a schedule, for the coordinator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError(pub String);

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How far around an instant intervals are computed: windows are weekly, so a week and a
/// day on either side finds every boundary near it.
const HORIZON_DAYS: i64 = 8;

impl Schedule {
    /// Refuse what cannot be meant: an unknown time zone, a window with no days or of no
    /// time, an exception that ends before it starts.
    pub fn check(&self) -> Result<(), ScheduleError> {
        self.zone()?;
        for (i, w) in self.windows.iter().enumerate() {
            if w.days.is_empty() {
                return Err(ScheduleError(format!(
                    "windows[{i}]: list the days, e.g. [\"mon\", \"tue\"]"
                )));
            }
            if w.start == w.end {
                return Err(ScheduleError(format!(
                    "windows[{i}]: start and end are the same time; a window needs some time"
                )));
            }
        }
        for (i, e) in self.exceptions.iter().enumerate() {
            if e.to <= e.from {
                return Err(ScheduleError(format!(
                    "exceptions[{i}]: `to` ({}) must be after `from` ({})",
                    e.to, e.from
                )));
            }
        }
        if self.windows.len() > 50 || self.exceptions.len() > 500 {
            return Err(ScheduleError(
                "at most 50 windows and 500 exceptions".into(),
            ));
        }
        Ok(())
    }

    fn zone(&self) -> Result<TimeZone, ScheduleError> {
        TimeZone::get(&self.time_zone).map_err(|_| {
            ScheduleError(format!(
                "`{}` is not an IANA time zone (e.g. America/Mexico_City, America/Tijuana)",
                self.time_zone
            ))
        })
    }

    /// The on-call intervals that overlap `[from, to)`, merged and clipped, in order.
    pub fn intervals(&self, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        let Ok(tz) = self.zone() else {
            return Vec::new();
        };
        let instant = |dt: DateTime| -> Option<Timestamp> {
            tz.to_ambiguous_zoned(dt)
                .compatible()
                .ok()
                .map(|z| z.timestamp())
        };
        let first = tz.to_datetime(from).date().saturating_sub(1.day());
        let last = tz.to_datetime(to).date().saturating_add(1.day());
        let mut on: Vec<(Timestamp, Timestamp)> = Vec::new();
        // No windows: on call whenever the interpreter says so, apart from the exceptions.
        if self.windows.is_empty() {
            on.push((from, to));
        }
        let mut day: Date = first;
        while day <= last {
            for w in &self.windows {
                if !w.days.iter().any(|d| d.weekday() == day.weekday()) {
                    continue;
                }
                let end_day = if w.end > w.start {
                    day
                } else {
                    day.saturating_add(1.day())
                };
                if let (Some(s), Some(e)) = (
                    instant(day.to_datetime(w.start)),
                    instant(end_day.to_datetime(w.end)),
                ) {
                    if s < e {
                        on.push((s, e));
                    }
                }
            }
            day = day.saturating_add(1.day());
        }
        let mut off = Vec::new();
        for e in &self.exceptions {
            if let (Some(s), Some(t)) = (instant(e.from), instant(e.to)) {
                match e.kind {
                    ExceptionKind::Extra => on.push((s, t)),
                    ExceptionKind::Off => off.push((s, t)),
                }
            }
        }
        let on = merge(on);
        let off = merge(off);
        subtract(&on, &off)
            .into_iter()
            .filter_map(|(s, e)| {
                let (s, e) = (s.max(from), e.min(to));
                (s < e).then_some((s, e))
            })
            .collect()
    }

    /// Whether the schedule has the interpreter on call at `t`.
    pub fn on_call_at(&self, t: Timestamp) -> bool {
        let end = t + SignedDuration::from_secs(1);
        self.intervals(t, end).iter().any(|&(s, _)| s <= t)
    }

    /// The boundaries in `(after, until]`, in order.
    pub fn changes(&self, after: Timestamp, until: Timestamp) -> Vec<Change> {
        let pad = SignedDuration::from_hours(24);
        let mut out = Vec::new();
        for (s, e) in self.intervals(after - pad, until + pad) {
            if s > after && s <= until {
                out.push(Change {
                    at: s,
                    on_call: true,
                });
            }
            if e > after && e <= until {
                out.push(Change {
                    at: e,
                    on_call: false,
                });
            }
        }
        out.sort_by_key(|c| c.at);
        out
    }

    /// The first boundary after `t`, if there is one within the next week and a day.
    pub fn next_change(&self, t: Timestamp) -> Option<Change> {
        let until = t + SignedDuration::from_hours(24 * HORIZON_DAYS);
        self.changes(t, until).into_iter().next()
    }
}

fn merge(mut spans: Vec<(Timestamp, Timestamp)>) -> Vec<(Timestamp, Timestamp)> {
    spans.sort();
    let mut out: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// `on` minus `off`, both merged and sorted.
fn subtract(
    on: &[(Timestamp, Timestamp)],
    off: &[(Timestamp, Timestamp)],
) -> Vec<(Timestamp, Timestamp)> {
    let mut out = Vec::new();
    for &(mut s, e) in on {
        for &(os, oe) in off {
            if oe <= s || os >= e {
                continue;
            }
            if os > s {
                out.push((s, os));
            }
            s = s.max(oe);
            if s >= e {
                break;
            }
        }
        if s < e {
            out.push((s, e));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An instant given as a civil time in a zone.
    fn at(zone: &str, civil: &str) -> Timestamp {
        let dt: DateTime = civil.parse().unwrap();
        dt.to_zoned(TimeZone::get(zone).unwrap())
            .unwrap()
            .timestamp()
    }

    fn window(days: &[Day], start: &str, end: &str) -> Window {
        Window {
            days: days.to_vec(),
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
        }
    }

    fn schedule(zone: &str, windows: Vec<Window>) -> Schedule {
        Schedule {
            time_zone: zone.into(),
            windows,
            exceptions: Vec::new(),
        }
    }

    #[test]
    fn a_window_crossing_midnight_runs_into_the_next_day() {
        // Friday 22:00 to Saturday 06:00 in Mexico City (2026-11-27 is a Friday).
        let s = schedule(
            DEFAULT_TIME_ZONE,
            vec![window(&[Day::Fri], "22:00", "06:00")],
        );
        let mx = |c: &str| at(DEFAULT_TIME_ZONE, c);
        assert!(!s.on_call_at(mx("2026-11-27T21:59:59")));
        assert!(s.on_call_at(mx("2026-11-27T22:00")));
        assert!(s.on_call_at(mx("2026-11-28T05:59:59")));
        assert!(!s.on_call_at(mx("2026-11-28T06:00")));
        // Saturday night is not a Friday night.
        assert!(!s.on_call_at(mx("2026-11-28T23:00")));
        assert_eq!(
            s.next_change(mx("2026-11-27T12:00")),
            Some(Change {
                at: mx("2026-11-27T22:00"),
                on_call: true
            })
        );
        assert_eq!(
            s.next_change(mx("2026-11-27T23:00")),
            Some(Change {
                at: mx("2026-11-28T06:00"),
                on_call: false
            })
        );
    }

    #[test]
    fn tijuana_windows_follow_its_daylight_saving_time() {
        // Every day 08:00–16:00 in Tijuana. On 2026-03-08 Tijuana springs forward (UTC-8 to
        // UTC-7); the window starts at 08:00 local on both sides of the change, so one hour
        // earlier in UTC after it.
        let s = schedule("America/Tijuana", vec![window(&ALL, "08:00", "16:00")]);
        let before = s.next_change(at("UTC", "2026-03-07T00:00")).unwrap();
        let after = s.next_change(at("UTC", "2026-03-09T00:00")).unwrap();
        assert_eq!(
            before.at,
            at("UTC", "2026-03-07T16:00"),
            "08:00 PST = 16:00 UTC"
        );
        assert_eq!(
            after.at,
            at("UTC", "2026-03-09T15:00"),
            "08:00 PDT = 15:00 UTC"
        );
        // A window in the hour that does not exist that night moves forward by the gap.
        let gap = schedule(
            "America/Tijuana",
            vec![window(&[Day::Sun], "02:30", "04:00")],
        );
        let start = gap
            .next_change(at("America/Tijuana", "2026-03-08T00:00"))
            .unwrap();
        assert_eq!(start.at, at("UTC", "2026-03-08T10:30"), "03:30 PDT");
        // And back in November (2026-11-01), 08:00 PST again.
        let nov = s.next_change(at("UTC", "2026-11-02T00:00")).unwrap();
        assert_eq!(nov.at, at("UTC", "2026-11-02T16:00"));
    }

    #[test]
    fn cancun_has_no_daylight_saving_time() {
        let s = schedule("America/Cancun", vec![window(&ALL, "09:00", "17:00")]);
        for day in ["2026-01-15", "2026-07-15"] {
            let start = s.next_change(at("UTC", &format!("{day}T00:00"))).unwrap();
            assert_eq!(
                start.at,
                at("UTC", &format!("{day}T14:00")),
                "UTC-5 all year"
            );
        }
    }

    #[test]
    fn exceptions_override_windows() {
        let mut s = schedule(DEFAULT_TIME_ZONE, vec![window(&ALL, "08:00", "16:00")]);
        let mx = |c: &str| at(DEFAULT_TIME_ZONE, c);
        s.exceptions.push(Exception {
            kind: ExceptionKind::Off,
            from: "2026-12-24T12:00".parse().unwrap(),
            to: "2026-12-26T00:00".parse().unwrap(),
        });
        s.exceptions.push(Exception {
            kind: ExceptionKind::Extra,
            from: "2026-12-27T20:00".parse().unwrap(),
            to: "2026-12-27T23:00".parse().unwrap(),
        });
        assert!(s.on_call_at(mx("2026-12-24T10:00")));
        assert!(
            !s.on_call_at(mx("2026-12-24T12:00")),
            "time off starts mid-window"
        );
        assert!(!s.on_call_at(mx("2026-12-25T10:00")), "Christmas off");
        assert!(s.on_call_at(mx("2026-12-26T10:00")));
        assert!(s.on_call_at(mx("2026-12-27T21:00")), "an extra shift");
        assert_eq!(
            s.changes(mx("2026-12-24T09:00"), mx("2026-12-26T09:00")),
            vec![
                Change {
                    at: mx("2026-12-24T12:00"),
                    on_call: false
                },
                Change {
                    at: mx("2026-12-26T08:00"),
                    on_call: true
                },
            ]
        );
    }

    #[test]
    fn nonsense_is_refused_with_a_reason() {
        let mut s = schedule("Mars/Olympus_Mons", vec![]);
        assert!(s.check().unwrap_err().0.contains("IANA"));
        s.time_zone = DEFAULT_TIME_ZONE.into();
        s.windows.push(window(&[], "08:00", "09:00"));
        assert!(s.check().unwrap_err().0.contains("days"));
        s.windows[0] = window(&[Day::Mon], "08:00", "08:00");
        assert!(s.check().unwrap_err().0.contains("same time"));
        s.windows.clear();
        s.exceptions.push(Exception {
            kind: ExceptionKind::Off,
            from: "2026-12-26T00:00".parse().unwrap(),
            to: "2026-12-24T00:00".parse().unwrap(),
        });
        assert!(s.check().unwrap_err().0.contains("after"));
    }

    #[test]
    fn schedules_read_from_toml_with_short_times() {
        let s: Schedule = toml::from_str(
            "time_zone = \"America/Tijuana\"\nwindows = [{ days = [\"mon\", \"fri\"], start = \"08:00\", end = \"16:30\" }]\n",
        )
        .unwrap();
        assert_eq!(s.windows[0].end, "16:30:00".parse::<Time>().unwrap());
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            !json.contains("exceptions"),
            "empty lists are left out: {json}"
        );
        assert_eq!(serde_json::from_str::<Schedule>(&json).unwrap(), s);
        let default: Schedule = toml::from_str("").unwrap();
        assert_eq!(default.time_zone, DEFAULT_TIME_ZONE);
    }

    #[test]
    fn without_windows_only_the_exceptions_switch() {
        let mx = |c: &str| at(DEFAULT_TIME_ZONE, c);
        let mut s = schedule(DEFAULT_TIME_ZONE, vec![]);
        assert!(s.on_call_at(mx("2026-12-01T03:00")));
        assert_eq!(s.next_change(mx("2026-12-01T03:00")), None);
        s.exceptions.push(Exception {
            kind: ExceptionKind::Off,
            from: "2026-12-24T00:00".parse().unwrap(),
            to: "2026-12-26T00:00".parse().unwrap(),
        });
        assert_eq!(
            s.changes(mx("2026-12-20T00:00"), mx("2026-12-30T00:00")),
            vec![
                Change {
                    at: mx("2026-12-24T00:00"),
                    on_call: false
                },
                Change {
                    at: mx("2026-12-26T00:00"),
                    on_call: true
                },
            ]
        );
    }

    const ALL: [Day; 7] = [
        Day::Mon,
        Day::Tue,
        Day::Wed,
        Day::Thu,
        Day::Fri,
        Day::Sat,
        Day::Sun,
    ];
}
