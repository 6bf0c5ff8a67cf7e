//! Start-up: one path for `main` and the tests. Build the store and the service from the
//! configuration, load the roster, start the dispatcher, and serve HTTP on an
//! already-bound listener until shutdown.

use secrecy::ExposeSecret;
use std::sync::Arc;

use std::time::Duration;

use anyhow::{bail, Context};
use futures_util::StreamExt;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::adapters::store::memory::MemoryStore;
use crate::adapters::store::redis::RedisStore;
use crate::adapters::store::Store;
use crate::app::auth::Role;
use crate::app::dispatch;
use crate::app::service::{ChatParts, Clock, NewInterpreter, Parts, Service};
use crate::domain::ids::TokenHash;
use crate::http;
use crate::logic::routing::Routing;
use crate::setup::config::{Config, RosterSource};
use crate::setup::roster_file::{parse_roster, parse_routing};

/// A running puente: its service (for in-process tests) and a way to stop it.
pub struct App {
    pub service: Arc<Service>,
    pub addr: std::net::SocketAddr,
    stop: watch::Sender<bool>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The loops that act on their own: dispatcher, scheduler, leases and (with a PBX)
    /// the call controller. Shutdown waits for every one of them.
    loops: tokio_util::task::TaskTracker,
}

impl App {
    /// Stop serving and wait for in-flight requests and every loop to finish.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.service.stop();
        let _ = self.stop.send(true);
        self.loops.close();
        self.loops.wait().await;
        crate::app::leases::release(&self.service).await;
        self.server.await.unwrap_or(Ok(()))
    }
}

/// Build the service for `config` (store, roster), without serving anything. With Redis,
/// this also subscribes to the changes of every instance before returning.
pub async fn build(config: &Config, clock: Clock) -> anyhow::Result<Arc<Service>> {
    let service = match &config.redis_url {
        None => Arc::new(Service::new(parts(
            config,
            Arc::new(MemoryStore::new()),
            clock,
        ))),
        Some(url) => {
            let redis = RedisStore::connect(
                url.expose_secret(),
                &config.redis_namespace,
                config.store_timeout,
            )
            .await
            .map_err(|e| anyhow::anyhow!("PUENTE_REDIS_URL: cannot use Redis: {e}"))?;
            let redis = Arc::new(redis);
            let subscription = subscribe(&redis)
                .await
                .map_err(|e| anyhow::anyhow!("PUENTE_REDIS_URL: cannot subscribe: {e}"))?;
            let mut service = Service::new(parts(config, redis.clone(), clock));
            service.set_store_publishes();
            let service = Arc::new(service);
            tokio::spawn(receive_changes(redis, service.clone(), subscription));
            service
        }
    };
    if config.redis_url.is_some() {
        refuse_published_tokens(config)?;
    }
    load_roster(&service, &config.roster, config.redis_url.is_some()).await?;
    // Held before any call is taken, so no other instance mistakes our calls for lost.
    if let Err(e) = service.renew_lease().await {
        tracing::warn!(error = %e, "cannot take this instance's lease on calls yet");
    }
    Ok(service)
}

/// The widening search: the roster file's `[routing]` wins at start (and is stored, so
/// every instance follows); without one, what coordinators last set; else the default.
async fn load_routing(service: &Service, from_file: Option<Routing>) -> anyhow::Result<()> {
    let from_file_given = from_file.is_some();
    service
        .load_routing(from_file)
        .await
        .map_err(|e| anyhow::anyhow!("cannot load the routing: {e}"))?;
    if from_file_given {
        tracing::info!("routing loaded from the roster file");
    }
    Ok(())
}

async fn subscribe(redis: &RedisStore) -> ::redis::RedisResult<::redis::aio::PubSubStream> {
    // A paused Redis accepts the connection and never answers: give up after a while.
    let attempt = async {
        let mut pubsub = redis.client().get_async_pubsub().await?;
        pubsub.subscribe(redis.events_channel()).await?;
        Ok(pubsub.into_on_message())
    };
    tokio::time::timeout(Duration::from_secs(3), attempt)
        .await
        .unwrap_or_else(|_| {
            Err(::redis::RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "Redis did not answer the subscription in time",
            )))
        })
}

