//! Human text: Fluent bundles for every locale under `locales/` (es-MX first, English second),
//! negotiated against a user's preferred languages (`Accept-Language`).
//!
//! The `.ftl` files are embedded at compile time; a unit test checks that every message
//! exists in every locale with the same variables. This module does no I/O.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use fluent_langneg::{negotiate_languages, NegotiationStrategy};
use unic_langid::LanguageIdentifier;

/// The locales puente ships, default first, each with its files (API, then consoles).
const SOURCES: &[(&str, &[&str])] = &[
    (
        "es-MX",
        &[
            include_str!("../../locales/es-MX/puente.ftl"),
            include_str!("../../locales/es-MX/console.ftl"),
        ],
    ),
    (
        "en",
        &[
            include_str!("../../locales/en/puente.ftl"),
            include_str!("../../locales/en/console.ftl"),
        ],
    ),
];

/// A negotiated locale: an index into [`Prompts`]' bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Locale(usize);

impl Locale {
    /// The BCP 47 tag of the locale, e.g. `es-MX`.
    pub fn tag(self) -> &'static str {
        SOURCES[self.0].0
    }

    /// The locale as Asterisk names sound languages, e.g. `es_MX`.
    pub fn sound_language(self) -> String {
        self.tag().replace('-', "_")
    }
}

pub struct Prompts {
    bundles: Vec<FluentBundle<FluentResource>>,
    available: Vec<LanguageIdentifier>,
    /// Every message id, in file order (the same in every locale: see the tests).
    ids: Vec<String>,
}

impl std::fmt::Debug for Prompts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prompts")
            .field("available", &self.available)
            .finish()
    }
}

impl Prompts {
    pub fn embedded() -> Prompts {
        let mut bundles = Vec::new();
        let mut available = Vec::new();
        let mut ids = Vec::new();
        for (n, (tag, files)) in SOURCES.iter().enumerate() {
            let id: LanguageIdentifier = tag.parse().expect("locale tags are valid");
            let mut bundle = FluentBundle::new_concurrent(vec![id.clone()]);
            // Unicode isolation marks would end up inside JSON strings and terminal logs.
            bundle.set_use_isolating(false);
            for text in *files {
                // The embedded files are checked by the tests below; a syntax error is a bug.
                let res = FluentResource::try_new(text.to_string()).expect("valid FTL");
                if n == 0 {
                    ids.extend(res.entries().filter_map(|e| match e {
                        fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
                        _ => None,
                    }));
                }
                bundle.add_resource(res).expect("no duplicate message ids");
            }
            bundles.push(bundle);
            available.push(id);
        }
        Prompts {
            bundles,
            available,
            ids,
        }
    }

    /// Every locale, the default (es-MX) first.
    pub fn locales(&self) -> impl Iterator<Item = Locale> {
        (0..self.bundles.len()).map(Locale)
    }

    /// Pick the best locale for an `Accept-Language` header value (es-MX when nothing fits).
    pub fn negotiate(&self, accept_language: Option<&str>) -> Locale {
        let requested = accept_language
            .map(fluent_langneg::accepted_languages::parse)
            .unwrap_or_default();
        let chosen = negotiate_languages(
            &requested,
            &self.available,
            Some(&self.available[0]),
            NegotiationStrategy::Lookup,
        );
        let first = chosen.first().copied();
        Locale(
            first
                .and_then(|c| self.available.iter().position(|a| a == c))
                .unwrap_or(0),
        )
    }

