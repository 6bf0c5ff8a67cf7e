//! Start-up: one path for `main` and the tests. Build the store and the service from the
//! configuration, load the roster, start the dispatcher, and serve HTTP on an
//! already-bound listener until shutdown.

use std::sync::Arc;

use anyhow::{bail, Context};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::TokenHash;
use crate::config::{Config, RosterSource};
use crate::roster::parse_roster;
use crate::service::{Clock, NewInterpreter, Service};
use crate::store::memory::MemoryStore;
use crate::store::Store;
use crate::{dispatch, http};

/// A running puente: its service (for in-process tests) and a way to stop it.
pub struct App {
    pub service: Arc<Service>,
    pub addr: std::net::SocketAddr,
    stop: watch::Sender<bool>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    dispatcher: tokio::task::JoinHandle<()>,
}

impl App {
    /// Stop serving and wait for in-flight requests and the dispatcher to finish.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.service.stop();
        let _ = self.stop.send(true);
        let _ = self.dispatcher.await;
        self.server.await.unwrap_or(Ok(()))
    }

    /// Resolve when the server stops on its own (it does not, unless it fails).
    pub async fn wait(self) -> std::io::Result<()> {
        let App {
            service,
            stop,
            server,
            dispatcher,
            ..
        } = self;
        let result = server.await.unwrap_or(Ok(()));
        service.stop();
        let _ = stop.send(true);
        let _ = dispatcher.await;
        result
    }
}

/// Build the service for `config` (store, roster), without serving anything.
pub async fn build(config: &Config, clock: Clock) -> anyhow::Result<Arc<Service>> {
    if config.redis_url.is_some() {
        bail!("PUENTE_REDIS_URL is set, but this version of puente has no Redis store yet; unset it to use the in-memory store");
    }
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let service = Arc::new(Service::new(config, store, clock));
    load_roster(&service, &config.roster).await?;
    Ok(service)
}

async fn load_roster(service: &Service, source: &RosterSource) -> anyhow::Result<()> {
    let path = match source {
        RosterSource::Empty => return Ok(()),
        RosterSource::Default(p) if !p.exists() => {
            tracing::warn!(path = %p.display(), "no roster file; starting with an empty roster");
            return Ok(());
        }
        RosterSource::Default(p) | RosterSource::File(p) => p,
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
    let n = entries.len();
    for e in entries {
        let token = match (&e.token, &e.token_sha256) {
            (Some(t), _) => Some(TokenHash::of(t)),
            (None, Some(h)) => TokenHash::from_hex(h),
            (None, None) => None,
        };
        let new = NewInterpreter {
            id: e.id,
            name: e.name,
            phone: e.phone,
            languages: e.languages,
            availability: e.availability,
        };
        service
            .load_interpreter(new, token)
            .await
            .map_err(|err| anyhow::anyhow!("PUENTE_ROSTER: {err}"))?;
    }
    tracing::info!(interpreters = n, path = %path.display(), "roster loaded");
    Ok(())
}

/// Serve `service` on `listener` and run its dispatcher, until [`App::shutdown`].
pub fn serve(service: Arc<Service>, listener: TcpListener) -> std::io::Result<App> {
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let until = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let dispatcher = tokio::spawn(dispatch::run(service.clone(), until(stopped.clone())));
    let app = http::router(service.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(until(stopped))
            .await
    });
    Ok(App {
        service,
        addr,
        stop,
        server,
        dispatcher,
    })
}

/// Build and serve in one go (what `puente serve` and the black-box tests do).
pub async fn start(config: &Config, listener: TcpListener) -> anyhow::Result<App> {
    let service = build(config, Clock::new()).await?;
    Ok(serve(service, listener)?)
}
