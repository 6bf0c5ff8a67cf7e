//! Language identification of short texts (a caller's chat messages), indigenous languages
//! of Mexico included.
//!
//! # The model
//!
//! A multinomial naive Bayes classifier over character n-grams (1 to 4 characters, inside
//! word boundaries), in the spirit of langid.py and CLD: simple, fast, and good at telling
//! apart languages whose spelling differs, which is what the hotline needs. No existing
//! offline detector knows these languages, so the model is trained here ([`train`]) from
//! text that ships in `data/lid/`, one label per file (an ISO 639-3 code, possibly with a
//! `-x-` variety suffix). Each label belongs to a *group*: the routable tag of its INALI
//! agrupación (`nhn` → `nah`, `zam` → `zap`), which is what interpreters are registered
//! with; candidates are reported at group level, with the best label inside as `variety`.
//!
//! Words are read as people type them on a phone, whatever spelling tradition they learnt:
//! accents and tone marks dropped, `hu` and `w`, `tz` and `ts` alike ([`features`]). The
//! Spanish-based `c`/`qu` and the modern `k` are not merged in the features (that would blur
//! Spanish); instead training learns every indigenous text in both
//! ([`train::prepare`]).
//!
//! Scores are turned into probabilities with a softmax at a temperature fitted by
//! cross-validation (naive Bayes counts overlapping n-grams as independent evidence and is
//! overconfident without it). A detection names a `language` only when the top group's
//! probability reaches a threshold chosen from the same measurements; otherwise the
//! operator confirms among the candidates.
//!
//! Callers mix Spanish and their language. Besides the whole text, every window of three
//! words is classified; a group that clearly wins some window is added to the candidates
//! even when the text as a whole reads as Spanish, and the detection is then not confident.
//!
//! This module does no I/O: the model is bytes in, detections out. The embedded model is
//! `data/lid.model`, rebuilt by `puente lid train`.

pub mod data;
pub mod eval;
pub mod train;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use crate::domain::language::LanguageTag;

/// The longest n-gram, in characters.
pub const MAX_N: usize = 4;
/// Quantisation of -log p: stored value = round(-log p × SCALE), at most 255.
const SCALE: f32 = 16.0;
const MAGIC: &[u8] = b"PUENTE-LID 1\n";

/// The model compiled into the binary.
pub const EMBEDDED_MODEL: &[u8] = include_bytes!("../../../data/lid.model");

/// Feature keys are already hashes: pass them through instead of hashing again.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys")
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type FeatureIndex = HashMap<u64, u32, BuildHasherDefault<KeyHasher>>;

/// What the model file says besides its weights.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Header {
    /// Fine labels, as trained (file names).
    pub labels: Vec<String>,
    /// For each label, the routable tag of its group.
    pub groups: Vec<LanguageTag>,
    /// Softmax temperature.
    pub temperature: f32,
    /// Minimum probability of the top group for a confident detection.
    pub threshold: f32,
    /// Minimum window probability for a mixed-in language to become a candidate.
    pub window_threshold: f32,
    pub features: usize,
}

/// A trained model, ready to detect.
pub struct Model {
    header: Header,
    /// Distinct groups, in first-seen order, and each label's group index.
    group_tags: Vec<LanguageTag>,
    group_of: Vec<usize>,
    index: FeatureIndex,
    /// `features × labels` quantised -log p, row-major.
    weights: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("not a puente language model (bad magic bytes)")]
    Magic,
    #[error("language model header is invalid: {0}")]
    Header(String),
    #[error("language model is truncated")]
    Truncated,
}

/// One candidate language of a detection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// The routable tag (group level).
    pub tag: LanguageTag,
    pub confidence: f32,
    /// The best trained label inside the group (`nhn`, `hus-x-hva`).
    pub variety: String,
    /// Found only in part of the text (mixed with another language).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
}

/// The outcome of [`Model::detect`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    /// Set only when confident enough to act on.
    pub language: Option<LanguageTag>,
    /// Best first; at least one whenever the text has letters.
    pub candidates: Vec<Candidate>,
}

