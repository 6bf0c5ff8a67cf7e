//! Resolver benchmarks: `cargo bench --bench languages`.
//!
//! One query resolved over the whole catalogue (68 agrupaciones, 332 variants, ~7,900 ISO
//! codes, ~2,000 places), for each kind of phrasing an operator uses; and building the
//! catalogue at start. Each figure is the median of many runs of one query.
//!
//! Under `cargo test --all-targets` (no `--bench`) it runs once with few iterations.

use std::time::{Duration, Instant};

use puente::domain::language::Catalogue;

const QUERIES: &[(&str, &str)] = &[
    ("tag", "tzo"),
    ("name", "tsotsil"),
    ("name, accents off", "nahuatl"),
    ("self-name", "bats'i k'op"),
    ("variant name", "zapoteco de la planicie costera"),
    ("prefix", "zapoteco de la sie"),
    ("phrase", "hablo mexicano"),
    ("place", "de Juchitán"),
    ("typo", "tsotzil"),
    ("two typos", "chinantecko"),
    ("nothing", "klingon"),
];

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let builds: Vec<Duration> = (0..if full { 10 } else { 1 })
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(Catalogue::embedded());
            start.elapsed()
        })
        .collect();
    println!("catalogue build: median {:.1?}", median(builds));

    let cat = Catalogue::embedded();
    let runs = if full { 2_000 } else { 3 };
    let mut worst = Duration::ZERO;
    for (kind, q) in QUERIES {
        let times: Vec<Duration> = (0..runs)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(cat.resolve(std::hint::black_box(q)));
                start.elapsed()
            })
            .collect();
        let m = median(times);
        worst = worst.max(m);
        println!("resolve {kind:<18} {q:<34} median {m:>8.1?}");
    }
    println!("slowest query median: {worst:.1?} (goal < 20 µs)");
}
