//! Configuration: one typed tree, read from the environment once at start and validated
//! there. Nothing else in puente reads `std::env`. A bad value fails start-up with a message
//! naming the variable and the fix; secrets are wrapped so they never print.

use std::net::SocketAddr;
use std::path::PathBuf;

use jiff::SignedDuration;

use crate::adapters::bridge::ari::AriConfig;
use crate::adapters::store::Rules;
use crate::logic::matcher::{OfferMode, Policy};
use secrecy::{ExposeSecret, SecretString};

/// Where the roster comes from at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RosterSource {
    /// `PUENTE_ROSTER` unset: nothing is loaded (`--demo` loads `./interpreters.toml`).
    Unset,
    /// A file named by `PUENTE_ROSTER` (or `--demo`): must load.
    File(PathBuf),
    /// `PUENTE_ROSTER=none`.
    Empty,
}

/// The demo roster `puente serve --demo` loads when `PUENTE_ROSTER` names none.
pub const DEMO_ROSTER: &str = "./interpreters.toml";

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub redis_url: Option<SecretString>,
    /// Prefix of every Redis key (inside a cluster hash tag); instances that share a
    /// roster share a namespace.
    pub redis_namespace: String,
    pub roster: RosterSource,
    pub operator_tokens: Vec<SecretString>,
    pub coordinator_tokens: Vec<SecretString>,
    pub policy: Policy,
    pub rules: Rules,
    /// The hotline's time zone (IANA), for the coverage grid.
    pub time_zone: jiff::tz::TimeZone,
    /// How far ahead a coverage gap of a language in demand is announced.
    pub gap_alert_hours: u32,
    /// Where coverage alerts are also POSTed (JSON), if anywhere: an `http://` URL.
    pub alert_webhook: Option<reqwest::Url>,
    /// WhatsApp Cloud API, when both the verify token and the app secret are set.
    pub whatsapp: Option<crate::adapters::whatsapp::WhatsAppConfig>,
    /// Asterisk ARI, when `PUENTE_ARI_URL` is set: calls are bridged by the PBX.
    pub ari: Option<AriConfig>,
    /// How long one Redis command may take before the store counts as unavailable.
    pub store_timeout: std::time::Duration,
    /// How long an instance's hold on its callers' calls lasts without renewal: after a
    /// crash, its calls are settled within this.
    pub call_lease: std::time::Duration,
    /// How long finished requests stay in the store (`PUENTE_REQUEST_RETENTION_DAYS`).
    pub retention: SignedDuration,
    /// Limits that keep one client from holding the HTTP server.
    pub http: crate::http::Limits,
    /// Limits on what one token or address may hold of the service.
    pub access: crate::app::service::AccessLimits,
}

#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            redis_url: None,
            redis_namespace: "puente".into(),
            roster: RosterSource::Unset,
            operator_tokens: Vec::new(),
            coordinator_tokens: Vec::new(),
            policy: Policy::default(),
            rules: Rules::default(),
            time_zone: jiff::tz::TimeZone::get(crate::domain::schedule::DEFAULT_TIME_ZONE)
                .unwrap_or(jiff::tz::TimeZone::UTC),
            gap_alert_hours: 12,
            alert_webhook: None,
            whatsapp: None,
            ari: None,
            store_timeout: std::time::Duration::from_secs(2),
            call_lease: std::time::Duration::from_secs(15),
            retention: SignedDuration::from_hours(90 * 24),
            http: crate::http::Limits::default(),
            access: crate::app::service::AccessLimits::default(),
        }
    }
}

fn secs(var: &'static str, value: &str, min: u64, max: u64) -> Result<SignedDuration, ConfigError> {
    match value.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(SignedDuration::from_secs(n as i64)),
        _ => Err(ConfigError {
            var,
            message: format!(
                "`{value}` is not a whole number of seconds from {min} to {max}; set it to, for example, `30`"
            ),
        }),
    }
}

