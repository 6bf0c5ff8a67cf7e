//! Training: count character n-grams per label, keep the most frequent per label, turn
//! counts into smoothed log probabilities, then calibrate the temperature and the
//! confidence threshold by k-fold cross-validation. Deterministic: the same text gives the
//! same model, byte for byte. No I/O: corpora come in as strings.

use std::collections::HashMap;

use super::{features, Header, Model, SCALE};
use crate::domain::language::LanguageTag;

/// The training text of one label.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// File name without extension: `tzo`, `hus-x-hva`.
    pub label: String,
    /// Where the text comes from (`udhr`, `mxconst`…), for leave-one-domain-out evaluation.
    pub domain: String,
    pub group: LanguageTag,
    pub lines: Vec<String>,
    /// Generated from another corpus (a respelling): trained on, never tested on.
    pub twin: bool,
}

/// Which routable group (catalogue tag) each trained label belongs to.
pub fn group_of(label: &str) -> Option<&'static str> {
    let base = label.split("-x-").next().unwrap_or(label);
    Some(match base {
        "spa" => "spa",
        "eng" => "eng",
        "nhn" | "nah" | "nhe" => "nah",
        "yua" => "yua",
        "tzo" => "tzo",
        "tzh" => "tzh",
        "mxv" => "und-mixteco",
        "zam" | "ztu" => "zap",
        "ote" => "und-otomi",
        "maz" => "und-mazahua",
        "mzi" => "und-mazateco",
        "top" => "und-totonaco",
        "hus" => "und-huasteco",
        "tsz" => "tsz",
        "mto" => "und-ayuujk",
        "chj" | "csa" => "und-chinante",
        "toj" => "toj",
        "tar" | "tac" => "und-raramuri",
        "hch" => "hch",
        "ctp" | "chatino" => "und-chatino",
        "mam" => "mam",
        "quc" => "quc",
        "cak" => "cak",
        "kek" => "kek",
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Most frequent n-grams kept per label.
    pub per_label: usize,
    /// Additive smoothing.
    pub alpha: f64,
    /// Folds for calibration.
    pub folds: usize,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            per_label: 8000,
            alpha: 0.1,
            folds: 5,
        }
    }
}

/// Fit a model on `corpora` with a given calibration (no cross-validation).
pub fn fit(corpora: &[Corpus], params: &Params, temperature: f32, threshold: f32) -> Model {
    let mut labels: Vec<&Corpus> = corpora.iter().collect();
    labels.sort_by(|a, b| a.label.cmp(&b.label));
    labels.dedup_by(|a, b| a.label == b.label);
    let names: Vec<String> = labels.iter().map(|c| c.label.clone()).collect();
    // Counts per label (several corpora may share a label).
    let mut counts: Vec<HashMap<u64, u32>> = vec![HashMap::new(); names.len()];
    for c in corpora {
        let li = names.binary_search(&c.label).expect("label listed");
        for line in &c.lines {
            features(line, |h| *counts[li].entry(h).or_default() += 1);
        }
    }
    // Feature selection: the most frequent n-grams of each label (ties by hash).
    let mut selected: Vec<u64> = Vec::new();
    for c in &counts {
        let mut v: Vec<(u32, u64)> = c
            .iter()
            .filter(|(_, &n)| n >= 2)
            .map(|(&h, &n)| (n, h))
            .collect();
        v.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        selected.extend(v.into_iter().take(params.per_label).map(|(_, h)| h));
    }
    selected.sort_unstable();
    selected.dedup();
    let vocab = selected.len() as f64;
    let totals: Vec<f64> = counts
        .iter()
        .map(|c| {
            selected
                .iter()
                .map(|h| *c.get(h).unwrap_or(&0) as f64)
                .sum()
        })
        .collect();
    let rows: Vec<(u64, Vec<u8>)> = selected
        .iter()
        .map(|h| {
            let w = counts
                .iter()
                .zip(&totals)
                .map(|(c, total)| {
                    let n = *c.get(h).unwrap_or(&0) as f64;
                    let p = (n + params.alpha) / (total + params.alpha * vocab);
                    (-p.ln() * SCALE as f64).round().clamp(0.0, 255.0) as u8
                })
                .collect();
            (*h, w)
        })
        .collect();
    let groups = labels.iter().map(|c| c.group.clone()).collect();
    let header = Header {
        labels: names,
        groups,
        temperature,
        threshold,
        // Measured: at 0.6 no line of Spanish text (the Constitution, the chat set) had a
        // window flagged as indigenous; 0.8 keeps a margin.
        window_threshold: threshold.max(0.8),
        features: rows.len(),
    };
    Model::from_parts(header, rows)
}

