//! Languages: the [`LanguageTag`] newtype, the [`Catalogue`] of languages puente knows, and
//! the resolver that turns what an operator types ("tsotsil", "bats'i k'op", "TZO",
//! "nahuatl") into ranked [`Candidate`]s.
//!
//! The catalogue is data (`data/languages.toml`, embedded at compile time); the resolver is
//! pure and knows nothing about where the data came from, so a bigger catalogue (INALI's 364
//! variants) only adds entries and, where needed, match kinds. This module does no I/O.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use unic_langid::LanguageIdentifier;

/// A BCP 47 language tag, parsed once at the edge. ISO 639-3 codes (`tzo`, `yua`) are valid
/// primary subtags; agrupaciones without a single ISO code use `und-<variant>`
/// (see `data/languages.toml`). Always stored in canonical (lower-case) form.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LanguageTag(String);

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a BCP 47 language tag (for example `tzo`, `yua` or `und-mixteco`)")]
pub struct InvalidTag(pub String);

impl LanguageTag {
    pub fn parse(s: &str) -> Result<LanguageTag, InvalidTag> {
        let trimmed = s.trim();
        if trimmed.is_empty() || trimmed.len() > 64 {
            return Err(InvalidTag(s.to_string()));
        }
        let id: LanguageIdentifier = trimmed.parse().map_err(|_| InvalidTag(s.to_string()))?;
        Ok(LanguageTag(id.to_string().to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for LanguageTag {
    type Err = InvalidTag;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LanguageTag::parse(s)
    }
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LanguageTag({})", self.0)
    }
}

impl Serialize for LanguageTag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for LanguageTag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        LanguageTag::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One language the catalogue knows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Language {
    pub tag: LanguageTag,
    /// INALI's language family, for languages of Mexico (unknown for ISO-only entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// INALI's agrupación (language group), for indigenous languages of Mexico.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agrupacion: Option<String>,
    /// Spanish names, the first one is the display name.
    pub names_es: Vec<String>,
    /// English names, the first one is the display name.
    pub names_en: Vec<String>,
    /// What speakers call their language.
    #[serde(default)]
    pub self_names: Vec<String>,
}

impl Language {
    /// The display name in a UI language (`es…` → Spanish, anything else → English).
    pub fn name(&self, ui_lang: &str) -> &str {
        let names = if ui_lang.starts_with("es") {
            &self.names_es
        } else {
            &self.names_en
        };
        names
            .first()
            .map(String::as_str)
            .unwrap_or(self.tag.as_str())
    }
}

/// How a query matched a name; the order is the ranking (best first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    Tag,
    Name,
    SelfName,
    Prefix,
    Word,
    Fuzzy,
}

impl MatchKind {
    pub fn score(self) -> f64 {
        match self {
            MatchKind::Tag => 1.0,
            MatchKind::Name => 0.95,
            MatchKind::SelfName => 0.95,
            MatchKind::Prefix => 0.8,
            MatchKind::Word => 0.7,
            MatchKind::Fuzzy => 0.5,
        }
    }
}

/// A ranked answer of the resolver.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub language: &'a Language,
    pub kind: MatchKind,
    /// The name (or tag) that matched, as written in the catalogue.
    pub matched: &'a str,
    pub score: f64,
}