/// Deliver every instance's changes to this one's live streams and dispatcher, and
/// resubscribe (with backoff) when the connection drops.
async fn receive_changes(
    redis: Arc<RedisStore>,
    service: Arc<Service>,
    mut stream: ::redis::aio::PubSubStream,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        loop {
            let msg = tokio::select! {
                m = stream.next() => m,
                _ = service.stopped() => return,
            };
            let Some(msg) = msg else { break };
            backoff = Duration::from_millis(100);
            match msg
                .get_payload::<String>()
                .map_err(|e| e.to_string())
                .and_then(|p| RedisStore::decode_event(&p).map_err(|e| e.to_string()))
            {
                Ok((origin, change)) => {
                    // The instance that made the change matches on it at once. The others
                    // look after a delay, in case it died before it could: a request
                    // whose instance was killed is not left waiting.
                    if origin != redis.instance() && !change.nothing_waits {
                        service.look_at_later(service.focus_of(&change));
                    }
                    service.deliver(change);
                }
                Err(e) => tracing::error!(error = %e, "unreadable change from another instance"),
            }
        }
        tracing::warn!("lost the Redis subscription; resubscribing");
        loop {
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = service.stopped() => return,
            }
            // At most a second apart: when Redis is back, live streams follow at once.
            backoff = (backoff * 2).min(Duration::from_secs(1));
            match subscribe(&redis).await {
                Ok(s) => {
                    stream = s;
                    // Something may have changed while we were away.
                    service.wake_dispatcher();
                    break;
                }
                Err(e) => tracing::warn!(error = %e, "cannot resubscribe to Redis yet"),
            }
        }
    }
}

/// A shared store outlives the process: a token printed in the README (the demo's) must
/// never be able to act on it.
fn refuse_published_tokens(config: &Config) -> anyhow::Result<()> {
    for (var, tokens) in [
        ("PUENTE_OPERATOR_TOKENS", &config.operator_tokens),
        ("PUENTE_COORDINATOR_TOKENS", &config.coordinator_tokens),
    ] {
        if tokens
            .iter()
            .any(|t| crate::app::auth::is_published(&TokenHash::of(t.expose_secret())))
        {
            bail!("{var}: a token printed in puente's README (a demo token) cannot be used with Redis, where it would stay valid; set long random tokens of your own");
        }
    }
    Ok(())
}

async fn load_roster(service: &Service, source: &RosterSource, shared: bool) -> anyhow::Result<()> {
    let path = match source {
        RosterSource::Empty | RosterSource::Unset => return load_routing(service, None).await,
        RosterSource::File(p) => p,
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("PUENTE_ROSTER: cannot read {}", path.display()))?;
    let entries = match parse_roster(&text, &service.catalogue) {
        Ok(e) => e,
        Err(problems) => {
            let list: Vec<String> = problems
                .iter()
                .map(|p| format!("  {}:{p}", path.display()))
                .collect();
            bail!(
                "PUENTE_ROSTER: {} has {} problem(s); fix them or check with `puente roster check {}`:\n{}",
                path.display(),
                problems.len(),
                path.display(),
                list.join("\n")
            );
        }
    };
    if shared {
        let published = entries.iter().find(|e| {
            let token = e
                .token
                .as_deref()
                .map(TokenHash::of)
                .or(e.token_sha256.clone());
            token.is_some_and(|t| crate::app::auth::is_published(&t))
        });
        if let Some(e) = published {
            bail!(
                "PUENTE_ROSTER: {} gives interpreter `{}` a token printed in puente's README (a demo token); on Redis it would stay valid for anyone who read it. Remove `token` from the file, or give `token_sha256` of a secret token of your own",
                path.display(),
                e.id
            );
        }
    }
    // Checked by `parse_roster` above.
    let routing = parse_routing(&text, &service.catalogue).unwrap_or(None);
    load_routing(service, routing).await?;
    let n = entries.len();
    for e in entries {
        // The roster check refuses both at once.
        let token = e.token.as_deref().map(TokenHash::of).or(e.token_sha256);
        let new = NewInterpreter {
            id: e.id,
            name: e.name,
            phone: e.phone,
            languages: e.languages,
            availability: e.availability,
            schedule: e.schedule,
            certification: e.certification,
        };
        match service.load_interpreter(new, token).await {
            Ok(()) => {}
            // A shared store was seeded by an earlier start or another instance: the
            // store, not the file, is the truth from then on.
            Err(crate::app::service::ServiceError::AlreadyExists(what)) => {
                tracing::info!(%what, "already on the roster; the file does not overwrite it");
            }
            Err(err) => bail!("PUENTE_ROSTER: {err}"),
        }
    }
    tracing::info!(interpreters = n, path = %path.display(), "roster loaded");
    Ok(())
}

