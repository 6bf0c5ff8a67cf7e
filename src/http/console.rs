//! The consoles: one page per role (operator, interpreter, coordinator) and the sign-in page,
//! served by puente itself. No front-end build: HTML templates, one stylesheet and the
//! script's ES modules, embedded at compile time, with every word from the Fluent files.
//!
//! A page is only a shell: the script signs in with the token kept in the tab's
//! `sessionStorage` (never in a URL or a cookie), calls the JSON API with it and follows
//! `/api/v1/events` through `fetch` (an `EventSource` cannot send `Authorization`).
//!
//! Locale: `?lang=` (remembered in a `puente_lang` cookie, which is only a preference), else
//! that cookie, else es-MX: the hotline works in Spanish whatever the browser's settings.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use fluent_bundle::FluentValue;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::app::service::Service;
use crate::logic::prompts::Locale;

const LAYOUT: &str = include_str!("console/layout.html");
const CSS: &str = include_str!("console/console.css");
/// The script, as ES modules (`<script type="module">`, no build step): the entry point,
/// the DOM helpers, the API client, the event stream, chat, and one module per page.
const SCRIPTS: &[(&str, &str)] = &[
    ("main", include_str!("console/js/main.js")),
    ("dom", include_str!("console/js/dom.js")),
    ("api", include_str!("console/js/api.js")),
    ("events", include_str!("console/js/events.js")),
    ("chat", include_str!("console/js/chat.js")),
    ("signin", include_str!("console/js/signin.js")),
    ("operator", include_str!("console/js/operator.js")),
    ("interpreter", include_str!("console/js/interpreter.js")),
    ("coordinator", include_str!("console/js/coordinator.js")),
];

/// The pages: path, page name (for the script), title message, template.
const PAGES: &[(&str, &str, &str, &str)] = &[
    (
        "/",
        "signin",
        "console-signin-title",
        include_str!("console/signin.html"),
    ),
    (
        "/operator",
        "operator",
        "console-operator-title",
        include_str!("console/operator.html"),
    ),
    (
        "/interpreter",
        "interpreter",
        "console-interpreter-title",
        include_str!("console/interpreter.html"),
    ),
    (
        "/coordinator",
        "coordinator",
        "console-coordinator-title",
        include_str!("console/coordinator.html"),
    ),
];

const LANG_COOKIE: &str = "puente_lang";

/// Only what the page itself serves; the API is reached with `fetch` on the same origin.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

pub fn router() -> Router<Arc<Service>> {
    let mut router = Router::new().route("/console/console.css", get(|| asset(CSS, "text/css")));
    for &(name, body) in SCRIPTS {
        router = router.route(
            &format!("/console/js/{name}.js"),
            get(move || asset(body, "text/javascript")),
        );
    }
    for &(path, name, title, body) in PAGES {
        router = router.route(
            path,
            get(
                move |State(svc): State<Arc<Service>>,
                      query: Result<Query<PageQuery>, _>,
                      jar: CookieJar| async move {
                    // A malformed query is no reason to refuse the page: it is ignored.
                    let asked = query.ok().and_then(|Query(q)| q.lang);
                    page(&svc, asked, jar, name, title, body)
                },
            ),
        );
    }
    let header =
        |name, value| SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value));
    router
        .layer(header(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
}

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                format!("{content_type}; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, "no-cache".to_string()),
        ],
        body,
    )
        .into_response()
}

/// A page's query: `?lang=en` asks for a locale.
#[derive(serde::Deserialize)]
struct PageQuery {
    lang: Option<String>,
}

