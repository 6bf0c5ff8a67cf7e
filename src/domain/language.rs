//! Languages: the [`LanguageTag`] newtype, the [`Catalogue`] of languages puente knows, and
//! the resolver that turns what an operator types ("tsotsil", "bats'i k'op", "TZO",
//! "nahuatl") into ranked [`Candidate`]s.
//!
//! The catalogue is data embedded at compile time: `data/languages.toml` (the agrupaciones,
//! with the names people use, and languages from abroad), INALI's 364 variants with their
//! self-names and places (`data/catalog/inali_clin_variantes.csv`), INALI's crosswalk of
//! agrupaciones to ISO 639-3 codes and SIL's ISO 639-3 table. Every tag knows its level
//! ([`Level`]), its agrupación and its family.
//!
//! The resolver matches tags, names, self-names, the start of a name, a word of a name, a
//! place (a state or municipality where the language is spoken, "de Juchitán") and, when
//! nothing else does, names within one or two typos. Names and places are indexed (hash maps
//! and sorted lists), so a query costs a few microseconds over the whole catalogue. This
//! module does no I/O.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use unic_langid::LanguageIdentifier;

/// A BCP 47 language tag, parsed once at the edge. ISO 639-3 codes (`tzo`, `yua`) are valid
/// primary subtags; agrupaciones without a single ISO code use `und-<variant>` or
/// `und-x-<name>`, and INALI's variants a private-use part under their agrupación
/// (`zap-x-planicie-costera`; see `data/languages.toml`). Always stored in canonical
/// (lower-case) form.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LanguageTag(String);

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a BCP 47 language tag (for example `tzo`, `yua`, `und-mixteco` or `zap-x-planicie-costera`)")]
pub struct InvalidTag(pub String);

impl LanguageTag {
    pub fn parse(s: &str) -> Result<LanguageTag, InvalidTag> {
        let trimmed = s.trim();
        if trimmed.is_empty() || trimmed.len() > 64 {
            return Err(InvalidTag(s.to_string()));
        }
        let invalid = || InvalidTag(s.to_string());
        let lower = trimmed.to_ascii_lowercase();
        // A private-use part (`-x-` and subtags of 1 to 8 letters or digits) after a tag.
        let (base, private) = match lower.split_once("-x-") {
            Some((base, private)) => (base, Some(private)),
            None => (lower.as_str(), None),
        };
        let id: LanguageIdentifier = base.parse().map_err(|_| invalid())?;
        let mut tag = id.to_string().to_ascii_lowercase();
        if let Some(private) = private {
            let ok = private.split('-').all(|p| {
                (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric())
            });
            if !ok {
                return Err(invalid());
            }
            tag.push_str("-x-");
            tag.push_str(private);
        }
        Ok(LanguageTag(tag))
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

/// Where a language sits in INALI's classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// An INALI agrupación (language group): `zap`, `tzo`, `und-mixteco`.
    Agrupacion,
    /// One of INALI's 364 variants: `zap-x-planicie-costera`.
    Variant,
    /// An ISO 639-3 code, known to belong to an agrupación when INALI's crosswalk says so.
    Iso,
    /// Anything else: Spanish, English, languages from abroad.
    #[default]
    Other,
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
    #[serde(skip)]
    pub level: Level,
    /// The agrupación a variant or an ISO code belongs to.
    #[serde(skip)]
    pub parent: Option<LanguageTag>,
    /// Where INALI says the language is spoken (state, municipality), display forms.
    #[serde(skip)]
    pub places: Vec<(String, String)>,
    /// INALI's count of localities where it is spoken.
    #[serde(skip)]
    pub localities: u32,
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

    /// The agrupación this language belongs to: its parent, or itself for an agrupación.
    pub fn group(&self) -> Option<&LanguageTag> {
        match self.level {
            Level::Agrupacion => Some(&self.tag),
            _ => self.parent.as_ref(),
        }
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
    /// The query is a place (a state or municipality) where the language is spoken.
    Place,
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
            MatchKind::Place => 0.6,
            MatchKind::Fuzzy => 0.5,
        }
    }
}

/// A ranked answer of the resolver.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub language: &'a Language,
    pub kind: MatchKind,
    /// The name (or tag, or place) that matched, as written in the catalogue.
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

/// A state or municipality, as INALI writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    /// `state` or `municipality`.
    pub kind: &'static str,
    pub name: String,
    pub state: String,
}