fn count(
    var: &'static str,
    value: &str,
    min: usize,
    max: usize,
    default: usize,
) -> Result<usize, ConfigError> {
    match value.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError {
            var,
            message: format!(
                "`{value}` is not a whole number from {min} to {max}; the default is {default}"
            ),
        }),
    }
}

fn tokens(var: &'static str, value: &str) -> Result<Vec<SecretString>, ConfigError> {
    let list: Vec<SecretString> = value
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(SecretString::from)
        .collect();
    if list.iter().any(|t| t.expose_secret().len() < 8) {
        return Err(ConfigError {
            var,
            message: "every token must be at least 8 characters long; use long random strings"
                .into(),
        });
    }
    Ok(list)
}

impl Config {
    /// `puente serve --demo`: the demo roster (unless `PUENTE_ROSTER` names another), and
    /// only in memory, so that the demo's published tokens never reach a shared store.
    pub fn demo(mut self) -> Result<Config, ConfigError> {
        if self.redis_url.is_some() {
            return Err(ConfigError {
                var: "PUENTE_REDIS_URL",
                message: "`--demo` runs only with the in-memory store: its interpreters' tokens are printed in the README. Unset PUENTE_REDIS_URL, or start without `--demo` and a roster of your own in PUENTE_ROSTER".into(),
            });
        }
        if self.roster == RosterSource::Unset {
            self.roster = RosterSource::File(PathBuf::from(DEMO_ROSTER));
        }
        Ok(self)
    }

