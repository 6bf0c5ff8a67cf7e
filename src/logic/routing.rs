//! The widening search: who may be offered a request, and how that widens with time.
//!
//! Interpreters are rarer than variants, so a request starts narrow and widens on purpose,
//! in ordered tiers, each with a duration:
//!
//! - [`Reach::Exact`]: interpreters registered for the request's own tag (a variant, an ISO
//!   code, or the agrupación itself when that is all the operator knew);
//! - [`Reach::Intelligible`]: also those of the variants a coordinator listed as
//!   intelligible for it (`intelligible`: data, never guessed by code);
//! - [`Reach::Agrupacion`]: anyone registered in the request's agrupación, at any level.
//!
//! The default: a variant (or an ISO code inside an agrupación) is offered exactly for 30 s,
//! then to intelligible variants for 60 s, then to its whole agrupación until the give-up
//! time; a request made at the level of an agrupación reaches the whole agrupación at once
//! (the operator does not know the variant). After the last tier with a duration the request
//! is `unfilled` and coordinators are told.
//!
//! Coordinators configure this in the `[routing]` section of the roster file or through
//! `PUT /api/v1/routing`. This module is pure; [`crate::logic::matcher`] applies it.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::domain::language::{Catalogue, LanguageTag, Level};

/// How far a tier reaches; each reach includes the narrower ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    Exact,
    Intelligible,
    Agrupacion,
}

/// One step of the widening search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub reach: Reach,
    /// How long this tier lasts; none on the last tier means until the give-up time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secs: Option<u32>,
}

/// The routing configuration: tiers by default and per language, and intelligibility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    /// Tiers for a variant or an ISO code that belongs to an agrupación.
    #[serde(default = "default_tiers")]
    pub tiers: Vec<Tier>,
    /// Tiers for particular languages (a variant, an agrupación, any tag).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub languages: BTreeMap<LanguageTag, Vec<Tier>>,
    /// For a tag, the tags whose interpreters its callers understand (one direction).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub intelligible: BTreeMap<LanguageTag, Vec<LanguageTag>>,
}

fn default_tiers() -> Vec<Tier> {
    vec![
        Tier {
            reach: Reach::Exact,
            secs: Some(30),
        },
        Tier {
            reach: Reach::Intelligible,
            secs: Some(60),
        },
        Tier {
            reach: Reach::Agrupacion,
            secs: None,
        },
    ]
}

/// A request made at the level of an agrupación, or of a language outside INALI's
/// catalogue: there is nothing narrower to try first.
const WHOLE_AT_ONCE: &[Tier] = &[Tier {
    reach: Reach::Agrupacion,
    secs: None,
}];

impl Default for Routing {
    fn default() -> Routing {
        Routing {
            tiers: default_tiers(),
            languages: BTreeMap::new(),
            intelligible: BTreeMap::new(),
        }
    }
}

/// Where a request stands in its widening search at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    /// 0-based index of the current tier.
    pub tier: usize,
    pub reach: Reach,
    /// When the next tier starts (none in the last tier).
    pub widens_at: Option<Timestamp>,
    /// When the request is given up if nobody has accepted.
    pub gives_up_at: Timestamp,
}

impl Routing {
    /// The tiers of a request for `language` (in agrupación `group`).
    pub fn tiers_for(&self, language: &LanguageTag, group: Option<&LanguageTag>) -> &[Tier] {
        if let Some(t) = self.languages.get(language) {
            return t;
        }
        match group {
            Some(g) if g != language => &self.tiers,
            _ => WHOLE_AT_ONCE,
        }
    }

    /// The tier a request created at `created` is in at `now`. The last tier lasts until
    /// `give_up_after` from creation, unless it has a duration of its own.
    pub fn stage(
        &self,
        language: &LanguageTag,
        group: Option<&LanguageTag>,
        created: Timestamp,
        now: Timestamp,
        give_up_after: SignedDuration,
    ) -> Stage {
        let tiers = self.tiers_for(language, group);
        let mut start = created;
        for (i, t) in tiers.iter().enumerate() {
            let last = i + 1 == tiers.len();
            let end = match t.secs {
                Some(s) => start + SignedDuration::from_secs(i64::from(s)),
                None => created + give_up_after,
            };
            if now < end || last {
                return Stage {
                    tier: i,
                    reach: t.reach,
                    widens_at: (!last).then_some(end),
                    gives_up_at: if last {
                        end
                    } else {
                        self.gives_up(tiers, created, give_up_after)
                    },
                };
            }
            start = end;
        }
        // No tiers at all (refused by `check`): reach everyone at once.
        Stage {
            tier: 0,
            reach: Reach::Agrupacion,
            widens_at: None,
            gives_up_at: created + give_up_after,
        }
    }

    fn gives_up(
        &self,
        tiers: &[Tier],
        created: Timestamp,
        give_up_after: SignedDuration,
    ) -> Timestamp {
        match tiers.last().and_then(|t| t.secs) {
            Some(_) => {
                let total: i64 = tiers.iter().filter_map(|t| t.secs).map(i64::from).sum();
                created + SignedDuration::from_secs(total)
            }
            None => created + give_up_after,
        }
    }

    /// The tags listed as intelligible for `language`.
    pub fn intelligible_for(&self, language: &LanguageTag) -> &[LanguageTag] {
        self.intelligible.get(language).map_or(&[], Vec::as_slice)
    }