/// The languages spoken in the places a query names, most likely first.
#[derive(Debug)]
pub struct PlaceAnswer<'a> {
    pub places: Vec<Place>,
    /// Languages with their likelihood score (0–1, relative to the first).
    pub languages: Vec<(&'a Language, f64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("language catalogue is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("language catalogue lists `{0}` twice")]
    Duplicate(LanguageTag),
    #[error("language catalogue entry `{0}` has no Spanish or no English name")]
    Unnamed(LanguageTag),
    #[error("INALI catalogue: {0}")]
    Inali(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    language: Vec<Language>,
    /// More names for INALI variants, which come from the CSV.
    #[serde(default)]
    variant: Vec<VariantNames>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VariantNames {
    /// INALI's variant name, as in the CSV.
    inali: String,
    #[serde(default)]
    names_es: Vec<String>,
    #[serde(default)]
    names_en: Vec<String>,
}

/// One searchable name.
#[derive(Debug)]
struct Name {
    norm: String,
    lang: usize,
    kind: MatchKind,
    original: String,
    /// Letters present (a–z), to rule out typo matches cheaply.
    letters: u32,
    chars: usize,
}

/// One searchable place: a normalised name and the languages spoken there, each with an
/// estimate of how many of its localities are in that place.
#[derive(Debug)]
struct PlaceEntry {
    place: Place,
    languages: Vec<(usize, f64)>,
}

/// Every language puente can route, with normalised indexes of names and places for the
/// resolver.
#[derive(Debug)]
pub struct Catalogue {
    /// Curated entries and INALI variants first (`listed` of them), then ISO codes.
    languages: Vec<Language>,
    listed: usize,
    by_tag: HashMap<LanguageTag, usize>,
    /// Sorted by normalised name (for prefix search).
    names: Vec<Name>,
    /// Normalised name → indexes into `names`.
    exact: HashMap<String, Vec<usize>>,
    /// A word of a name → indexes into `names` (only names of two words or more).
    words: HashMap<String, Vec<usize>>,
    /// Sorted by normalised place name.
    places: Vec<(String, usize)>,
    place_entries: Vec<PlaceEntry>,
}

const EMBEDDED: &str = include_str!("../../data/languages.toml");
const ISO_639_3: &str = include_str!("../../data/iso-639-3.tab");
const INALI_VARIANTS: &str = include_str!("../../data/catalog/inali_clin_variantes.csv");
const INALI_ISO: &str = include_str!("../../data/catalog/inali_agrupacion_iso639-3.csv");

/// Mexico's 32 states: INALI's spelling (upper case) or the official name, the display
/// name, and other names people use.
const STATES: &[(&str, &str, &[&str])] = &[
    ("AGUASCALIENTES", "Aguascalientes", &[]),
    ("BAJA CALIFORNIA", "Baja California", &[]),
    ("BAJA CALIFORNIA SUR", "Baja California Sur", &[]),
    ("CAMPECHE", "Campeche", &[]),
    ("CHIAPAS", "Chiapas", &[]),
    ("CHIHUAHUA", "Chihuahua", &[]),
    (
        "COAHUILA DE ZARAGOZA",
        "Coahuila",
        &["Coahuila de Zaragoza"],
    ),
    ("COLIMA", "Colima", &[]),
    (
        "DISTRITO FEDERAL",
        "Ciudad de México",
        &["CDMX", "Distrito Federal", "DF"],
    ),
    ("DURANGO", "Durango", &[]),
    (
        "ESTADO DE MÉXICO",
        "Estado de México",
        &["Edomex", "México"],
    ),
    ("GUANAJUATO", "Guanajuato", &[]),
    ("GUERRERO", "Guerrero", &[]),
    ("HIDALGO", "Hidalgo", &[]),
    ("JALISCO", "Jalisco", &[]),
    ("MICHOACÁN DE OCAMPO", "Michoacán", &["Michoacán de Ocampo"]),
    ("MORELOS", "Morelos", &[]),
    ("NAYARIT", "Nayarit", &[]),
    ("NUEVO LEÓN", "Nuevo León", &[]),
    ("OAXACA", "Oaxaca", &[]),
    ("PUEBLA", "Puebla", &[]),
    ("QUERÉTARO ARTEAGA", "Querétaro", &["Querétaro de Arteaga"]),
    ("QUINTANA ROO", "Quintana Roo", &[]),
    ("SAN LUIS POTOSÍ", "San Luis Potosí", &[]),
    ("SINALOA", "Sinaloa", &[]),
    ("SONORA", "Sonora", &[]),
    ("TABASCO", "Tabasco", &[]),
    ("TAMAULIPAS", "Tamaulipas", &[]),
    ("TLAXCALA", "Tlaxcala", &[]),
    (
        "VERACRUZ DE IGNACIO DE LA LLAVE",
        "Veracruz",
        &["Veracruz de Ignacio de la Llave"],
    ),
    ("YUCATÁN", "Yucatán", &[]),
    ("ZACATECAS", "Zacatecas", &[]),
];

/// Words left out of variant tags and of place queries ("de Juchitán").
const STOPWORDS: &[&str] = &["de", "del", "la", "las", "los", "el", "y", "e", "en"];

/// The best candidate per language found so far by [`Catalogue::search`].
struct Found<'a> {
    catalogue: &'a Catalogue,
    best: HashMap<usize, Candidate<'a>>,
}

impl<'a> Found<'a> {
    /// Keep this match of language `i` if it beats the one kept (a better kind, then a
    /// higher score).
    fn offer(&mut self, i: usize, kind: MatchKind, matched: &'a str, score: f64) {
        let better = match self.best.get(&i) {
            Some(old) => (kind, -score) < (old.kind, -old.score),
            None => true,
        };
        if better {
            let language = &self.catalogue.languages[i];
            self.best.insert(
                i,
                Candidate {
                    language,
                    kind,
                    matched,
                    score,
                },
            );
        }
    }
}

impl Catalogue {
    /// The name of `tag` for a reader of `ui_lang` (the tag itself if it is not listed).
    pub fn display_name(&self, tag: &LanguageTag, ui_lang: &str) -> String {
        self.get(tag)
            .map(|l| l.name(ui_lang).to_string())
            .unwrap_or_else(|| tag.to_string())
    }

    /// The catalogue compiled into the binary: the curated agrupaciones and languages, INALI's
    /// 364 variants with their self-names and places, and every living ISO 639-3 language,
    /// addressable by its code only (so that a coordinator can register an interpreter of
    /// any language, and an operator can ask for one by code).
    pub fn embedded() -> Catalogue {
        // The embedded files are checked by unit tests, so this cannot fail at run time.
        Catalogue::build(EMBEDDED, INALI_VARIANTS, INALI_ISO, ISO_639_3)
            .expect("the embedded catalogue is valid")
    }

    /// Build a catalogue from the curated TOML, INALI's variants CSV, INALI's agrupación →
    /// ISO 639-3 crosswalk CSV and SIL's ISO 639-3 table.
    pub fn build(
        curated: &str,
        variants: &str,
        crosswalk: &str,
        iso: &str,
    ) -> Result<Catalogue, CatalogueError> {
        let file: CatalogueFile = toml::from_str(curated)?;
        let mut languages = file.language;
        for l in &mut languages {
            if l.agrupacion.is_some() {
                l.level = Level::Agrupacion;
            }
        }
        add_inali_variants(&mut languages, variants, &file.variant)?;
        let listed = languages.len();
        add_iso_codes(&mut languages, iso, crosswalk);
        let mut by_tag = HashMap::new();
        for (i, lang) in languages.iter().enumerate() {
            if by_tag.insert(lang.tag.clone(), i).is_some() {
                return Err(CatalogueError::Duplicate(lang.tag.clone()));
            }
            if lang.names_es.is_empty() || lang.names_en.is_empty() {
                return Err(CatalogueError::Unnamed(lang.tag.clone()));
            }
        }
        let mut cat = Catalogue {
            languages,
            listed,
            by_tag,
            names: Vec::new(),
            exact: HashMap::new(),
            words: HashMap::new(),
            places: Vec::new(),
            place_entries: Vec::new(),
        };
        cat.index_names();
        cat.index_places();
        Ok(cat)
    }

    fn index_names(&mut self) {
        let mut names = Vec::new();
        for (i, lang) in self.languages[..self.listed].iter().enumerate() {
            let kinds = lang
                .names_es
                .iter()
                .chain(&lang.names_en)
                .map(|n| (n, MatchKind::Name))
                .chain(lang.self_names.iter().map(|n| (n, MatchKind::SelfName)));
            for (n, kind) in kinds {
                let norm = normalize(n);
                if norm.is_empty() {
                    continue;
                }
                names.push(Name {
                    letters: letters(&norm),
                    chars: norm.chars().count(),
                    norm,
                    lang: i,
                    kind,
                    original: n.clone(),
                });
            }
        }
        names.sort_by(|a, b| a.norm.cmp(&b.norm).then(a.lang.cmp(&b.lang)));
        for (k, n) in names.iter().enumerate() {
            self.exact.entry(n.norm.clone()).or_default().push(k);
            if n.norm.contains(' ') {
                for w in n.norm.split(' ').filter(|w| !STOPWORDS.contains(w)) {
                    let list = self.words.entry(w.to_string()).or_default();
                    if list.last() != Some(&k) {
                        list.push(k);
                    }
                }
            }
        }
        self.names = names;
    }

    fn index_places(&mut self) {
        // Municipalities, from the variants' lists.
        let mut by_place: HashMap<(String, String), Vec<(usize, f64)>> = HashMap::new();
        for (i, lang) in self.languages[..self.listed].iter().enumerate() {
            let municipalities = lang.places.len().max(1) as f64;
            // Localities per municipality: how strongly a municipality suggests the language.
            let weight = f64::from(lang.localities.max(1)) / municipalities;
            for (state, name) in &lang.places {
                by_place
                    .entry((state.clone(), name.clone()))
                    .or_default()
                    .push((i, weight));
            }
        }
        let mut entries: Vec<PlaceEntry> = by_place
            .into_iter()
            .map(|((state, name), languages)| PlaceEntry {
                place: Place {
                    kind: "municipality",
                    name,
                    state,
                },
                languages,
            })
            .collect();
        // States: every language with a municipality there, by its localities there.
        for (_, display, _) in STATES {
            let mut languages: HashMap<usize, f64> = HashMap::new();
            for e in entries.iter().filter(|e| e.place.state == *display) {
                for &(i, w) in &e.languages {
                    *languages.entry(i).or_default() += w;
                }
            }
            entries.push(PlaceEntry {
                place: Place {
                    kind: "state",
                    name: display.to_string(),
                    state: display.to_string(),
                },
                languages: languages.into_iter().collect(),
            });
        }
        entries
            .sort_by(|a, b| (&a.place.state, &a.place.name).cmp(&(&b.place.state, &b.place.name)));
        let mut names = Vec::new();
        for (k, e) in entries.iter().enumerate() {
            let mut spellings = vec![e.place.name.clone()];
            if e.place.kind == "state" {
                if let Some((inali, _, others)) = STATES.iter().find(|s| s.1 == e.place.name) {
                    spellings.push(inali.to_string());
                    spellings.extend(others.iter().map(|s| s.to_string()));
                }
            } else if let Some((main, alt)) = e.place.name.split_once(" [") {
                // "Del Nayar [El Nayar]": both spellings.
                spellings = vec![main.to_string(), alt.trim_end_matches(']').to_string()];
            }
            for s in spellings {
                let norm = normalize(&s);
                if !norm.is_empty() {
                    names.push((norm, k));
                }
            }
        }
        names.sort();
        names.dedup();
        for e in &mut entries {
            e.languages
                .sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        self.places = names;
        self.place_entries = entries;
    }

    pub fn get(&self, tag: &LanguageTag) -> Option<&Language> {
        self.by_tag.get(tag).map(|&i| &self.languages[i])
    }

    /// The agrupaciones, other curated languages and INALI variants (not the ISO-only
    /// entries), in catalogue order.
    pub fn languages(&self) -> &[Language] {
        &self.languages[..self.listed]
    }

    /// The agrupación of `tag`: itself for an agrupación, the parent of a variant or a
    /// crosswalked ISO code, `None` otherwise.
    pub fn group_of(&self, tag: &LanguageTag) -> Option<&LanguageTag> {
        self.get(tag).and_then(Language::group)
    }

    /// All languages matching `query`, best first, at most one candidate per language.
    pub fn search<'a>(&'a self, query: &str) -> Vec<Candidate<'a>> {
        let q = normalize(query);
        if q.is_empty() {
            return Vec::new();
        }
        let mut found = Found {
            catalogue: self,
            best: HashMap::new(),
        };
        // A tag ("tzo", "zap-x-planicie-costera").
        if let Ok(tag) = LanguageTag::parse(query) {
            if let Some(&i) = self.by_tag.get(&tag) {
                let lang = &self.languages[i];
                found.offer(i, MatchKind::Tag, lang.tag.as_str(), MatchKind::Tag.score());
            }
        }
        // A whole name.
        for &k in self.exact.get(&q).into_iter().flatten() {
            let n = &self.names[k];
            found.offer(n.lang, n.kind, &n.original, n.kind.score());
        }
        if q.len() >= 3 {
            self.search_parts(&q, &mut found);
        }
        // A place ("de Juchitán", "Chamula"), scored by how likely each language is there.
        if let Some((places, langs)) = self.place_languages(&q) {
            let top = langs.first().map_or(1.0, |l| l.1);
            let matched = places
                .first()
                .map_or("", |&k| self.place_entries[k].place.name.as_str());
            for (i, w) in langs {
                let score = MatchKind::Place.score() * (0.5 + 0.5 * w / top);
                found.offer(i, MatchKind::Place, matched, score);
            }
        }
        // Typos, only when nothing else matched.
        if found.best.is_empty() {
            self.search_typos(&q, &mut found);
        }
        let mut out: Vec<Candidate<'a>> = found.best.into_values().collect();
        out.sort_by(|a, b| {
            a.kind
                .cmp(&b.kind)
                .then(b.score.total_cmp(&a.score))
                .then_with(|| self.by_tag[&a.language.tag].cmp(&self.by_tag[&b.language.tag]))
        });
        out
    }

    /// Names that `q` (normalised, 3 letters or more) is part of, or that are part of it:
    /// the start of a name ("zapoteco de la"), one word of a name ("istmo"), or a name among
    /// the query's words ("hablo mexicano").
    fn search_parts<'a>(&'a self, q: &str, found: &mut Found<'a>) {
        let word = |found: &mut Found<'a>, k: usize| {
            let n = &self.names[k];
            found.offer(
                n.lang,
                MatchKind::Word,
                &n.original,
                MatchKind::Word.score(),
            );
        };
        let from = self.names.partition_point(|n| n.norm.as_str() < q);
        for n in self.names[from..]
            .iter()
            .take_while(|n| n.norm.starts_with(q))
        {
            found.offer(
                n.lang,
                MatchKind::Prefix,
                &n.original,
                MatchKind::Prefix.score(),
            );
        }
        for &k in self.words.get(q).into_iter().flatten() {
            word(found, k);
        }
        let words: Vec<&str> = q.split(' ').collect();
        for len in 1..=words.len().min(4) {
            for window in words.windows(len) {
                let phrase = window.join(" ");
                if phrase == q || phrase.len() < 3 || STOPWORDS.contains(&phrase.as_str()) {
                    continue;
                }
                for &k in self.exact.get(&phrase).into_iter().flatten() {
                    word(found, k);
                }
            }
        }
    }

    /// Names within a few typos of `q`: none under 4 letters, 1 up to 7, 2 beyond.
    fn search_typos<'a>(&'a self, q: &str, found: &mut Found<'a>) {
        let max_typos = match q.chars().count() {
            0..=3 => return,
            4..=7 => 1,
            _ => 2,
        };
        let (ql, qc) = (letters(q), q.chars().count());
        for n in &self.names {
            if n.chars.abs_diff(qc) > max_typos
                || (n.letters ^ ql).count_ones() as usize > 2 * max_typos
            {
                continue;
            }
            if within_distance(&n.norm, q, max_typos) {
                found.offer(
                    n.lang,
                    MatchKind::Fuzzy,
                    &n.original,
                    MatchKind::Fuzzy.score(),
                );
            }
        }
    }

    /// Resolve free text to one language, or say why it cannot: the best two candidates
    /// are too close to choose when they matched the same way (and, for places, the first
    /// is not at least twice as likely as the second).
    pub fn resolve(&self, query: &str) -> Resolution<'_> {
        let mut found = self.search(query);
        match found.len() {
            0 => Resolution::Unknown,
            1 => Resolution::Found(found.remove(0)),
            _ if found[0].kind < found[1].kind => Resolution::Found(found.remove(0)),
            _ if found[0].kind == MatchKind::Place
                && place_weight(found[0].score) >= 2.0 * place_weight(found[1].score) =>
            {
                Resolution::Found(found.remove(0))
            }
            _ => {
                let kind = found[0].kind;
                let top = found[0].score;
                found.retain(|c| c.kind == kind && c.score >= top * 0.75);
                // An agrupación tied with its own variants is the safe answer: it covers them.
                let group = found
                    .iter()
                    .position(|c| c.language.level == Level::Agrupacion)
                    .filter(|&g| {
                        let tag = &found[g].language.tag;
                        found.iter().all(|c| c.language.group() == Some(tag))
                    });
                if let Some(g) = group {
                    return Resolution::Found(found.swap_remove(g));
                }
                found.truncate(8);
                Resolution::Ambiguous(found)
            }
        }
    }

    /// The languages spoken in the places `query` names (a state or a municipality, with
    /// or without accents, "de …" or not), most likely first; `None` when no place matches.
    pub fn places(&self, query: &str) -> Option<PlaceAnswer<'_>> {
        let (places, langs) = self.place_languages(&normalize(query))?;
        let top = langs.first().map_or(1.0, |l| l.1);
        Some(PlaceAnswer {
            places: places
                .into_iter()
                .map(|k| self.place_entries[k].place.clone())
                .collect(),
            languages: langs
                .into_iter()
                .map(|(i, w)| (&self.languages[i], w / top))
                .collect(),
        })
    }

    /// Places whose name is the query (or starts with it), and the languages spoken there
    /// with their weights, heaviest first.
    fn place_languages(&self, q: &str) -> Option<(Vec<usize>, Weighted)> {
        let words: Vec<&str> = q.split(' ').collect();
        let start = words.iter().take_while(|w| STOPWORDS.contains(w)).count();
        let stripped = words[start..].join(" ");
        let mut hits: Vec<usize> = Vec::new();
        for candidate in [q, stripped.as_str()] {
            if candidate.len() < 3 {
                continue;
            }
            let from = self.places.partition_point(|(n, _)| n.as_str() < candidate);
            let exact: Vec<usize> = self.places[from..]
                .iter()
                .take_while(|(n, _)| n == candidate)
                .map(|&(_, k)| k)
                .collect();
            if !exact.is_empty() {
                hits = exact;
                break;
            }
            if hits.is_empty() && candidate.len() >= 4 {
                hits = self.places[from..]
                    .iter()
                    .take_while(|(n, _)| n.starts_with(candidate))
                    .map(|&(_, k)| k)
                    .collect();
            }
        }
        // "San Juan Chamula": the official name is the end of what was typed.
        if hits.is_empty() {
            for skip in 1..words.len() {
                let tail = words[skip..].join(" ");
                if tail.len() < 4 || STOPWORDS.contains(&tail.as_str()) {
                    continue;
                }
                let from = self.places.partition_point(|(n, _)| *n < tail);
                hits = self.places[from..]
                    .iter()
                    .take_while(|(n, _)| *n == tail)
                    .map(|&(_, k)| k)
                    .collect();
                if !hits.is_empty() {
                    break;
                }
            }
        }
        hits.sort_unstable();
        hits.dedup();
        if hits.is_empty() {
            return None;
        }
        let mut weights: HashMap<usize, f64> = HashMap::new();
        for &k in &hits {
            for &(i, w) in &self.place_entries[k].languages {
                *weights.entry(i).or_default() += w;
            }
        }
        let mut langs: Vec<(usize, f64)> = weights.into_iter().collect();
        langs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Some((hits, langs))
    }
}