    /// Read the configuration from environment variables (passed in, so tests need not
    /// touch the process environment).
    ///
    /// One piece on purpose: one match arm per variable, a table read top to bottom
    /// beside the README's; splitting it would scatter the table, not simplify it.
    pub fn from_vars<I, K, V>(vars: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut c = Config::default();
        let mut retry_after = None;
        let mut wa = WhatsAppVars::default();
        let mut ari = AriVars::default();
        for (k, v) in vars {
            let v = v.as_ref();
            match k.as_ref() {
                "PUENTE_LISTEN" => {
                    c.listen = v.trim().parse().map_err(|_| ConfigError {
                        var: "PUENTE_LISTEN",
                        message: format!("`{v}` is not an address to listen on; use host:port, for example `127.0.0.1:8080`"),
                    })?
                }
                "PUENTE_REDIS_URL" if !v.trim().is_empty() => {
                    // Several comma-separated nodes mean a Redis Cluster.
                    // The redis crate is built without TLS (no second TLS stack in the
                    // binary): a rediss:// URL would fail at the first connection instead.
                    if v.split(',').any(|u| u.trim().starts_with("rediss://")) {
                        return Err(ConfigError {
                            var: "PUENTE_REDIS_URL",
                            message: "puente does not speak TLS to Redis (rediss://): reach Redis over a private network, or through a local TLS tunnel (for example stunnel), with a redis:// URL".into(),
                        });
                    }
                    let bad = v
                        .split(',')
                        .map(str::trim)
                        .any(|u| !u.starts_with("redis://"));
                    if bad {
                        return Err(ConfigError {
                            var: "PUENTE_REDIS_URL",
                            message: "must be redis:// URLs (several, comma-separated, for a cluster), for example `redis://127.0.0.1:6379/0`".into(),
                        });
                    }
                    c.redis_url = Some(SecretString::from(v.trim()));
                }
                "PUENTE_REDIS_NAMESPACE" => {
                    let ns = v.trim();
                    let ok = !ns.is_empty()
                        && ns.len() <= 64
                        && ns.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
                    if !ok {
                        return Err(ConfigError {
                            var: "PUENTE_REDIS_NAMESPACE",
                            message: format!("`{v}` is not a namespace; use 1 to 64 letters, digits, `-` or `_` (default `puente`)"),
                        });
                    }
                    c.redis_namespace = ns.to_string();
                }
                "PUENTE_ROSTER" => {
                    c.roster = match v.trim() {
                        "none" => RosterSource::Empty,
                        "" => c.roster,
                        path => RosterSource::File(PathBuf::from(path)),
                    }
                }
                "PUENTE_REDIS_TIMEOUT_MS" => {
                    c.store_timeout = match v.trim().parse::<u64>() {
                        Ok(n) if (50..=60_000).contains(&n) => std::time::Duration::from_millis(n),
                        _ => {
                            return Err(ConfigError {
                                var: "PUENTE_REDIS_TIMEOUT_MS",
                                message: format!("`{v}` is not a number of milliseconds from 50 to 60000; the default is 2000"),
                            })
                        }
                    }
                }
                "PUENTE_CALL_LEASE_SECS" => {
                    c.call_lease = secs("PUENTE_CALL_LEASE_SECS", v, 2, 600)?.unsigned_abs()
                }
                "PUENTE_MAX_CONNECTIONS" => {
                    c.http.max_connections = count("PUENTE_MAX_CONNECTIONS", v, 16, 1_000_000, 10_000)?
                }
                "PUENTE_STREAMS_PER_TOKEN" => {
                    c.access.streams_per_token = count("PUENTE_STREAMS_PER_TOKEN", v, 1, 10_000, 20)?
                }
                "PUENTE_AUTH_FAILURES_PER_MINUTE" => {
                    c.access.auth_failures_per_minute =
                        count("PUENTE_AUTH_FAILURES_PER_MINUTE", v, 1, 1_000_000, 20)? as u32
                }
                "PUENTE_HEADER_TIMEOUT_SECS" => {
                    c.http.header_read_timeout =
                        secs("PUENTE_HEADER_TIMEOUT_SECS", v, 1, 300)?.unsigned_abs()
                }
                "PUENTE_REQUEST_TIMEOUT_SECS" => {
                    c.http.request_timeout =
                        secs("PUENTE_REQUEST_TIMEOUT_SECS", v, 1, 600)?.unsigned_abs()
                }
                "PUENTE_OPERATOR_TOKENS" => c.operator_tokens = tokens("PUENTE_OPERATOR_TOKENS", v)?,
                "PUENTE_COORDINATOR_TOKENS" => {
                    c.coordinator_tokens = tokens("PUENTE_COORDINATOR_TOKENS", v)?
                }
                "PUENTE_OFFER_TIMEOUT_SECS" => {
                    c.policy.offer_timeout = secs("PUENTE_OFFER_TIMEOUT_SECS", v, 1, 3600)?
                }
                "PUENTE_RETRY_AFTER_SECS" => {
                    retry_after = Some(secs("PUENTE_RETRY_AFTER_SECS", v, 0, 3600)?)
                }
                "PUENTE_UNFILLED_AFTER_SECS" => {
                    c.policy.give_up_after = secs("PUENTE_UNFILLED_AFTER_SECS", v, 1, 7 * 24 * 3600)?
                }
                "PUENTE_TIME_ZONE" => {
                    let tz = v.trim();
                    c.time_zone = jiff::tz::TimeZone::get(tz).map_err(|_| ConfigError {
                        var: "PUENTE_TIME_ZONE",
                        message: format!("`{tz}` is not an IANA time zone (e.g. America/Mexico_City)"),
                    })?;
                }
                "PUENTE_REQUEST_RETENTION_DAYS" => {
                    let days = count("PUENTE_REQUEST_RETENTION_DAYS", v, 1, 3650, 90)?;
                    c.retention = SignedDuration::from_hours(days as i64 * 24);
                }
                "PUENTE_GAP_ALERT_HOURS" => {
                    c.gap_alert_hours = match v.trim().parse::<u32>() {
                        Ok(n) if (1..=168).contains(&n) => n,
                        _ => {
                            return Err(ConfigError {
                                var: "PUENTE_GAP_ALERT_HOURS",
                                message: format!("`{v}` is not a number of hours from 1 to 168"),
                            })
                        }
                    }
                }
                "PUENTE_ALERT_WEBHOOK_URL" => {
                    let url = v.trim();
                    c.alert_webhook = match reqwest::Url::parse(url) {
                        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
                        _ => {
                            return Err(ConfigError {
                                var: "PUENTE_ALERT_WEBHOOK_URL",
                                message: format!("`{url}` is not an http:// or https:// URL"),
                            })
                        }
                    };
                }
                "PUENTE_WHATSAPP_VERIFY_TOKEN" => wa.verify_token = Some(SecretString::from(v.trim())),
                "PUENTE_WHATSAPP_APP_SECRET" => wa.app_secret = Some(SecretString::from(v.trim())),
                "PUENTE_WHATSAPP_ACCESS_TOKEN" => wa.access_token = Some(SecretString::from(v.trim())),
                "PUENTE_WHATSAPP_PHONE_NUMBER_ID" => wa.phone_number_id = Some(v.trim().to_string()),
                "PUENTE_WHATSAPP_API_BASE" => wa.api_base = Some(v.trim().trim_end_matches('/').to_string()),
                "PUENTE_ARI_URL" => ari.url = Some(v.trim().trim_end_matches('/').to_string()),
                "PUENTE_ARI_USER" => ari.user = Some(v.trim().to_string()),
                "PUENTE_ARI_PASSWORD" => ari.password = Some(SecretString::from(v)),
                "PUENTE_ARI_APP" => ari.app = Some(v.trim().to_string()),
                "PUENTE_ARI_ENDPOINT" => ari.endpoint = Some(v.trim().to_string()),
                "PUENTE_ARI_OPERATOR_ENDPOINT" => {
                    ari.operator_endpoint = Some(v.trim().to_string()).filter(|e| !e.is_empty())
                }
                "PUENTE_ARI_OFFER_MEDIA" => ari.offer_media = Some(v.trim().to_string()),
                "PUENTE_WRAPUP_SECS" => c.rules.wrap_up = secs("PUENTE_WRAPUP_SECS", v, 0, 3600)?,
                "PUENTE_MAX_MISSED_OFFERS" => {
                    c.rules.max_missed_offers = match v.trim().parse::<u32>() {
                        Ok(n) if n >= 1 => n,
                        _ => {
                            return Err(ConfigError {
                                var: "PUENTE_MAX_MISSED_OFFERS",
                                message: format!("`{v}` is not a whole number of at least 1; the default is 3"),
                            })
                        }
                    }
                }
                "PUENTE_OFFER_POLICY" => {
                    c.policy.mode = match v.trim() {
                        "sequential" => OfferMode::Sequential,
                        "parallel" => OfferMode::Parallel,
                        _ => {
                            return Err(ConfigError {
                                var: "PUENTE_OFFER_POLICY",
                                message: format!("`{v}` is not a policy; use `sequential` (the default) or `parallel`"),
                            })
                        }
                    }
                }
                _ => {}
            }
        }
        // By default an interpreter who let an offer lapse is asked again after as long as
        // an offer lasts, so a lone interpreter is not re-asked the instant they declined.
        c.policy.retry_after = retry_after.unwrap_or(c.policy.offer_timeout);
        c.whatsapp = wa.finish()?;
        c.ari = ari.finish()?;
        Ok(c)
    }
}