/// The outcome of resolving free text to exactly one language.
#[derive(Debug)]
pub enum Resolution<'a> {
    Found(Candidate<'a>),
    Ambiguous(Vec<Candidate<'a>>),
    Unknown,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("language catalogue is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("language catalogue lists `{0}` twice")]
    Duplicate(LanguageTag),
    #[error("language catalogue entry `{0}` has no Spanish or no English name")]
    Unnamed(LanguageTag),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    language: Vec<Language>,
}

/// Every language puente can route, with a normalised index of names for the resolver.
#[derive(Debug)]
pub struct Catalogue {
    /// Curated entries first (`curated` of them), then ISO 639-3 codes not curated.
    languages: Vec<Language>,
    curated: usize,
    by_tag: HashMap<LanguageTag, usize>,
    /// Normalised name → (language index, kind, original name).
    names: Vec<(String, usize, MatchKind, String)>,
}

const EMBEDDED: &str = include_str!("../data/languages.toml");
const ISO_639_3: &str = include_str!("../data/iso-639-3.tab");

impl Catalogue {
    /// The catalogue compiled into the binary: the curated languages, plus every living
    /// ISO 639-3 language, addressable by its code only (so that a coordinator can register
    /// an interpreter of any language, and an operator can ask for one by code).
    pub fn embedded() -> Catalogue {
        // The embedded files are checked by a unit test, so this cannot fail at run time.
        let mut cat =
            Catalogue::from_toml(EMBEDDED).expect("embedded data/languages.toml is valid");
        cat.add_iso_codes(ISO_639_3);
        cat
    }

    /// Add the living individual languages and macrolanguages of an ISO 639-3 code table
    /// (SIL's tab-separated format) that the catalogue does not have yet. Their names are
    /// not indexed for search: ISO reference names are English and often misleading for
    /// Mexico ("Mam", "Mayo"), so only the exact code finds them.
    pub fn add_iso_codes(&mut self, table: &str) {
        for line in table.lines().skip(1) {
            let cols: Vec<&str> = line.split('\t').collect();
            let (Some(code), Some(scope), Some(kind), Some(name)) =
                (cols.first(), cols.get(4), cols.get(5), cols.get(6))
            else {
                continue;
            };
            if !matches!(*scope, "I" | "M") || *kind != "L" {
                continue;
            }
            let Ok(tag) = LanguageTag::parse(code) else {
                continue;
            };
            if self.by_tag.contains_key(&tag) {
                continue;
            }
            self.by_tag.insert(tag.clone(), self.languages.len());
            self.languages.push(Language {
                tag,
                family: None,
                agrupacion: None,
                names_es: vec![name.to_string()],
                names_en: vec![name.to_string()],
                self_names: Vec::new(),
            });
        }
    }

    pub fn from_toml(text: &str) -> Result<Catalogue, CatalogueError> {
        let file: CatalogueFile = toml::from_str(text)?;
        let mut by_tag = HashMap::new();
        let mut names = Vec::new();
        for (i, lang) in file.language.iter().enumerate() {
            if by_tag.insert(lang.tag.clone(), i).is_some() {
                return Err(CatalogueError::Duplicate(lang.tag.clone()));
            }
            if lang.names_es.is_empty() || lang.names_en.is_empty() {
                return Err(CatalogueError::Unnamed(lang.tag.clone()));
            }
            for n in lang.names_es.iter().chain(&lang.names_en) {
                names.push((normalize(n), i, MatchKind::Name, n.clone()));
            }
            for n in &lang.self_names {
                names.push((normalize(n), i, MatchKind::SelfName, n.clone()));
            }
        }
        Ok(Catalogue {
            curated: file.language.len(),
            languages: file.language,
            by_tag,
            names,
        })
    }

    pub fn get(&self, tag: &LanguageTag) -> Option<&Language> {
        self.by_tag.get(tag).map(|&i| &self.languages[i])
    }

    /// The curated languages (not the ISO-only entries), in ranking order.
    pub fn languages(&self) -> &[Language] {
        &self.languages[..self.curated]
    }

    /// All languages matching `query`, best first, at most one candidate per language.
    pub fn search(&self, query: &str) -> Vec<Candidate<'_>> {
        let q = normalize(query);
        if q.is_empty() {
            return Vec::new();
        }
        let mut best: HashMap<usize, Candidate<'_>> = HashMap::new();
        let mut offer = |i: usize, kind: MatchKind| {
            let cand = Candidate {
                language: &self.languages[i],
                kind,
                matched: "",
                score: kind.score(),
            };
            match best.get(&i) {
                Some(old) if old.kind <= kind => {}
                _ => {
                    best.insert(i, cand);
                }
            }
        };
        if let Ok(tag) = LanguageTag::parse(query) {
            if let Some(&i) = self.by_tag.get(&tag) {
                offer(i, MatchKind::Tag);
            }
        }
        let max_typos = match q.chars().count() {
            0..=3 => 0,
            4..=7 => 1,
            _ => 2,
        };
        for (name, i, kind, _) in &self.names {
            let kind = if *name == q {
                *kind
            } else if q.len() >= 3 && name.starts_with(&q) {
                MatchKind::Prefix
            } else if q.len() >= 3
                && (name.split(' ').any(|w| w == q) || q.split(' ').any(|w| w == name))
            {
                MatchKind::Word
            } else if max_typos > 0 && within_distance(name, &q, max_typos) {
                MatchKind::Fuzzy
            } else {
                continue;
            };
            offer(*i, kind);
        }
        // Fill in the name that matched (the best one of the best kind).
        let mut out: Vec<Candidate<'_>> = best
            .into_iter()
            .map(|(i, mut c)| {
                c.matched = self.matched_name(i, c.kind, &q);
                c
            })
            .collect();
        out.sort_by(|a, b| {
            a.kind
                .cmp(&b.kind)
                .then_with(|| self.by_tag[&a.language.tag].cmp(&self.by_tag[&b.language.tag]))
        });
        out
    }

    fn matched_name(&self, i: usize, kind: MatchKind, q: &str) -> &str {
        let lang = &self.languages[i];
        if kind == MatchKind::Tag {
            return lang.tag.as_str();
        }
        self.names
            .iter()
            .filter(|(_, j, _, _)| *j == i)
            .find(|(n, _, k, _)| match kind {
                MatchKind::Name | MatchKind::SelfName => n == q && *k == kind,
                MatchKind::Prefix => n.starts_with(q),
                MatchKind::Word => n.split(' ').any(|w| w == q) || q.split(' ').any(|w| w == n),
                _ => true,
            })
            .map(|(_, _, _, orig)| orig.as_str())
            .unwrap_or(lang.names_es[0].as_str())
    }

    /// Resolve free text to one language, or say why it cannot.
    pub fn resolve(&self, query: &str) -> Resolution<'_> {
        let mut found = self.search(query);
        match found.len() {
            0 => Resolution::Unknown,
            1 => Resolution::Found(found.remove(0)),
            _ if found[0].kind < found[1].kind => Resolution::Found(found.remove(0)),
            _ => {
                let kind = found[0].kind;
                found.retain(|c| c.kind == kind);
                Resolution::Ambiguous(found)
            }
        }
    }
}

