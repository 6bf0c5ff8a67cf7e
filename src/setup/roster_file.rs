//! The roster file, `interpreters.toml`: parsed once at start (and by `puente roster
//! check`) into typed entries, with line-accurate problems.

use std::fmt;

use serde::Deserialize;

use crate::domain::ids::InterpreterId;
use crate::domain::language::Catalogue;
use crate::domain::roster::{check_skills, parse_name, Availability, LanguageSkill, PhoneNumber};

/// One interpreter as written in `interpreters.toml`, parsed.
#[derive(Debug)]
pub struct RosterEntry {
    pub id: InterpreterId,
    pub name: String,
    pub phone: PhoneNumber,
    pub languages: Vec<LanguageSkill>,
    /// Start available (default) or offline.
    pub availability: Availability,
    /// A demo token in clear. Only for demo rosters: real deployments use `token_sha256`.
    pub token: Option<String>,
    /// The SHA-256 of the interpreter's token (written in hex).
    pub token_sha256: Option<crate::domain::ids::TokenHash>,
    pub schedule: Option<crate::domain::schedule::Schedule>,
    /// The person's registration or certification, free text.
    pub certification: Option<String>,
}

type Field = Option<toml::Spanned<toml::Value>>;

/// An `[[interpreter]]` table with every field kept raw and spanned, so that each problem
/// can name the line of the field it is about.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: Field,
    name: Field,
    phone: Field,
    languages: Field,
    availability: Field,
    token: Field,
    token_sha256: Field,
    schedule: Field,
    certification: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RosterFile {
    #[serde(default)]
    interpreter: Vec<toml::Spanned<RawEntry>>,
    /// The widening search (see `routing`), optional.
    #[serde(default)]
    routing: Option<toml::Spanned<toml::Value>>,
}

/// The `[routing]` section of a roster file, checked against the catalogue.
fn routing_of(
    file: &RosterFile,
    text: &str,
    catalogue: &Catalogue,
) -> Result<Option<crate::logic::routing::Routing>, RosterProblem> {
    let Some(raw) = &file.routing else {
        return Ok(None);
    };
    let problem = |message: String| RosterProblem {
        line: line_of(text, raw.span().start),
        message: format!("[routing]: {message}"),
    };
    let routing: crate::logic::routing::Routing = raw
        .get_ref()
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| problem(e.message().trim().to_string()))?;
    routing.check(catalogue).map_err(problem)?;
    Ok(Some(routing))
}

/// The `[routing]` section of a roster file, if it has one.
pub fn parse_routing(
    text: &str,
    catalogue: &Catalogue,
) -> Result<Option<crate::logic::routing::Routing>, RosterProblem> {
    let file: RosterFile = toml::from_str(text).map_err(|e| RosterProblem {
        line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
        message: e.message().trim().to_string(),
    })?;
    routing_of(&file, text, catalogue)
}

/// A problem in a roster file, with the 1-based line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterProblem {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for RosterProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// Collects problems while reading one file.
struct Reader<'a> {
    text: &'a str,
    problems: Vec<RosterProblem>,
}

impl Reader<'_> {
    fn problem(&mut self, line: usize, message: String) {
        self.problems.push(RosterProblem { line, message });
    }

    /// Parse one field with `parse`, recording a problem on the field's line if it fails.
    fn field<T>(
        &mut self,
        table_line: usize,
        key: &str,
        raw: &Field,
        parse: impl FnOnce(toml::Value) -> Result<T, String>,
    ) -> Option<T> {
        let Some(raw) = raw else {
            self.problem(
                table_line,
                format!("[[interpreter]] has no `{key}`: add `{key} = …`"),
            );
            return None;
        };
        let line = line_of(self.text, raw.span().start);
        match parse(raw.get_ref().clone()) {
            Ok(v) => Some(v),
            Err(e) => {
                self.problem(line, format!("`{key}`: {e}"));
                None
            }
        }
    }
}