    /// Refuse a configuration that cannot be meant: no tiers, a tier of no time, reaches
    /// that narrow, a duration-less tier before the last, unknown tags.
    pub fn check(&self, catalogue: &Catalogue) -> Result<(), String> {
        let known = |t: &LanguageTag, what: &str| -> Result<(), String> {
            match catalogue.get(t) {
                Some(_) => Ok(()),
                None => Err(format!("{what}: `{t}` is not in the catalogue")),
            }
        };
        let tiers = std::iter::once(("tiers".to_string(), &self.tiers)).chain(
            self.languages
                .iter()
                .map(|(tag, t)| (format!("languages.{tag}"), t)),
        );
        for (name, list) in tiers {
            if list.is_empty() {
                return Err(format!("{name}: give at least one tier"));
            }
            for (i, t) in list.iter().enumerate() {
                if t.secs == Some(0) {
                    return Err(format!("{name}[{i}]: a tier must last at least 1 second"));
                }
                if t.secs.is_none() && i + 1 != list.len() {
                    return Err(format!(
                        "{name}[{i}]: only the last tier may have no `secs`"
                    ));
                }
                if i > 0 && t.reach < list[i - 1].reach {
                    return Err(format!(
                        "{name}[{i}]: tiers widen, they do not narrow (`{:?}` after `{:?}`)",
                        t.reach,
                        list[i - 1].reach
                    ));
                }
            }
        }
        for tag in self.languages.keys() {
            known(tag, "languages")?;
        }
        for (tag, others) in &self.intelligible {
            known(tag, "intelligible")?;
            for o in others {
                known(o, &format!("intelligible.{tag}"))?;
                if o == tag {
                    return Err(format!(
                        "intelligible.{tag}: a language is not listed as intelligible with itself"
                    ));
                }
            }
            if catalogue
                .get(tag)
                .is_some_and(|l| l.level == Level::Agrupacion)
            {
                return Err(format!(
                    "intelligible.{tag}: list variants, not a whole agrupación"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{t, tag};

    #[test]
    fn a_variant_widens_exact_then_intelligible_then_agrupacion() {
        let r = Routing::default();
        let (v, g) = (tag("zap-x-planicie-costera"), tag("zap"));
        let fifteen = SignedDuration::from_mins(15);
        let at = |s| r.stage(&v, Some(&g), t(0), t(s), fifteen);
        assert_eq!((at(0).tier, at(0).reach), (0, Reach::Exact));
        assert_eq!(at(0).widens_at, Some(t(30)));
        assert_eq!(at(29).reach, Reach::Exact);
        assert_eq!((at(30).tier, at(30).reach), (1, Reach::Intelligible));
        assert_eq!(at(30).widens_at, Some(t(90)));
        assert_eq!((at(90).tier, at(90).reach), (2, Reach::Agrupacion));
        assert_eq!(at(90).widens_at, None);
        assert_eq!(at(0).gives_up_at, t(900));
        assert_eq!(at(5000).gives_up_at, t(900));
    }

    #[test]
    fn an_agrupacion_or_a_language_from_abroad_reaches_everyone_at_once() {
        let r = Routing::default();
        let fifteen = SignedDuration::from_mins(15);
        let zap = tag("zap");
        let s = r.stage(&zap, Some(&zap), t(0), t(0), fifteen);
        assert_eq!((s.tier, s.reach, s.widens_at), (0, Reach::Agrupacion, None));
        let eng = tag("eng");
        assert_eq!(
            r.stage(&eng, None, t(0), t(0), fifteen).reach,
            Reach::Agrupacion
        );
    }

    #[test]
    fn a_last_tier_with_a_duration_gives_up_at_its_end() {
        let mut r = Routing::default();
        let v = tag("tzo-x-centro");
        r.languages.insert(
            v.clone(),
            vec![
                Tier {
                    reach: Reach::Exact,
                    secs: Some(10),
                },
                Tier {
                    reach: Reach::Agrupacion,
                    secs: Some(20),
                },
            ],
        );
        let s = r.stage(
            &v,
            Some(&tag("tzo")),
            t(0),
            t(5),
            SignedDuration::from_mins(15),
        );
        assert_eq!(s.gives_up_at, t(30));
        assert_eq!(s.widens_at, Some(t(10)));
    }

    #[test]
    fn nonsense_configurations_are_refused_with_a_reason() {
        let cat = Catalogue::embedded();
        assert_eq!(Routing::default().check(&cat), Ok(()));
        let bad = |f: &dyn Fn(&mut Routing)| {
            let mut r = Routing::default();
            f(&mut r);
            r.check(&cat).unwrap_err()
        };
        assert!(bad(&|r| r.tiers.clear()).contains("at least one tier"));
        assert!(bad(&|r| r.tiers[0].secs = Some(0)).contains("at least 1 second"));
        assert!(bad(&|r| r.tiers[0].secs = None).contains("only the last"));
        assert!(bad(&|r| r.tiers.swap(0, 1)).contains("widen"));
        assert!(bad(&|r| {
            r.intelligible
                .insert(tag("zap-x-planicie-costera"), vec![tag("zzz-x-nowhere")]);
        })
        .contains("not in the catalogue"));
        assert!(bad(&|r| {
            r.intelligible
                .insert(tag("zap"), vec![tag("zap-x-planicie-costera")]);
        })
        .contains("variants"));
    }

    #[test]
    fn the_configuration_reads_from_toml_and_json_alike() {
        let text = r#"
            tiers = [{ reach = "exact", secs = 20 }, { reach = "agrupacion" }]
            [intelligible]
            "zap-x-planicie-costera" = ["zap-x-montana-istmo-alto"]
        "#;
        let r: Routing = toml::from_str(text).unwrap();
        assert_eq!(r.tiers.len(), 2);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Routing>(&json).unwrap(), r);
    }
}