/// Lower-case, strip accents and tone marks, drop apostrophes and saltillos, collapse
/// punctuation and spaces: "Bats'i K'op" and "batsi kop" normalise the same.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = true;
    for c in s.chars().flat_map(char::to_lowercase) {
        let mapped = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ā' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'ē' | 'ẽ' => 'e',
            'í' | 'ì' | 'î' | 'ï' | 'ī' | 'ĩ' | 'ɨ' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ō' | 'ø' => 'o',
            'ú' | 'ù' | 'û' | 'ü' | 'ū' | 'ũ' | 'ʉ' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            'ý' | 'ÿ' => 'y',
            // Apostrophes, saltillos and glottal stops vanish: people type them or not.
            '\'' | '’' | '‘' | 'ʼ' | 'ꞌ' | 'ʻ' | '`' | '´' => continue,
            // Combining marks (accents typed as separate code points, tone marks).
            '\u{0300}'..='\u{036f}' => continue,
            c if c.is_alphanumeric() => c,
            _ => ' ',
        };
        if mapped == ' ' {
            if !space {
                out.push(' ');
                space = true;
            }
        } else {
            out.push(mapped);
            space = false;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Whether the edit distance between `a` and `b` is at most `max`, counting a swap of two
/// neighbouring letters ("nahualt") as one edit (optimal string alignment distance).
fn within_distance(a: &str, b: &str, max: usize) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    let width = b.len() + 1;
    // Three rows: two back (for swaps), one back, current.
    let mut rows = vec![vec![0usize; width]; 3];
    rows[1] = (0..width).collect();
    for i in 1..=a.len() {
        let (back2, rest) = rows.split_at_mut(1);
        let (back1, cur) = rest.split_at_mut(1);
        let (back2, back1, cur) = (&back2[0], &back1[0], &mut cur[0]);
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (back1[j - 1] + cost).min(back1[j] + 1).min(cur[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(back2[j - 2] + 1);
            }
            cur[j] = d;
            row_min = row_min.min(d);
        }
        if row_min > max {
            return false;
        }
        rows.rotate_left(1);
    }
    rows[1][b.len()] <= max
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> &'static Catalogue {
        static CAT: std::sync::OnceLock<Catalogue> = std::sync::OnceLock::new();
        CAT.get_or_init(Catalogue::embedded)
    }

    fn top(q: &str) -> String {
        match catalogue().resolve(q) {
            Resolution::Found(c) => c.language.tag.to_string(),
            Resolution::Ambiguous(cs) => format!(
                "ambiguous: {}",
                cs.iter()
                    .map(|c| c.language.tag.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Resolution::Unknown => "unknown".into(),
        }
    }

    #[test]
    fn the_embedded_catalogue_loads_and_has_the_starter_languages() {
        let cat = Catalogue::embedded();
        assert!(cat.languages().len() >= 27);
        for lang in cat.languages() {
            assert_eq!(LanguageTag::parse(lang.tag.as_str()).unwrap(), lang.tag);
        }
    }

    #[test]
    fn names_resolve_with_or_without_accents_case_and_apostrophes() {
        assert_eq!(top("tsotsil"), "tzo");
        assert_eq!(top("Tzotzil"), "tzo");
        assert_eq!(top("bats'i k'op"), "tzo");
        assert_eq!(top("batsi kop"), "tzo");
        assert_eq!(top("TZO"), "tzo");
        assert_eq!(top("Náhuatl"), "nah");
        assert_eq!(top("nahuatl"), "nah");
        assert_eq!(top("mexicano"), "nah");
        assert_eq!(top("maya"), "yua");
        assert_eq!(top("Purépecha"), "tsz");
        assert_eq!(top("purepecha"), "tsz");
        assert_eq!(top("wixarika"), "hch");
        assert_eq!(top("mixteco"), "und-mixteco");
        assert_eq!(top("und-mixteco"), "und-mixteco");
        assert_eq!(top("Zapotec"), "zap");
    }

    #[test]
    fn any_living_iso_code_is_a_language_but_iso_names_do_not_pollute_search() {
        let cat = Catalogue::embedded();
        assert_eq!(top("nhe"), "nhe");
        assert_eq!(top("mam"), "mam");
        let nhe = cat.get(&LanguageTag::parse("nhe").unwrap()).unwrap();
        assert_eq!(nhe.names_en[0], "Eastern Huasteca Nahuatl");
        let found = cat.search("Eastern Huasteca Nahuatl");
        assert!(found.iter().all(|c| c.language.tag.as_str() != "nhe"));
        assert!(cat.get(&LanguageTag::parse("zzj").unwrap()).is_some());
        assert_eq!(top("maya"), "yua");
    }

    #[test]
    fn misspellings_within_a_typo_or_two_still_resolve() {
        assert_eq!(top("tsotzil"), "tzo");
        assert_eq!(top("nahualt"), "nah");
        assert_eq!(top("zapoteko"), "zap");
    }

    #[test]
    fn names_shared_by_two_languages_are_ambiguous() {
        assert_eq!(top("tepehuano"), "ambiguous: und-tepehsur,ntp");
    }

    #[test]
    fn nonsense_is_unknown() {
        assert_eq!(top("klingon"), "unknown");
        assert_eq!(top("   "), "unknown");
        assert_eq!(top("!!!"), "unknown");
    }

    #[test]
    fn normalize_folds_the_ways_people_type() {
        assert_eq!(normalize("  Bats’i  K'op "), "batsi kop");
        assert_eq!(normalize("HÑÄHÑU"), "hnahnu");
        assert_eq!(normalize("tojol-ab'al"), "tojol abal");
    }
}