/// The text a model is trained on: de-duplicated (see [`dedupe`]), and each indigenous
/// corpus also respelled in the other spelling tradition ([`respell`]), as a twin corpus
/// that is trained on and never tested on. A twin keeps its source's line order, so a
/// line and its respelling fall in the same cross-validation fold.
pub fn prepare(corpora: &[Corpus]) -> Vec<Corpus> {
    let mut out = dedupe(corpora);
    let mut twins = Vec::new();
    for c in &out {
        if super::is_contact_language(&c.group) {
            continue;
        }
        for to_k in [true, false] {
            let lines: Vec<String> = c.lines.iter().map(|l| respell(l, to_k)).collect();
            let changed = lines
                .iter()
                .zip(&c.lines)
                .any(|(a, b)| *a != b.to_lowercase());
            if changed {
                twins.push(Corpus {
                    lines,
                    twin: true,
                    ..c.clone()
                });
            }
        }
    }
    out.extend(twins);
    out
}

/// A line in one of the two spelling traditions of the languages of Mexico and Guatemala:
/// the modern one writes /k/ `k` (`to_k`), the Spanish-based one `c`, and `qu` before `e`
/// and `i` (`quiquiza`, `kikisa`; Kaqchikel `c'o`, `k'o`). Lower-cases.
pub fn respell(line: &str, to_k: bool) -> String {
    let chars: Vec<char> = line.chars().flat_map(char::to_lowercase).collect();
    let front = |c: Option<&char>| matches!(c, Some('e' | 'i' | 'é' | 'í'));
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1);
        if to_k {
            if c == 'q' && next == Some(&'u') && front(chars.get(i + 2)) {
                out.push('k');
                i += 2;
                continue;
            }
            if c == 'c' && !matches!(next, Some('h')) && !front(next) {
                out.push('k');
                i += 1;
                continue;
            }
        } else if c == 'k' {
            out.push_str(if front(next) { "qu" } else { "c" });
            i += 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Drop lines that occur in the text of more than one group ("Artículo 1", "XXIX-B.",
/// article numbers, Spanish titles kept inside translations): they teach nothing about
/// either language and would be counted as errors of both.
pub fn dedupe(corpora: &[Corpus]) -> Vec<Corpus> {
    let key = |l: &str| crate::domain::language::normalize(l);
    let mut groups_of: HashMap<String, Vec<&LanguageTag>> = HashMap::new();
    for c in corpora {
        for l in &c.lines {
            let g = groups_of.entry(key(l)).or_default();
            if !g.contains(&&c.group) {
                g.push(&c.group);
            }
        }
    }
    corpora
        .iter()
        .map(|c| Corpus {
            lines: c
                .lines
                .iter()
                .filter(|l| groups_of[&key(l)].len() == 1)
                .cloned()
                .collect(),
            ..c.clone()
        })
        .collect()
}

/// Split each corpus into `k` folds by line number: fold `i` holds lines `j` with
/// `j % k == i`.
pub fn split(corpora: &[Corpus], k: usize, fold: usize) -> (Vec<Corpus>, Vec<Corpus>) {
    let pick = |c: &Corpus, keep: bool| Corpus {
        lines: c
            .lines
            .iter()
            .enumerate()
            .filter(|(j, _)| (j % k == fold) != keep)
            .map(|(_, l)| l.clone())
            .collect(),
        ..c.clone()
    };
    (
        corpora.iter().map(|c| pick(c, true)).collect(),
        corpora.iter().map(|c| pick(c, false)).collect(),
    )
}

/// Train the shipped model: calibrate by cross-validation, then fit on everything.
pub fn train(corpora: &[Corpus], params: &Params) -> Model {
    let corpora = prepare(corpora);
    let preds = super::eval::cross_validate(&corpora, params);
    let (temperature, threshold) = super::eval::calibrate(&preds);
    fit(&corpora, params, temperature, threshold)
}
