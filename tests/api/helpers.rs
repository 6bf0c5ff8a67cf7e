//! Start the real server on a free port and talk to it over HTTP, as users do.

use std::time::Duration;

use futures_util::StreamExt;

use puente::setup::config::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const OPERATOR: &str = "operator-token-1";
pub const COORDINATOR: &str = "coordinator-token-1";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub app: Option<puente::setup::startup::App>,
}

/// Start puente with an empty roster and the given extra variables.
pub async fn spawn_app(extra: &[(&str, &str)]) -> TestApp {
    let mut vars: Vec<(String, String)> = vec![
        ("PUENTE_ROSTER".into(), "none".into()),
        ("PUENTE_OPERATOR_TOKENS".into(), OPERATOR.into()),
        ("PUENTE_COORDINATOR_TOKENS".into(), COORDINATOR.into()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config = Config::from_vars(vars).expect("test config is valid");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = puente::setup::startup::start(&config, listener)
        .await
        .unwrap();
    TestApp {
        base: format!("http://{}", app.addr),
        client: reqwest::Client::new(),
        app: Some(app),
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// The error code of an error reply.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("<none>")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        self.body
    }
}

impl TestApp {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut rb = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let res = rb.send().await.expect("server answers");
        let status = res.status();
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("non-JSON body ({status}): {text}"))
        };
        Reply { status, body }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Add an interpreter (available) and return its token.
    pub async fn add_interpreter(&self, id: &str, langs: &[(&str, u8)]) -> String {
        let languages: Vec<Value> = langs
            .iter()
            .map(|(t, p)| json!({"tag": t, "proficiency": p}))
            .collect();
        let body = self
            .post(
                "/api/v1/interpreters",
                COORDINATOR,
                json!({"id": id, "name": format!("Interpreter {id}"), "phone": "+525550001234", "languages": languages}),
            )
            .await
            .expect(201);
        let token = body["token"].as_str().unwrap().to_string();
        self.set_availability(id, &token, "available")
            .await
            .expect(200);
        token
    }

    pub async fn set_availability(&self, id: &str, token: &str, status: &str) -> Reply {
        self.call(
            Method::PUT,
            &format!("/api/v1/interpreters/{id}/availability"),
            Some(token),
            Some(json!({"status": status})),
        )
        .await
    }

    pub async fn post_request(&self, language: &str, priority: &str) -> Value {
        self.post(
            "/api/v1/requests",
            OPERATOR,
            json!({"language": language, "priority": priority, "channel": "phone"}),
        )
        .await
        .expect(201)
    }

    pub async fn request(&self, id: &str) -> Value {
        self.get(&format!("/api/v1/requests/{id}"), OPERATOR)
            .await
            .expect(200)
    }

    pub async fn offers(&self, id: &str, token: &str) -> Vec<Value> {
        self.get(&format!("/api/v1/interpreters/{id}/offers"), token)
            .await
            .expect(200)["offers"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Wait (up to `secs`) for the interpreter to have an open offer, and return it.
    pub async fn wait_offer(&self, id: &str, token: &str, secs: u64) -> Value {
        self.wait_for(secs, || async {
            self.offers(id, token).await.into_iter().next()
        })
        .await
        .unwrap_or_else(|| panic!("no offer for {id} within {secs}s"))
    }

    pub async fn wait_for<T, F, Fut>(&self, secs: u64, mut f: F) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let until = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(v) = f().await {
                return Some(v);
            }
            if tokio::time::Instant::now() > until {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn accept(&self, offer: &str, token: &str) -> Reply {
        self.call(
            Method::POST,
            &format!("/api/v1/offers/{offer}/accept"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn decline(&self, offer: &str, token: &str) -> Reply {
        self.call(
            Method::POST,
            &format!("/api/v1/offers/{offer}/decline"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn shutdown(mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown().await.unwrap();
        }
    }
}

type EventStream = std::pin::Pin<
    Box<
        dyn futures_util::Stream<
                Item = Result<
                    eventsource_stream::Event,
                    eventsource_stream::EventStreamError<reqwest::Error>,
                >,
            > + Send,
    >,
>;

/// Reads the events of a server-sent event stream.
pub struct Events {
    stream: EventStream,
}

impl Events {
    pub async fn open(app: &TestApp, token: &str) -> Events {
        let res = app
            .client
            .get(format!("{}/api/v1/events", app.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        Events {
            stream: Box::pin(eventsource_stream::Eventsource::eventsource(
                res.bytes_stream(),
            )),
        }
    }

    /// The next event of kind `kind` whose data satisfies `pred`, within `secs`.
    pub async fn until(&mut self, kind: &str, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let ev = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("no `{kind}` event within {secs}s"))
                .expect("stream stays open")
                .unwrap();
            if ev.event == kind {
                let v: Value = serde_json::from_str(&ev.data).unwrap();
                if pred(&v) {
                    return v;
                }
            }
        }
    }
}