impl Reader<'_> {
    /// [`Reader::field`] for a field that may be left out (`Some(None)` then).
    fn optional<T>(
        &mut self,
        table_line: usize,
        key: &str,
        raw: &Field,
        parse: impl FnOnce(toml::Value) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match raw {
            None => Some(None),
            some => self.field(table_line, key, some, parse).map(Some),
        }
    }

    /// One `[[interpreter]]` table; `None` when a field has a problem (recorded).
    fn entry(
        &mut self,
        table_line: usize,
        raw: &RawEntry,
        catalogue: &Catalogue,
    ) -> Option<RosterEntry> {
        let l = table_line;
        let id = self.field(l, "id", &raw.id, |v| InterpreterId::parse(&string(v)?));
        let name = self.field(l, "name", &raw.name, |v| parse_name(&string(v)?));
        let phone = self.field(l, "phone", &raw.phone, |v| PhoneNumber::parse(&string(v)?));
        let languages = self.field(l, "languages", &raw.languages, |v| {
            let skills: Vec<LanguageSkill> = typed(v)?;
            check_skills(&skills, catalogue)?;
            Ok(skills)
        });
        let availability = self
            .optional(l, "availability", &raw.availability, |v| {
                typed(v).map_err(|_| "use `available` or `offline`".to_string())
            })
            .map(|a| a.unwrap_or(Availability::Available));
        let token = self.optional(l, "token", &raw.token, |v| {
            let t = string(v)?;
            if t.len() < 8 {
                return Err("a token needs at least 8 characters".into());
            }
            Ok(t)
        });
        let schedule = self.optional(l, "schedule", &raw.schedule, |v| {
            let s: crate::domain::schedule::Schedule = typed(v)?;
            s.check().map_err(|e| e.0)?;
            Ok(s)
        });
        let certification = self
            .optional(l, "certification", &raw.certification, |v| {
                let c = string(v)?;
                if c.chars().count() > 200 {
                    return Err("must be at most 200 characters".into());
                }
                Ok(Some(c.trim().to_string()).filter(|c| !c.is_empty()))
            })
            .map(Option::flatten);
        let token_sha256 = self.optional(l, "token_sha256", &raw.token_sha256, |v| {
            crate::domain::ids::TokenHash::from_hex(&string(v)?)
                .ok_or_else(|| "must be 64 hex digits (the SHA-256 of the token)".into())
        });
        Some(RosterEntry {
            id: id?,
            name: name?,
            phone: phone?,
            languages: languages?,
            availability: availability?,
            token: token?,
            token_sha256: token_sha256?,
            schedule: schedule?,
            certification: certification?,
        })
    }
}

fn string(v: toml::Value) -> Result<String, String> {
    match v {
        toml::Value::String(s) => Ok(s),
        other => Err(format!(
            "expected a string in quotes, found {}",
            other.type_str()
        )),
    }
}

fn typed<T: serde::de::DeserializeOwned>(v: toml::Value) -> Result<T, String> {
    v.try_into::<T>().map_err(|e| e.message().to_string())
}