#[derive(Default)]
struct WhatsAppVars {
    verify_token: Option<SecretString>,
    app_secret: Option<SecretString>,
    access_token: Option<SecretString>,
    phone_number_id: Option<String>,
    api_base: Option<String>,
}

impl WhatsAppVars {
    /// WhatsApp is on when the verify token and the app secret are both set.
    fn finish(self) -> Result<Option<crate::adapters::whatsapp::WhatsAppConfig>, ConfigError> {
        let (verify_token, app_secret) = match (self.verify_token, self.app_secret) {
            (None, None) => return Ok(None),
            (Some(v), Some(a)) if !v.expose_secret().is_empty() && !a.expose_secret().is_empty() => (v, a),
            _ => {
                return Err(ConfigError {
                    var: "PUENTE_WHATSAPP_APP_SECRET",
                    message: "set both PUENTE_WHATSAPP_VERIFY_TOKEN and PUENTE_WHATSAPP_APP_SECRET (or neither)".into(),
                })
            }
        };
        Ok(Some(crate::adapters::whatsapp::WhatsAppConfig {
            verify_token,
            app_secret,
            access_token: self.access_token,
            phone_number_id: self.phone_number_id,
            api_base: self
                .api_base
                .unwrap_or_else(|| crate::adapters::whatsapp::DEFAULT_API_BASE.into()),
        }))
    }
}

