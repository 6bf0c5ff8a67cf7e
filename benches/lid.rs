//! Language identification benchmarks: `cargo bench --bench lid`.
//!
//! Model load time (from the embedded bytes), and detection throughput on one core for
//! 30-character messages cut from the training text of every language (the mix matters:
//! Spanish text also runs the mixed-language window pass).
//!
//! Under `cargo test --all-targets` (no `--bench`) it runs once with few iterations.

use std::time::{Duration, Instant};

use puente::logic::lid::{Model, EMBEDDED_MODEL};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let mut loads = Vec::new();
    for _ in 0..if full { 30 } else { 2 } {
        let start = Instant::now();
        let m = Model::from_bytes(EMBEDDED_MODEL).unwrap();
        loads.push(start.elapsed());
        std::hint::black_box(m);
    }
    loads.sort();
    println!(
        "model load ({} bytes): median {:.1?}, max {:.1?}",
        EMBEDDED_MODEL.len(),
        loads[loads.len() / 2],
        loads[loads.len() - 1]
    );

    let model = Model::embedded();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/lid");
    let corpora = puente::logic::lid::data::read_corpora(std::path::Path::new(dir)).unwrap();
    let messages: Vec<String> = corpora
        .iter()
        .flat_map(|c| {
            c.lines
                .iter()
                .take(200)
                .map(|l| l.chars().take(30).collect::<String>())
        })
        .collect();
    let rounds = if full { 20 } else { 1 };
    let mut best = Duration::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        for m in &messages {
            std::hint::black_box(model.detect(m));
        }
        best = best.min(start.elapsed());
    }
    let per_sec = messages.len() as f64 / best.as_secs_f64();
    println!(
        "detect: {} messages of 30 characters in {:.1?} (best of {rounds}): {:.0} messages/s on one core",
        messages.len(),
        best,
        per_sec
    );
}