    /// Every message whose id starts with `prefix`, rendered with `args`: what a page's
    /// script needs, as `(id, text)` pairs.
    pub fn render_all(
        &self,
        locale: Locale,
        prefix: &str,
        args: &[(&str, FluentValue<'_>)],
    ) -> Vec<(&str, String)> {
        self.ids
            .iter()
            .filter(|id| id.starts_with(prefix))
            .map(|id| (id.as_str(), self.render(locale, id, args)))
            .collect()
    }

    /// Render a message. A missing message renders as its id, so a gap shows rather than
    /// failing a request; the test suite makes sure there are none.
    pub fn render(&self, locale: Locale, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let bundle = &self.bundles[locale.0];
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            tracing::error!(
                message_id = id,
                locale = locale.tag(),
                "missing Fluent message"
            );
            return id.to_string();
        };
        let mut fargs = FluentArgs::new();
        for (k, v) in args {
            fargs.set(*k, v.clone());
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&fargs), &mut errors);
        if !errors.is_empty() {
            tracing::error!(message_id = id, ?errors, "Fluent formatting errors");
        }
        text.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use fluent_syntax::ast;

    use super::*;

    fn vars_in_pattern(p: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
        for el in &p.elements {
            if let ast::PatternElement::Placeable { expression } = el {
                vars_in_expr(expression, out);
            }
        }
    }

    fn vars_in_expr(e: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
        match e {
            ast::Expression::Select { selector, variants } => {
                vars_in_inline(selector, out);
                for v in variants {
                    vars_in_pattern(&v.value, out);
                }
            }
            ast::Expression::Inline(i) => vars_in_inline(i, out),
        }
    }

    fn vars_in_inline(i: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
        match i {
            ast::InlineExpression::VariableReference { id } => {
                out.insert(id.name.to_string());
            }
            ast::InlineExpression::Placeable { expression } => vars_in_expr(expression, out),
            _ => {}
        }
    }

    fn messages(text: &str) -> BTreeMap<String, BTreeSet<String>> {
        let res = fluent_syntax::parser::parse(text).expect("FTL parses without errors");
        let mut out = BTreeMap::new();
        for entry in res.body {
            if let ast::Entry::Message(m) = entry {
                let mut vars = BTreeSet::new();
                if let Some(v) = &m.value {
                    vars_in_pattern(v, &mut vars);
                }
                out.insert(m.id.name.to_string(), vars);
            }
        }
        out
    }

    #[test]
    fn every_message_exists_in_every_locale_with_the_same_variables() {
        let reference = messages(&SOURCES[0].1.concat());
        assert!(reference.len() > 10);
        for (tag, files) in &SOURCES[1..] {
            assert_eq!(
                messages(&files.concat()),
                reference,
                "locale {tag} differs from es-MX"
            );
        }
    }

    #[test]
    fn every_message_the_code_uses_exists() {
        let reference = messages(&SOURCES[0].1.concat());
        let code = [
            include_str!("prompts.rs"),
            include_str!("../app/service/mod.rs"),
            include_str!("../app/service/access.rs"),
            include_str!("../app/service/calls.rs"),
            include_str!("../app/service/chat.rs"),
            include_str!("../app/service/coverage.rs"),
            include_str!("../app/service/requests.rs"),
            include_str!("../app/service/roster.rs"),
            include_str!("../http/error.rs"),
            include_str!("../http/views.rs"),
        ]
        .concat();
        for id in code.split('"').filter(|s| {
            ["status-", "error-", "chat-"]
                .iter()
                .any(|p| s.starts_with(p))
                || *s == "offer-text"
        }) {
            if id.ends_with('-') {
                continue;
            }
            assert!(
                reference.contains_key(id),
                "message `{id}` is used but not defined"
            );
        }
    }

    #[test]
    fn negotiation_prefers_spanish_and_honours_english() {
        let p = Prompts::embedded();
        assert_eq!(p.negotiate(None).tag(), "es-MX");
        assert_eq!(p.negotiate(Some("es")).tag(), "es-MX");
        assert_eq!(p.negotiate(Some("en-US,en;q=0.9")).tag(), "en");
        assert_eq!(p.negotiate(Some("fr")).tag(), "es-MX");
        assert_eq!(p.negotiate(Some("garbage;;;")).tag(), "es-MX");
    }

    #[test]
    fn the_offer_text_reads_naturally() {
        let p = Prompts::embedded();
        let es = p.negotiate(Some("es-MX"));
        let args = [
            ("language", FluentValue::from("tsotsil")),
            ("priority", FluentValue::from("urgent")),
        ];
        assert_eq!(
            p.render(es, "offer-text", &args),
            "Llamada en tsotsil, urgente. ¿Aceptas?"
        );
        let en = p.negotiate(Some("en"));
        assert_eq!(
            p.render(en, "offer-text", &args),
            "Urgent call in tsotsil. Will you take it?"
        );
    }
}