/// Calls `f` with the hash of every n-gram of `text`, and returns how many letters it has.
pub fn features(text: &str, mut f: impl FnMut(u64)) -> usize {
    let mut letters = 0;
    let mut word: Vec<char> = Vec::with_capacity(32);
    let flush = |word: &mut Vec<char>, f: &mut dyn FnMut(u64)| {
        if word.is_empty() {
            return;
        }
        let folded = spelling_fold(word);
        word.clear();
        let padded: Vec<char> = std::iter::once(' ')
            .chain(folded)
            .chain(std::iter::once(' '))
            .collect();
        for n in 1..=MAX_N {
            for w in padded.windows(n) {
                if n == 1 && w[0] == ' ' {
                    continue;
                }
                // FNV-1a over the characters, with the length mixed in.
                let mut h: u64 = 0xcbf29ce484222325 ^ n as u64;
                for &c in w {
                    h ^= c as u64;
                    h = h.wrapping_mul(0x100000001b3);
                }
                f(h);
            }
        }
    };
    for c in text.chars() {
        if is_tone_letter(c) {
            continue;
        }
        let c = match c {
            '’' | 'ʼ' | 'ꞌ' | '‘' | '`' | '´' | 'ʻ' => '\'',
            c => c,
        };
        if c.is_alphabetic() || c == '\'' || is_mark(c) {
            if c.is_alphabetic() {
                letters += 1;
            }
            word.extend(c.to_lowercase());
        } else {
            flush(&mut word, &mut f);
        }
    }
    flush(&mut word, &mut f);
    letters
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

/// A word as people type it on a phone, whatever the spelling tradition: accents,
/// diaeresis, tildes and macrons over vowels and combining marks (tone, nasality,
/// laryngealisation: `a̱`) dropped, `hu` before a vowel written `w` (`cuahuitl`, `kwawitl`)
/// and `tz` written `ts`. Letters of their own (`ñ`, `ø`, `ʉ`, `ɨ`) stay. Spanish-based
/// `c`/`qu` and modern `k` are not merged here (that confuses Spanish); training text is
/// respelled both ways instead ([`train::respell`]).
fn spelling_fold(word: &[char]) -> Vec<char> {
    let base: Vec<char> = word
        .iter()
        .filter(|&&c| !matches!(c, '\u{0300}'..='\u{036f}'))
        .map(|&c| crate::domain::language::unaccented_vowel(c).unwrap_or(c))
        .collect();
    let mut out = Vec::with_capacity(base.len());
    let mut i = 0;
    while i < base.len() {
        let c = base[i];
        let next = base.get(i + 1).copied();
        let after = base.get(i + 2).copied();
        let prev = i.checked_sub(1).map(|p| base[p]);
        // `h` of a digraph (`ch`, `sh`, `th`, `lh`, `kh`, `xh`, `ph`) is not the `h` of `hu`.
        let digraph = matches!(prev, Some('c' | 's' | 't' | 'l' | 'k' | 'x' | 'p'));
        if c == 'h' && next == Some('u') && after.is_some_and(is_vowel) && !digraph {
            out.push('w');
            i += 2;
        } else if c == 't' && next == Some('z') {
            out.extend(['t', 's']);
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Languages a caller may mix with their own; never an interpreter's job.
pub fn is_contact_language(tag: &LanguageTag) -> bool {
    matches!(tag.as_str(), "spa" | "eng")
}

fn is_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036f}' | '+')
}

/// Superscript letters, which some orthographies use for tone (Chatino `chaqᶠ`, Amuzgo
/// `tqueⁿ`): ignored, as if not written. Phone keyboards rarely type them, so a caller
/// writes the same word without them.
fn is_tone_letter(c: char) -> bool {
    matches!(c,
        '\u{02b0}'..='\u{02b8}' | '\u{1d2c}'..='\u{1d6a}' | '\u{1d9b}'..='\u{1dbf}' | '\u{2070}'..='\u{209f}')
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("header", &self.header)
            .finish()
    }
}

impl Model {
    /// The model compiled into the binary.
    pub fn embedded() -> Model {
        // Checked by a unit test; a broken embedded model is a build error in spirit.
        Model::from_bytes(EMBEDDED_MODEL).expect("embedded data/lid.model is valid")
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        let rest = bytes.strip_prefix(MAGIC).ok_or(ModelError::Magic)?;
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(ModelError::Truncated)?;
        let header: Header =
            serde_json::from_slice(&rest[..nl]).map_err(|e| ModelError::Header(e.to_string()))?;
        let n_labels = header.labels.len();
        if n_labels == 0 || header.groups.len() != n_labels || header.temperature <= 0.0 {
            return Err(ModelError::Header(
                "labels, groups and temperature disagree".into(),
            ));
        }
        let body = &rest[nl + 1..];
        let n = header.features;
        if body.len() != n * 8 + n * n_labels {
            return Err(ModelError::Truncated);
        }
        let (keys, weights) = body.split_at(n * 8);
        let mut index = FeatureIndex::with_capacity_and_hasher(n, Default::default());
        for (i, k) in keys.chunks_exact(8).enumerate() {
            let key = u64::from_le_bytes(k.try_into().expect("chunks of 8"));
            index.insert(key, i as u32);
        }
        let mut group_tags: Vec<LanguageTag> = Vec::new();
        let group_of = header
            .groups
            .iter()
            .map(|g| match group_tags.iter().position(|t| t == g) {
                Some(i) => i,
                None => {
                    group_tags.push(g.clone());
                    group_tags.len() - 1
                }
            })
            .collect();
        Ok(Model {
            header,
            group_tags,
            group_of,
            index,
            weights: weights.to_vec(),
        })
    }

    /// Serialise (what `puente lid train` writes). Deterministic for the same model.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut keys: Vec<(u64, u32)> = self.index.iter().map(|(&k, &v)| (k, v)).collect();
        keys.sort_unstable();
        let l = self.header.labels.len();
        let mut out = MAGIC.to_vec();
        let mut header = self.header.clone();
        header.features = keys.len();
        out.extend(serde_json::to_vec(&header).expect("header serialises"));
        out.push(b'\n');
        for (k, _) in &keys {
            out.extend(k.to_le_bytes());
        }
        for (_, row) in &keys {
            let start = *row as usize * l;
            out.extend(&self.weights[start..start + l]);
        }
        out
    }

    pub(crate) fn from_parts(header: Header, rows: Vec<(u64, Vec<u8>)>) -> Model {
        let mut weights = Vec::with_capacity(rows.len() * header.labels.len());
        let mut index = FeatureIndex::with_capacity_and_hasher(rows.len(), Default::default());
        for (i, (k, w)) in rows.into_iter().enumerate() {
            index.insert(k, i as u32);
            weights.extend(w);
        }
        let bytes = Model {
            header,
            group_tags: Vec::new(),
            group_of: Vec::new(),
            index,
            weights,
        }
        .to_bytes();
        Model::from_bytes(&bytes).expect("a model we just built is valid")
    }

    pub fn labels(&self) -> &[String] {
        &self.header.labels
    }

    pub fn set_calibration(&mut self, temperature: f32, threshold: f32, window_threshold: f32) {
        self.header.temperature = temperature;
        self.header.threshold = threshold;
        self.header.window_threshold = window_threshold;
    }

    /// Summed quantised -log p per label (lower is likelier) and the letter count.
    fn raw(&self, text: &str, sums: &mut [u32]) -> usize {
        let l = self.header.labels.len();
        sums.iter_mut().for_each(|s| *s = 0);
        features(text, |h| {
            if let Some(&row) = self.index.get(&h) {
                let start = row as usize * l;
                for (s, &w) in sums.iter_mut().zip(&self.weights[start..start + l]) {
                    *s += w as u32;
                }
            }
        })
    }

    /// Summed quantised -log p per label (lower is likelier), for calibration.
    pub fn sums(&self, text: &str) -> Vec<u32> {
        let mut sums = vec![0u32; self.header.labels.len()];
        self.raw(text, &mut sums);
        sums
    }

    /// Group probabilities from label sums at a temperature: (group tag, probability), best
    /// first.
    pub fn group_probabilities(&self, sums: &[u32], temperature: f32) -> Vec<(LanguageTag, f32)> {
        let probs = self.softmax(sums, temperature);
        self.groups(&probs)
            .into_iter()
            .map(|(g, p, _)| (self.group_tags[g].clone(), p))
            .collect()
    }

    /// Probability of each label (softmax at the model's temperature).
    pub fn label_probabilities(&self, text: &str) -> Vec<f32> {
        let mut sums = vec![0u32; self.header.labels.len()];
        self.raw(text, &mut sums);
        self.softmax(&sums, self.header.temperature)
    }

    fn softmax(&self, sums: &[u32], temperature: f32) -> Vec<f32> {
        let best = sums.iter().copied().min().unwrap_or(0);
        let scale = 1.0 / (SCALE * temperature);
        let mut p: Vec<f32> = sums
            .iter()
            .map(|&s| (-((s - best) as f32) * scale).exp())
            .collect();
        let total: f32 = p.iter().sum();
        p.iter_mut().for_each(|x| *x /= total);
        p
    }

    /// Group probabilities (summed over labels) and, per group, its best label.
    fn groups(&self, label_p: &[f32]) -> Vec<(usize, f32, usize)> {
        let mut g: Vec<(usize, f32, usize)> = (0..self.group_tags.len())
            .map(|i| (i, 0.0, usize::MAX))
            .collect();
        for (label, &p) in label_p.iter().enumerate() {
            let slot = &mut g[self.group_of[label]];
            slot.1 += p;
            if slot.2 == usize::MAX || label_p[slot.2] < p {
                slot.2 = label;
            }
        }
        g.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        g
    }

    /// The group tag with the highest probability, and that probability (for evaluation).
    pub fn best_group(&self, text: &str) -> (LanguageTag, f32) {
        let g = self.groups(&self.label_probabilities(text));
        (self.group_tags[g[0].0].clone(), g[0].1)
    }

    /// Detect the language of `text`. `None` when the text has no letters.
    pub fn detect(&self, text: &str) -> Option<Detection> {
        let mut sums = vec![0u32; self.header.labels.len()];
        let letters = self.raw(text, &mut sums);
        if letters == 0 {
            return None;
        }
        let probs = self.softmax(&sums, self.header.temperature);
        let ranked = self.groups(&probs);
        let mut candidates: Vec<Candidate> = ranked
            .iter()
            .take(5)
            .filter(|(_, p, _)| *p >= 0.01)
            .map(|&(g, p, label)| Candidate {
                tag: self.group_tags[g].clone(),
                confidence: p,
                variety: self.header.labels[label].clone(),
                partial: false,
            })
            .collect();
        if candidates.is_empty() {
            let (g, p, label) = ranked[0];
            candidates.push(Candidate {
                tag: self.group_tags[g].clone(),
                confidence: p,
                variety: self.header.labels[label].clone(),
                partial: false,
            });
        }
        let mixed = self.mixed_in(text, &candidates[0].tag);
        let confident = candidates[0].confidence >= self.header.threshold && mixed.is_empty();
        for m in mixed {
            match candidates.iter_mut().find(|c| c.tag == m.tag) {
                Some(c) => c.partial = true,
                None => candidates.push(m),
            }
        }
        Some(Detection {
            language: confident.then(|| candidates[0].tag.clone()),
            candidates,
        })
    }

    /// Indigenous groups that clearly win some three-word window of a text that reads as a
    /// contact language (Spanish, English) as a whole. The other way round is normal:
    /// indigenous texts borrow Spanish words ("Asamblea General") and stay indigenous.
    fn mixed_in(&self, text: &str, main: &LanguageTag) -> Vec<Candidate> {
        if !is_contact_language(main) {
            return Vec::new();
        }
        let words: Vec<&str> = text
            .split(|c: char| !(c.is_alphabetic() || c == '\'' || c == '’' || is_mark(c)))
            .filter(|w| w.chars().count() >= 2)
            .collect();
        if words.len() < 4 {
            return Vec::new();
        }
        let mut found: Vec<Candidate> = Vec::new();
        let mut sums = vec![0u32; self.header.labels.len()];
        for window in words.windows(3) {
            let joined = window.join(" ");
            self.raw(&joined, &mut sums);
            let probs = self.softmax(&sums, self.header.temperature);
            let (g, p, label) = self.groups(&probs)[0];
            let tag = &self.group_tags[g];
            if is_contact_language(tag) || p < self.header.window_threshold {
                continue;
            }
            match found.iter_mut().find(|c| &c.tag == tag) {
                Some(c) => c.confidence = c.confidence.max(p),
                None => found.push(Candidate {
                    tag: tag.clone(),
                    confidence: p,
                    variety: self.header.labels[label].clone(),
                    partial: true,
                }),
            }
        }
        // A window is a small part of the text: its confidence is not the text's.
        let share = 3.0 / words.len() as f32;
        for c in &mut found {
            c.confidence = (c.confidence * share.max(0.2)).min(0.5);
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::spelling_fold;
    use super::train::respell;

    fn fold(word: &str) -> String {
        spelling_fold(&word.chars().collect::<Vec<_>>())
            .into_iter()
            .collect()
    }

    #[test]
    fn words_fold_as_people_type_them() {
        assert_eq!(fold("cuahuitl"), "cuawitl");
        assert_eq!(fold("chihuahua"), "chiwawa");
        assert_eq!(fold("tzotzil"), "tsotsil");
        assert_eq!(fold("está"), "esta");
        assert_eq!(fold("ra̱"), "ra");
        assert_eq!(fold("ñuu"), "ñuu");
        // The `h` of a digraph is not the `h` of `hu`.
        assert_eq!(fold("shuuk"), "shuuk");
        assert_eq!(fold("lhuwa"), "lhuwa");
    }

    #[test]
    fn lines_respell_between_the_two_traditions() {
        assert_eq!(respell("Quiquiza c'o", true), "kikiza k'o");
        assert_eq!(respell("kikisa k'o", false), "quiquisa c'o");
        assert_eq!(respell("chaqui", true), "chaki");
        assert_eq!(respell("ceniza", true), "ceniza");
        assert_eq!(respell("kaxtil", false), "caxtil");
    }
}
