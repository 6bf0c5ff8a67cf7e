//! Configuration: one typed tree, read from the environment once at start and validated
//! there. Nothing else in puente reads `std::env`. A bad value fails start-up with a message
//! naming the variable and the fix; secrets are wrapped so they never print.

use std::net::SocketAddr;
use std::path::PathBuf;

use jiff::SignedDuration;

use crate::auth::Secret;
use crate::matcher::{OfferMode, Policy};
use crate::store::Rules;

/// Where the roster comes from at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RosterSource {
    /// `./interpreters.toml` when `PUENTE_ROSTER` is unset: skipped with a warning if absent.
    Default(PathBuf),
    /// A file named by `PUENTE_ROSTER`: must load.
    File(PathBuf),
    /// `PUENTE_ROSTER=none`.
    Empty,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub redis_url: Option<Secret>,
    /// Prefix of every Redis key (inside a cluster hash tag); instances that share a
    /// roster share a namespace.
    pub redis_namespace: String,
    pub roster: RosterSource,
    pub operator_tokens: Vec<Secret>,
    pub coordinator_tokens: Vec<Secret>,
    pub policy: Policy,
    pub rules: Rules,
    /// The hotline's time zone (IANA), for the coverage grid.
    pub time_zone: String,
    /// How far ahead a coverage gap of a language in demand is announced.
    pub gap_alert_hours: u32,
    /// Where coverage alerts are also POSTed (JSON), if anywhere: an `http://` URL.
    pub alert_webhook: Option<String>,
    /// WhatsApp Cloud API, when both the verify token and the app secret are set.
    pub whatsapp: Option<crate::whatsapp::WhatsAppConfig>,
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
            roster: RosterSource::Default(PathBuf::from("./interpreters.toml")),
            operator_tokens: Vec::new(),
            coordinator_tokens: Vec::new(),
            policy: Policy::default(),
            rules: Rules::default(),
            time_zone: crate::schedule::DEFAULT_TIME_ZONE.into(),
            gap_alert_hours: 12,
            alert_webhook: None,
            whatsapp: None,
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

fn tokens(var: &'static str, value: &str) -> Result<Vec<Secret>, ConfigError> {
    let list: Vec<Secret> = value
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(Secret::new)
        .collect();
    if list.iter().any(|t| t.expose().len() < 8) {
        return Err(ConfigError {
            var,
            message: "every token must be at least 8 characters long; use long random strings"
                .into(),
        });
    }
    Ok(list)
}

impl Config {
    /// Read the configuration from environment variables (passed in, so tests need not
    /// touch the process environment).
    pub fn from_vars<I, K, V>(vars: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut c = Config::default();
        let mut retry_after = None;
        let mut wa = WhatsAppVars::default();
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
                    let bad = v.split(',').map(str::trim).any(|u| {
                        !(u.starts_with("redis://") || u.starts_with("rediss://"))
                    });
                    if bad {
                        return Err(ConfigError {
                            var: "PUENTE_REDIS_URL",
                            message: "must be redis:// or rediss:// URLs (several, comma-separated, for a cluster), for example `redis://127.0.0.1:6379/0`".into(),
                        });
                    }
                    c.redis_url = Some(Secret::new(v.trim()));
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
                    if jiff::tz::TimeZone::get(tz).is_err() {
                        return Err(ConfigError {
                            var: "PUENTE_TIME_ZONE",
                            message: format!("`{tz}` is not an IANA time zone (e.g. America/Mexico_City)"),
                        });
                    }
                    c.time_zone = tz.to_string();
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
                    if !url.starts_with("http://") {
                        return Err(ConfigError {
                            var: "PUENTE_ALERT_WEBHOOK_URL",
                            message: format!("`{url}` must be an http:// URL (a relay on the hotline's network)"),
                        });
                    }
                    c.alert_webhook = Some(url.to_string());
                }
                "PUENTE_WHATSAPP_VERIFY_TOKEN" => wa.verify_token = Some(Secret::new(v.trim())),
                "PUENTE_WHATSAPP_APP_SECRET" => wa.app_secret = Some(Secret::new(v.trim())),
                "PUENTE_WHATSAPP_ACCESS_TOKEN" => wa.access_token = Some(Secret::new(v.trim())),
                "PUENTE_WHATSAPP_PHONE_NUMBER_ID" => wa.phone_number_id = Some(v.trim().to_string()),
                "PUENTE_WHATSAPP_API_BASE" => wa.api_base = Some(v.trim().trim_end_matches('/').to_string()),
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
        Ok(c)
    }
}

#[derive(Default)]
struct WhatsAppVars {
    verify_token: Option<Secret>,
    app_secret: Option<Secret>,
    access_token: Option<Secret>,
    phone_number_id: Option<String>,
    api_base: Option<String>,
}

impl WhatsAppVars {
    /// WhatsApp is on when the verify token and the app secret are both set.
    fn finish(self) -> Result<Option<crate::whatsapp::WhatsAppConfig>, ConfigError> {
        let (verify_token, app_secret) = match (self.verify_token, self.app_secret) {
            (None, None) => return Ok(None),
            (Some(v), Some(a)) if !v.expose().is_empty() && !a.expose().is_empty() => (v, a),
            _ => {
                return Err(ConfigError {
                    var: "PUENTE_WHATSAPP_APP_SECRET",
                    message: "set both PUENTE_WHATSAPP_VERIFY_TOKEN and PUENTE_WHATSAPP_APP_SECRET (or neither)".into(),
                })
            }
        };
        Ok(Some(crate::whatsapp::WhatsAppConfig {
            verify_token,
            app_secret,
            access_token: self.access_token,
            phone_number_id: self.phone_number_id,
            api_base: self
                .api_base
                .unwrap_or_else(|| crate::whatsapp::DEFAULT_API_BASE.into()),
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
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Config::from_vars([("PUENTE_OPERATOR_TOKENS", "op-secret-123")]).unwrap();
        assert!(!format!("{c:?}").contains("op-secret-123"));
    }
}
