//! The live event stream (server-sent events).

use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;

/// Reads `event:`/`data:` pairs from a server-sent event stream.
struct Events {
    res: reqwest::Response,
    buf: String,
}

impl Events {
    async fn open(app: &TestApp, token: &str) -> Events {
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
            res,
            buf: String::new(),
        }
    }

    /// The next event of kind `kind` whose data satisfies `pred`, within `secs`.
    async fn until(&mut self, kind: &str, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut ev = "";
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        ev = v.trim();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if ev == kind {
                    let v: Value = serde_json::from_str(&data).unwrap();
                    if pred(&v) {
                        return v;
                    }
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.res.chunk())
                .await
                .unwrap_or_else(|_| panic!("no `{kind}` event within {secs}s"))
                .unwrap()
                .expect("stream stays open");
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

#[tokio::test]
async fn operators_see_state_changes_and_interpreters_their_offers_live() {
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;
    let beto = app.add_interpreter("beto", &[("yua", 5)]).await;
    let mut op = Events::open(&app, OPERATOR).await;
    let mut ana_events = Events::open(&app, &ana).await;
    let mut beto_events = Events::open(&app, &beto).await;
    op.until("ready", 2, |_| true).await;
    ana_events.until("ready", 2, |_| true).await;
    beto_events.until("ready", 2, |_| true).await;

    let req = app.post_request("tsotsil", "urgent").await;
    let id = req["id"].clone();
    op.until("request", 2, |r| r["id"] == id && r["state"] == "queued")
        .await;
    let offer = ana_events
        .until("offer", 2, |o| {
            o["request_id"] == id && o["state"] == "open"
        })
        .await;
    op.until("request", 2, |r| r["id"] == id && r["state"] == "offered")
        .await;

    app.accept(offer["id"].as_str().unwrap(), &ana)
        .await
        .expect(200);
    let connected = op
        .until("request", 2, |r| r["id"] == id && r["state"] == "connected")
        .await;
    assert_eq!(connected["interpreter"]["id"], "ana");
    assert!(connected["message"]
        .as_str()
        .unwrap()
        .contains("Interpreter ana"));

    // Beto saw none of it: interpreters only see their own offers.
    app.post_request("maya", "normal").await;
    let own = beto_events.until("offer", 2, |_| true).await;
    assert_eq!(own["interpreter_id"], "beto");
    app.shutdown().await;
}