/// Indexes of languages with a weight, heaviest first.
type Weighted = Vec<(usize, f64)>;

/// Undo the place score's scaling: `MatchKind::Place.score() * (0.5 + 0.5 * w)`.
fn place_weight(score: f64) -> f64 {
    (score / MatchKind::Place.score() - 0.5) * 2.0
}

/// A bit per letter a–z present in a normalised name.
fn letters(s: &str) -> u32 {
    s.bytes()
        .filter(u8::is_ascii_lowercase)
        .fold(0, |m, b| m | 1 << (b - b'a'))
}

/// A minimal CSV reader (RFC 4180: quoted fields, doubled quotes), for the embedded data.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// Rows of a CSV with a header, as maps from column name to value.
fn csv_records(text: &str) -> Vec<HashMap<String, String>> {
    let mut rows = csv_rows(text).into_iter();
    let Some(header) = rows.next() else {
        return Vec::new();
    };
    rows.map(|r| header.iter().cloned().zip(r).collect())
        .collect()
}

/// A self-name without INALI's qualifier: "tu'un savi (de Tlahuapa)" → "tu'un savi".
fn bare(self_name: &str) -> &str {
    self_name.split(" (").next().unwrap_or(self_name).trim()
}

/// The private-use subtags naming a variant within its agrupación: the words of the
/// variant's name that are not the agrupación's name nor stop words, folded to a–z and 0–9,
/// each cut to 8 letters. "zapoteco de la Sierra sur, noroeste bajo" (zapoteco) →
/// `sierra-sur-noroeste-bajo`.
fn variant_subtags(variant: &str, agrupacion: &str) -> String {
    let group = normalize(agrupacion);
    let group: Vec<&str> = group.split(' ').collect();
    normalize(variant)
        .split(' ')
        .filter(|w| !STOPWORDS.contains(w) && !group.contains(w))
        .map(|w| {
            w.chars()
                .filter(char::is_ascii_alphanumeric)
                .take(8)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// Add INALI's variants under their agrupaciones (which must be curated): a variant gets
/// the tag `<agrupación>-x-<subtags>` (see [`variant_subtags`]); an agrupación with a
/// single variant is that variant. Self-names that several variants share go to the
/// agrupación, and so do the variants' localities.
fn add_inali_variants(
    languages: &mut Vec<Language>,
    csv: &str,
    extra: &[VariantNames],
) -> Result<(), CatalogueError> {
    let records = csv_records(csv);
    let mut rows_of: HashMap<String, Vec<&Row>> = HashMap::new();
    for r in &records {
        let a = r.get("agrupacion").cloned().unwrap_or_default();
        rows_of.entry(a).or_default().push(r);
    }
    let mut agrupaciones: Vec<(usize, String)> = languages
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.agrupacion.clone().map(|a| (i, a)))
        .collect();
    agrupaciones.sort_by_key(|(i, _)| *i);
    for (group, name) in agrupaciones {
        let Some(rows) = rows_of.remove(&name) else {
            return Err(CatalogueError::Inali(format!(
                "agrupación `{name}` has no variant in the CSV"
            )));
        };
        add_variants_of(languages, group, &name, &rows, extra)?;
    }
    if let Some(name) = rows_of.keys().next() {
        return Err(CatalogueError::Inali(format!(
            "agrupación `{name}` of the CSV is not in languages.toml"
        )));
    }
    if let Some(e) = extra
        .iter()
        .find(|e| !records.iter().any(|r| r.get("variante") == Some(&e.inali)))
    {
        return Err(CatalogueError::Inali(format!(
            "[[variant]] `{}` is not a variant of the CSV",
            e.inali
        )));
    }
    Ok(())
}

/// One row of INALI's CSV, by column name.
type Row = HashMap<String, String>;

fn field(r: &Row, k: &str) -> String {
    r.get(k).cloned().unwrap_or_default()
}

/// Add the variants of agrupación `name` (at `languages[group]`) from its `rows`.
fn add_variants_of(
    languages: &mut Vec<Language>,
    group: usize,
    name: &str,
    rows: &[&Row],
    extra: &[VariantNames],
) -> Result<(), CatalogueError> {
    let counts = self_name_counts(rows);
    // A curated self-name of the agrupación that only one variant uses is that variant's.
    if rows.len() > 1 {
        languages[group]
            .self_names
            .retain(|n| counts.get(&normalize(n)).copied().unwrap_or(0) != 1);
    }
    let group_tag = languages[group].tag.clone();
    let mut used: Vec<String> = Vec::new();
    for r in rows {
        let variant = field(r, "variante");
        let mut self_names: Vec<String> = Vec::new();
        for s in field(r, "autodenominacion").split(" | ") {
            let b = bare(s);
            if b.is_empty() {
                continue;
            }
            // Self-names shared by two variants or more belong to the agrupación.
            let shared = counts.get(&normalize(b)).copied().unwrap_or(0) > 1;
            let target = if shared || rows.len() == 1 {
                &mut languages[group].self_names
            } else {
                &mut self_names
            };
            if !target.iter().any(|t| normalize(t) == normalize(b)) {
                target.push(b.to_string());
            }
        }
        let places = inali_places(&field(r, "municipios"));
        let localities: u32 = field(r, "n_localidades").trim().parse().unwrap_or(0);
        let family = Some(field(r, "familia"));
        let (names_es, names_en) = extra_names(extra, &variant);
        let g = &mut languages[group];
        if rows.len() == 1 {
            // An agrupación with a single variant is that variant.
            if normalize(&variant) != normalize(&g.names_es[0]) {
                g.names_es.push(variant.clone());
            }
            g.names_es.extend(names_es);
            g.names_en.extend(names_en);
            g.places = places;
            g.localities = localities;
            g.family = g.family.clone().or(family);
            continue;
        }
        g.localities += localities;
        let sub = unique_subtags(&variant, name, &mut used);
        let tag_text = if group_tag.as_str().contains("-x-") {
            format!("{group_tag}-{sub}")
        } else {
            format!("{group_tag}-x-{sub}")
        };
        let tag = LanguageTag::parse(&tag_text)
            .map_err(|e| CatalogueError::Inali(format!("variant `{variant}`: {e}")))?;
        languages.push(Language {
            tag,
            family,
            agrupacion: Some(name.to_string()),
            names_es: std::iter::once(variant.clone()).chain(names_es).collect(),
            names_en: std::iter::once(variant).chain(names_en).collect(),
            self_names,
            level: Level::Variant,
            parent: Some(group_tag.clone()),
            places,
            localities,
        });
    }
    Ok(())
}

/// The Spanish and English names `extra` gives variant `variant`, if any.
fn extra_names(extra: &[VariantNames], variant: &str) -> (Vec<String>, Vec<String>) {
    extra
        .iter()
        .find(|e| e.inali == variant)
        .map(|e| (e.names_es.clone(), e.names_en.clone()))
        .unwrap_or_default()
}

/// How many of the `rows` (variants) use each self-name (normalised).
fn self_name_counts(rows: &[&Row]) -> HashMap<String, usize> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for r in rows {
        let mut seen = Vec::new();
        for s in field(r, "autodenominacion").split(" | ") {
            let b = normalize(bare(s));
            if !b.is_empty() && !seen.contains(&b) {
                *counts.entry(b.clone()).or_default() += 1;
                seen.push(b);
            }
        }
    }
    counts
}

/// The (state, municipality) pairs of INALI's `municipios` column.
fn inali_places(municipios: &str) -> Vec<(String, String)> {
    let state_name = |inali: &str| -> String {
        STATES
            .iter()
            .find(|s| s.0 == inali.trim())
            .map_or_else(|| inali.trim().to_string(), |s| s.1.to_string())
    };
    let mut places = Vec::new();
    let mut pending = String::new();
    for m in municipios.split(" | ") {
        let Some((state, muni)) = m.split_once(": ") else {
            continue;
        };
        // INALI splits "Del Nayar" in two entries: "Del", then "Nayar [El Nayar]".
        if muni.trim() == "Del" {
            pending = "Del ".into();
            continue;
        }
        let muni = format!("{}{}", std::mem::take(&mut pending), muni.trim());
        places.push((state_name(state), muni));
    }
    places
}

/// The private-use subtags of a variant, numbered when another variant of the
/// agrupación already took them (`used`).
fn unique_subtags(variant: &str, agrupacion: &str, used: &mut Vec<String>) -> String {
    let mut sub = variant_subtags(variant, agrupacion);
    if sub.is_empty() {
        sub = "central".into();
    }
    let base = sub.clone();
    let mut n = 2;
    while used.contains(&sub) {
        sub = format!("{base}-{n}");
        n += 1;
    }
    used.push(sub.clone());
    sub
}

/// Add the living individual languages and macrolanguages of an ISO 639-3 code table
/// (SIL's tab-separated format) that the catalogue does not have yet, each under the
/// agrupación INALI's crosswalk puts it in. Their names are not indexed for search: ISO
/// reference names are English and often misleading for Mexico ("Mam", "Mayo"), so only
/// the exact code finds them.
fn add_iso_codes(languages: &mut Vec<Language>, table: &str, crosswalk: &str) {
    let mut known: HashMap<LanguageTag, ()> =
        languages.iter().map(|l| (l.tag.clone(), ())).collect();
    let mut group_of: HashMap<String, (LanguageTag, Option<String>, String)> = HashMap::new();
    for r in csv_records(crosswalk) {
        let (Some(code), Some(agr)) = (r.get("iso639_3"), r.get("inali_agrupacion")) else {
            continue;
        };
        if let Some(g) = languages
            .iter()
            .find(|l| l.level == Level::Agrupacion && l.agrupacion.as_deref() == Some(agr.as_str()))
        {
            group_of.insert(code.clone(), (g.tag.clone(), g.family.clone(), agr.clone()));
        }
    }
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
        if known.insert(tag.clone(), ()).is_some() {
            continue;
        }
        let group = group_of.get(*code);
        languages.push(Language {
            tag,
            family: group.and_then(|g| g.1.clone()),
            agrupacion: group.map(|g| g.2.clone()),
            names_es: vec![name.to_string()],
            names_en: vec![name.to_string()],
            self_names: Vec::new(),
            level: Level::Iso,
            parent: group.map(|g| g.0.clone()),
            places: Vec::new(),
            localities: 0,
        });
    }
}

/// The plain vowel under an accented lower-case one (acute, grave, circumflex, diaeresis,
/// tilde, ring, macron): `á` → `a`. Letters of their own (`ɨ`, `ø`, `ʉ`) are not accented
/// vowels.
pub fn unaccented_vowel(c: char) -> Option<char> {
    Some(match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ā' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'ē' | 'ẽ' => 'e',
        'í' | 'ì' | 'î' | 'ï' | 'ī' | 'ĩ' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ō' => 'o',
        'ú' | 'ù' | 'û' | 'ü' | 'ū' | 'ũ' => 'u',
        _ => return None,
    })
}

/// Lower-case, strip accents and tone marks, drop apostrophes and saltillos, collapse
/// punctuation and spaces: "Bats'i K'op" and "batsi kop" normalise the same.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = true;
    for c in s.chars().flat_map(char::to_lowercase) {
        let mapped = match unaccented_vowel(c).unwrap_or(c) {
            'ɨ' => 'i',
            'ø' => 'o',
            'ʉ' => 'u',
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
