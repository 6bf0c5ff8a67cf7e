//! Coverage grid benchmark: `cargo bench --bench schedules`.
//!
//! 1,000 interpreters in Mexico's four time zones, each with one to three weekly windows
//! (some crossing midnight) and some time off, 5,000 requests of the last 30 days over 40
//! languages; the grid for the next 7 days, hour by hour (goal < 50 ms).
//!
//! Under `cargo test --all-targets` (no `--bench`) it runs once.

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use puente::domain::ids::InterpreterId;
use puente::domain::language::LanguageTag;
use puente::domain::request::{Channel, Priority, Request};
use puente::domain::roster::{Availability, Interpreter, LanguageSkill, PhoneNumber, Proficiency};
use puente::domain::schedule::Schedule;
use puente::logic::coverage::schedule_grid;

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

const ZONES: [&str; 4] = [
    "America/Mexico_City",
    "America/Cancun",
    "America/Tijuana",
    "America/Hermosillo",
];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let mut rng = Rng(7);
    let now = Timestamp::from_second(1_796_000_000).unwrap();
    let tags: Vec<LanguageTag> = (0..40)
        .map(|i: u8| {
            let code = format!("q{}{}", (b'a' + i / 26) as char, (b'a' + i % 26) as char);
            LanguageTag::parse(&code).unwrap()
        })
        .collect();
    let interpreters: Vec<Interpreter> = (0..1000)
        .map(|i| {
            let windows: Vec<serde_json::Value> = (0..1 + rng.below(3))
                .map(|_| {
                    let days: Vec<&str> = DAYS
                        .iter()
                        .filter(|_| rng.below(2) == 0)
                        .copied()
                        .collect();
                    let start = rng.below(24);
                    let end = (start + 4 + rng.below(10)) % 24;
                    serde_json::json!({
                        "days": if days.is_empty() { vec!["mon"] } else { days },
                        "start": format!("{start:02}:00"),
                        "end": format!("{end:02}:30"),
                    })
                })
                .collect();
            let schedule: Schedule = serde_json::from_value(serde_json::json!({
                "time_zone": ZONES[i % 4],
                "windows": windows,
                "exceptions": if i % 5 == 0 {
                    serde_json::json!([{"kind": "off", "from": "2026-12-01T00:00", "to": "2026-12-03T12:00"}])
                } else {
                    serde_json::json!([])
                },
            }))
            .unwrap();
            Interpreter {
                id: InterpreterId::parse(&format!("i{i}")).unwrap(),
                name: format!("I{i}"),
                phone: PhoneNumber::parse("+525550001234").unwrap(),
                languages: (0..1 + rng.below(2))
                    .map(|_| LanguageSkill {
                        tag: tags[rng.below(40) as usize].clone(),
                        proficiency: Proficiency::new(3).unwrap(),
                        certification: None,
                        group: None,
                    })
                    .collect(),
                availability: Availability::Offline,
                session: None,
                idle_since: now,
                ready_at: None,
                missed_in_row: 0,
                created_at: now,
                schedule: Some(schedule),
                certification: None,
                revision: 1,
            }
        })
        .collect();
    let requests: Vec<Request> = (0..5000)
        .map(|_| {
            let ago = SignedDuration::from_mins(rng.below(30 * 24 * 60) as i64);
            Request::new(
                tags[rng.below(40) as usize].clone(),
                Priority::Normal,
                Channel::Phone,
                now - ago,
            )
        })
        .collect();
    let tz = jiff::tz::TimeZone::get("America/Mexico_City").unwrap();
    let runs = if full { 30 } else { 1 };
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(schedule_grid(&interpreters, &requests, now, &tz, 7 * 24));
            start.elapsed()
        })
        .collect();
    times.sort();
    let grid = schedule_grid(&interpreters, &requests, now, &tz, 7 * 24);
    println!(
        "coverage grid, 1,000 interpreters x 7 days x 24 h, {} languages, {} gaps: median {:.1?}, max {:.1?} (goal < 50 ms)",
        grid.lines.len(),
        grid.gaps.len(),
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