/// The service's parts for `config`, on `store`: what the configuration says, parsed
/// already, and the adapters it asks for (WhatsApp's sealer and sender).
pub fn parts(config: &Config, store: Arc<dyn Store>, clock: Clock) -> Parts {
    let hashed = |ts: &[secrecy::SecretString], role: Role| {
        ts.iter()
            .map(move |t| (TokenHash::of(t.expose_secret()), role))
            .collect::<Vec<_>>()
    };
    let mut staff_tokens = hashed(&config.operator_tokens, Role::Operator);
    staff_tokens.extend(hashed(&config.coordinator_tokens, Role::Coordinator));
    let chat = config.whatsapp.as_ref().map(|w| ChatParts {
        whatsapp: w.clone(),
        sealer: crate::domain::chat::Sealer::from_secret(&w.app_secret),
        out: crate::adapters::whatsapp::Sender::new(w)
            .map(|s| Arc::new(s) as Arc<dyn crate::adapters::bridge::ChatBridge>),
    });
    Parts {
        store,
        clock,
        policy: config.policy.clone(),
        rules: config.rules,
        time_zone: config.time_zone.clone(),
        gap_alert_hours: config.gap_alert_hours,
        alert_webhook: config
            .alert_webhook
            .clone()
            .map(crate::adapters::alerts::Webhook::new),
        staff_tokens,
        limits: config.access,
        call_lease: config.call_lease,
        retention: config.retention,
        chat,
    }
}

/// Serve `service` on `listener` and run its dispatcher, scheduler, leases and (with a
/// PBX in `config`) its call controller, until [`App::shutdown`].
pub fn serve(
    service: Arc<Service>,
    config: &Config,
    listener: TcpListener,
) -> std::io::Result<App> {
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let until = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let loops = tokio_util::task::TaskTracker::new();
    let s = || service.clone();
    let u = || until(stopped.clone());
    loops.spawn(dispatch::run(s(), u()));
    loops.spawn(crate::app::scheduler::run(s(), u()));
    loops.spawn(crate::app::leases::run(s(), u()));
    loops.spawn(crate::app::overload::run(s(), u()));
    loops.spawn(crate::app::retention::run(s(), u()));
    if let Some(ari) = config.ari.clone() {
        let dialling = crate::app::calls::Dialling {
            endpoint: ari.endpoint.clone(),
            operator_endpoint: ari.operator_endpoint.clone(),
            offer_media: ari.offer_media.clone(),
        };
        let bridge = crate::adapters::bridge::ari::Ari::start(ari);
        let stopped = stopped.clone();
        let service = service.clone();
        loops.spawn(async move {
            crate::app::calls::run(service, bridge.clone(), dialling, until(stopped)).await;
            bridge.shut_down();
        });
    }
    let app = http::router(service.clone(), &config.http);
    let server = tokio::spawn(http::serve::run(listener, app, config.http, until(stopped)));
    Ok(App {
        service,
        addr,
        stop,
        server,
        loops,
    })
}

/// Build and serve in one go (what `puente serve` and the black-box tests do).
pub async fn start(config: &Config, listener: TcpListener) -> anyhow::Result<App> {
    let service = build(config, Clock::new()).await?;
    Ok(serve(service, config, listener)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After shutdown nothing of the server is still running: every task that held the
    /// service (the scheduler too, whose handle used to be dropped) has ended.
    #[tokio::test]
    async fn shutdown_waits_for_every_loop() {
        let config = Config::from_vars([("PUENTE_ROSTER", "none")]).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app = start(&config, listener).await.unwrap();
        let service = app.service.clone();
        // Let every loop reach its first wait.
        tokio::task::yield_now().await;
        app.shutdown().await.unwrap();
        assert_eq!(
            Arc::strong_count(&service),
            1,
            "a task still holds the service"
        );
    }
}