#[derive(Default)]
struct AriVars {
    url: Option<String>,
    user: Option<String>,
    password: Option<SecretString>,
    app: Option<String>,
    endpoint: Option<String>,
    operator_endpoint: Option<String>,
    offer_media: Option<String>,
}

impl AriVars {
    /// ARI is on when `PUENTE_ARI_URL` is set; then the user, password and endpoint must be.
    fn finish(self) -> Result<Option<AriConfig>, ConfigError> {
        let url = match self.url {
            None => {
                let stray = self.user.is_some() || self.endpoint.is_some();
                if stray {
                    return Err(ConfigError {
                        var: "PUENTE_ARI_URL",
                        message: "other PUENTE_ARI_* variables are set but not PUENTE_ARI_URL, the base URL of Asterisk's HTTP server (for example `http://127.0.0.1:8088`)".into(),
                    });
                }
                return Ok(None);
            }
            Some(u) if u.starts_with("http://") && u.len() > "http://".len() => u,
            Some(u) => {
                return Err(ConfigError {
                    var: "PUENTE_ARI_URL",
                    message: format!("`{u}` must be an http:// URL of Asterisk's HTTP server, for example `http://127.0.0.1:8088` (run puente next to Asterisk or reach it over a private network)"),
                })
            }
        };
        let missing = |var: &'static str, what: &str| ConfigError {
            var,
            message: format!("PUENTE_ARI_URL is set, so {var} must be too: {what}"),
        };
        let user = self
            .user
            .filter(|u| !u.is_empty())
            .ok_or_else(|| missing("PUENTE_ARI_USER", "a user of Asterisk's ari.conf"))?;
        let password = self
            .password
            .filter(|p| !p.expose_secret().is_empty())
            .ok_or_else(|| missing("PUENTE_ARI_PASSWORD", "that user's password"))?;
        let endpoint = self.endpoint.filter(|e| !e.is_empty()).ok_or_else(|| {
            missing(
                "PUENTE_ARI_ENDPOINT",
                "how to dial an interpreter, for example `PJSIP/{phone}@trunk`",
            )
        })?;
        if !(endpoint.contains("{phone}") || endpoint.contains("{id}")) || !endpoint.contains('/') {
            return Err(ConfigError {
                var: "PUENTE_ARI_ENDPOINT",
                message: format!("`{endpoint}` must be a channel technology and a resource with `{{phone}}` or `{{id}}` in it, for example `PJSIP/{{phone}}@trunk` or `Local/{{id}}@interpreters`"),
            });
        }
        let app = self
            .app
            .unwrap_or_else(|| crate::adapters::bridge::ari::DEFAULT_APP.into());
        let app_ok = !app.is_empty()
            && app
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
        if !app_ok {
            return Err(ConfigError {
                var: "PUENTE_ARI_APP",
                message: format!("`{app}` is not a Stasis application name; use letters, digits, `-` or `_` (default `puente`)"),
            });
        }
        Ok(Some(AriConfig {
            url,
            user,
            password,
            app,
            endpoint,
            operator_endpoint: self.operator_endpoint,
            offer_media: self
                .offer_media
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| crate::adapters::bridge::ari::DEFAULT_OFFER_MEDIA.into()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_api_md() {
        let c = Config::from_vars(Vec::<(String, String)>::new()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.policy.offer_timeout, SignedDuration::from_secs(30));
        assert_eq!(c.policy.mode, OfferMode::Sequential);
        assert!(c.policy.give_up_after >= SignedDuration::from_secs(300));
        assert_eq!(c.rules.max_missed_offers, 3);
        assert!(c.redis_url.is_none());
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = Config::from_vars([("PUENTE_OFFER_TIMEOUT_SECS", "soon")]).unwrap_err();
        assert_eq!(e.var, "PUENTE_OFFER_TIMEOUT_SECS");
        let e = Config::from_vars([("PUENTE_OFFER_POLICY", "random")]).unwrap_err();
        assert!(e.to_string().contains("sequential"));
        let e = Config::from_vars([("PUENTE_OPERATOR_TOKENS", "short")]).unwrap_err();
        assert_eq!(e.var, "PUENTE_OPERATOR_TOKENS");
        // TLS to Redis is refused at start, with what to do instead.
        let e =
            Config::from_vars([("PUENTE_REDIS_URL", "rediss://redis.example:6380")]).unwrap_err();
        assert_eq!(e.var, "PUENTE_REDIS_URL");
        assert!(e.message.contains("redis://"), "{e}");
        let e = Config::from_vars([("PUENTE_REQUEST_RETENTION_DAYS", "0")]).unwrap_err();
        assert_eq!(e.var, "PUENTE_REQUEST_RETENTION_DAYS");
        let c = Config::from_vars([("PUENTE_REQUEST_RETENTION_DAYS", "30")]).unwrap();
        assert_eq!(c.retention, SignedDuration::from_hours(30 * 24));
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Config::from_vars([
            ("PUENTE_OPERATOR_TOKENS", "op-secret-123"),
            ("PUENTE_ARI_URL", "http://127.0.0.1:8088"),
            ("PUENTE_ARI_USER", "puente"),
            ("PUENTE_ARI_PASSWORD", "ari-secret-456"),
            ("PUENTE_ARI_ENDPOINT", "PJSIP/{phone}@trunk"),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("op-secret-123"));
        assert!(!shown.contains("ari-secret-456"));
    }

    #[test]
    fn the_alert_webhook_is_an_http_or_https_url_parsed_once() {
        let hook = |v: &str| Config::from_vars([("PUENTE_ALERT_WEBHOOK_URL", v)]);
        let url = hook("https://relay.example/hooks/puente")
            .unwrap()
            .alert_webhook;
        assert_eq!(url.unwrap().path(), "/hooks/puente");
        assert!(hook("http://10.0.0.5:9000/").is_ok());
        for bad in [
            "ftp://relay.example/",
            "http://",
            "relay.example/hook",
            "mailto:a@b.c",
        ] {
            let e = hook(bad).unwrap_err();
            assert_eq!(e.var, "PUENTE_ALERT_WEBHOOK_URL", "{bad}");
        }
    }

    #[test]
    fn ari_needs_its_credentials_and_an_endpoint_template() {
        let base = [
            ("PUENTE_ARI_URL", "http://127.0.0.1:8088/"),
            ("PUENTE_ARI_USER", "puente"),
            ("PUENTE_ARI_PASSWORD", "pw"),
            ("PUENTE_ARI_ENDPOINT", "Local/{id}@interpreters"),
        ];
        let ari = Config::from_vars(base).unwrap().ari.unwrap();
        assert_eq!(ari.url, "http://127.0.0.1:8088");
        assert_eq!(ari.app, "puente");
        assert_eq!(ari.offer_media, "sound:puente-offer");
        for (var, bad) in [
            ("PUENTE_ARI_URL", "ws://asterisk:8088"),
            ("PUENTE_ARI_ENDPOINT", "PJSIP/5550001"),
            ("PUENTE_ARI_ENDPOINT", "{phone}"),
            ("PUENTE_ARI_APP", "my app"),
            ("PUENTE_ARI_PASSWORD", ""),
        ] {
            let mut vars = base.to_vec();
            vars.push((var, bad));
            let err = Config::from_vars(vars).unwrap_err();
            assert_eq!(err.var, var, "{bad}");
        }
        let err = Config::from_vars([("PUENTE_ARI_ENDPOINT", "PJSIP/{phone}")]).unwrap_err();
        assert_eq!(err.var, "PUENTE_ARI_URL");
        assert!(Config::from_vars(Vec::<(String, String)>::new())
            .unwrap()
            .ari
            .is_none());
    }
}