fn page(
    svc: &Service,
    asked: Option<String>,
    jar: CookieJar,
    name: &str,
    title: &str,
    body: &str,
) -> Response {
    let remembered = jar.get(LANG_COOKIE).map(|c| c.value().to_string());
    let locale = svc
        .prompts
        .negotiate(asked.as_deref().or(remembered.as_deref()));
    let html = render(svc, locale, name, title, body);
    let jar = match asked {
        Some(_) => jar.add(
            Cookie::build((LANG_COOKIE, locale.tag().to_string()))
                .path("/")
                .max_age(cookie_year())
                .same_site(SameSite::Lax),
        ),
        None => jar,
    };
    (
        jar,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// The locale cookie lasts a year: it is a preference, not a session.
fn cookie_year() -> cookie::time::Duration {
    cookie::time::Duration::days(365)
}

/// The page's HTML in `locale`.
fn render(svc: &Service, locale: Locale, name: &str, title: &str, body: &str) -> String {
    let t = |id: &str| escape(&svc.prompts.render(locale, id, &[]));
    let main = fill(body, |key| key.strip_prefix("t:").map(t));
    let other = if locale.tag() == "en" { "es-MX" } else { "en" };
    fill(LAYOUT, |key| {
        Some(match key {
            "lang" => locale.tag().to_string(),
            "other_lang" => other.to_string(),
            "page" => name.to_string(),
            "title" => t(title),
            "main" => main.clone(),
            "messages" => script_messages(svc, locale),
            _ => t(key.strip_prefix("t:")?),
        })
    })
}

/// The `console-js-*` messages as a JSON object, safe inside a `<script>` element. Variables
/// come out as `{name}` for the script to fill in.
fn script_messages(svc: &Service, locale: Locale) -> String {
    let placeholders: Vec<(&str, FluentValue<'_>)> = [
        "language", "tag", "seconds", "time", "name", "n", "total", "from", "to", "phone",
        "waiting", "arrivals", "served",
    ]
    .into_iter()
    .map(|v| (v, FluentValue::from(format!("{{{v}}}"))))
    .collect();
    let map: serde_json::Map<String, serde_json::Value> = svc
        .prompts
        .render_all(locale, "console-js-", &placeholders)
        .into_iter()
        .map(|(id, text)| (id.to_string(), serde_json::Value::String(text)))
        .collect();
    serde_json::Value::Object(map)
        .to_string()
        .replace('<', "\\u003c")
}

/// Replace every `{{key}}` in `template` by `value(key)`; unknown keys stay as they are.
fn fill(template: &str, mut value: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let key = &after[..end];
                match value(key) {
                    Some(v) => out.push_str(&v),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::store::memory::MemoryStore;
    use crate::setup::config::Config;

    fn service() -> Service {
        let config = Config::from_vars(Vec::<(String, String)>::new()).unwrap();
        Service::new(crate::setup::startup::parts(
            &config,
            Arc::new(MemoryStore::new()),
            crate::app::service::Clock::new(),
        ))
    }

    #[test]
    fn every_page_renders_every_placeholder_in_both_locales() {
        let svc = service();
        for tag in ["es-MX", "en"] {
            let locale = svc.prompts.negotiate(Some(tag));
            for &(_, name, title, body) in PAGES {
                let html = render(&svc, locale, name, title, body);
                assert!(!html.contains("{{"), "{name} ({tag}) left a placeholder");
                assert!(
                    !html.contains(">console-"),
                    "{name} ({tag}) misses a message"
                );
                assert!(html.contains(&format!("lang=\"{tag}\"")));
            }
        }
    }

    #[test]
    fn every_message_the_script_uses_exists() {
        let svc = service();
        let messages = script_messages(&svc, Locale::default());
        let used: Vec<&str> = SCRIPTS
            .iter()
            .flat_map(|(_, js)| js.split(['\'', '"', '`']))
            .filter(|s| s.starts_with("console-js-") && !s.ends_with('-'))
            .collect();
        assert!(used.len() > 20, "the script uses its messages: {used:?}");
        assert!(
            !messages.contains("{$"),
            "a variable the page cannot fill: {messages}"
        );
        for id in used {
            assert!(
                messages.contains(&format!("\"{id}\"")),
                "`{id}` is not defined"
            );
        }
    }

    #[test]
    fn text_is_escaped_and_script_json_cannot_close_its_element() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let svc = service();
        assert!(!script_messages(&svc, Locale::default()).contains('<'));
        assert_eq!(
            fill("a {{x}} {{y}} {{", |k| (k == "x").then(|| "1".into())),
            "a 1 {{y}} {{"
        );
    }
}