/// Parse a roster file. Reports every problem it finds, not just the first, each with the
/// line of the field it is about and what to do.
pub fn parse_roster(
    text: &str,
    catalogue: &Catalogue,
) -> Result<Vec<RosterEntry>, Vec<RosterProblem>> {
    let file: RosterFile = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            return Err(vec![RosterProblem {
                line,
                message: e.message().trim().to_string(),
            }]);
        }
    };
    let mut r = Reader {
        text,
        problems: Vec::new(),
    };
    let mut entries: Vec<RosterEntry> = Vec::new();
    if let Err(p) = routing_of(&file, text, catalogue) {
        r.problems.push(p);
    }
    for raw in file.interpreter {
        let table_line = line_of(text, raw.span().start);
        let raw = raw.into_inner();
        let Some(entry) = r.entry(table_line, &raw, catalogue) else {
            continue;
        };
        let id = &entry.id;
        if entry.token.is_some() && entry.token_sha256.is_some() {
            r.problem(
                table_line,
                format!("interpreter `{id}`: give either `token` or `token_sha256`, not both"),
            );
        }
        if entries.iter().any(|o| o.id == *id) {
            let line = raw
                .id
                .as_ref()
                .map_or(table_line, |f| line_of(text, f.span().start));
            r.problem(
                line,
                format!("interpreter `{id}` is listed twice: ids must be unique"),
            );
            continue;
        }
        entries.push(entry);
    }
    if r.problems.is_empty() {
        Ok(entries)
    } else {
        Err(r.problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn roster_problems_name_their_line() {
        let cat = Catalogue::embedded();
        let text = r#"
[[interpreter]]
id = "ana"
name = "Ana"
phone = "+525550000001"
languages = [{ tag = "tzo", proficiency = 5 }]

[[interpreter]]
id = "beto"
name = "Beto"
phone = "+525550000002"
languages = [{ tag = "klingon", proficiency = 3 }]

[[interpreter]]
id = "ana"
name = "Ana again"
phone = "+525550000003"
languages = [{ tag = "yua", proficiency = 9 }]
"#;
        let problems = parse_roster(text, &cat).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].line, 12);
        assert!(problems[0].message.contains("klingon"));
        assert_eq!(problems[1].line, 18);
        assert!(problems[1].message.contains("proficiency"));
    }

    #[test]
    fn every_problem_of_a_table_is_reported_on_its_own_line() {
        let cat = Catalogue::embedded();
        let text = "[[interpreter]]\nid = \"Ana\"\nname = \"\"\nphone = 5550001\nlanguages = []\navailability = \"busy\"\n";
        let problems = parse_roster(text, &cat).unwrap_err();
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6], "{problems:?}");
        let unknown =
            parse_roster("[[interpreter]]\nid = \"a\"\nemail = \"x\"\n", &cat).unwrap_err();
        assert!(unknown[0].message.contains("email"), "{unknown:?}");
        let missing = parse_roster("\n[[interpreter]]\nid = \"a\"\n", &cat).unwrap_err();
        assert_eq!(missing[0].line, 2);
        assert!(missing[0].message.contains("name"));
    }

    #[test]
    fn the_demo_roster_is_valid() {
        let cat = Catalogue::embedded();
        let text = include_str!("../../interpreters.toml");
        let entries = parse_roster(text, &cat).unwrap();
        let mut tags: Vec<_> = entries
            .iter()
            .flat_map(|e| e.languages.iter().map(|l| l.tag.clone()))
            .collect();
        tags.sort();
        tags.dedup();
        assert!(tags.len() >= 8, "demo roster covers only {tags:?}");
    }

    #[test]
    fn a_routing_section_is_read_and_checked_with_its_line() {
        let cat = Catalogue::embedded();
        let good = "[routing]\ntiers = [{ reach = \"exact\", secs = 20 }, { reach = \"agrupacion\" }]\n\n[routing.intelligible]\n\"zap-x-planicie-costera\" = [\"zap-x-montana-istmo-alto\"]\n";
        let routing = parse_routing(good, &cat).unwrap().unwrap();
        assert_eq!(routing.tiers[0].secs, Some(20));
        assert_eq!(routing.intelligible.len(), 1);
        assert_eq!(parse_routing("", &cat).unwrap(), None);

        let bad = "[[interpreter]]\nid = \"ana\"\nname = \"Ana\"\nphone = \"+529671234567\"\nlanguages = [{ tag = \"tzo\", proficiency = 5 }]\n\n[routing]\ntiers = []\n";
        let problems = parse_roster(bad, &cat).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("[routing]"), "{problems:?}");
        assert!(problems[0].message.contains("at least one tier"));
        assert_eq!(problems[0].line, 7);
    }

    #[test]
    fn a_schedule_in_the_roster_is_read_and_a_bad_one_named_with_its_line() {
        let cat = Catalogue::embedded();
        let good = "[[interpreter]]\nid = \"ana\"\nname = \"Ana\"\nphone = \"+529671234567\"\nlanguages = [{ tag = \"tzo\", proficiency = 5 }]\nschedule = { time_zone = \"America/Tijuana\", windows = [{ days = [\"mon\"], start = \"22:00\", end = \"06:00\" }] }\n";
        let entries = parse_roster(good, &cat).unwrap();
        let s = entries[0].schedule.as_ref().unwrap();
        assert_eq!(s.time_zone, "America/Tijuana");
        assert_eq!(s.windows.len(), 1);
        let bad = good.replace("America/Tijuana", "Mars/Base");
        let problems = parse_roster(&bad, &cat).unwrap_err();
        assert_eq!(problems[0].line, 6, "{problems:?}");
        assert!(problems[0].message.contains("IANA"), "{problems:?}");
    }
}
