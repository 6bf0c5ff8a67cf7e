//! Alerts to coordinators: an event on the live stream, and a POST of the same JSON to a
//! webhook when `PUENTE_ALERT_WEBHOOK_URL` is set (a relay on the hotline's network, a
//! chat bot, a pager gateway).

use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Where alerts are also POSTed.
#[derive(Debug, Clone)]
pub struct Webhook {
    url: reqwest::Url,
    client: reqwest::Client,
}

impl Webhook {
    pub fn new(url: reqwest::Url) -> Webhook {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent("puente")
            .build()
            .unwrap_or_default();
        Webhook { url, client }
    }

    /// POST `body` (JSON); the response's status code.
    pub async fn post_json(&self, body: String) -> Result<u16, reqwest::Error> {
        let response = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        Ok(response.status().as_u16())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn posts_json_and_reads_the_status() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/puente", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            while !String::from_utf8_lossy(&got).contains("}") {
                let n = s.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8(got).unwrap()
        });
        let hook = Webhook::new(url.parse().unwrap());
        let status = hook
            .post_json(r#"{"kind":"coverage_gap"}"#.into())
            .await
            .unwrap();
        assert_eq!(status, 204);
        let request = server.await.unwrap();
        assert!(
            request.starts_with("POST /hooks/puente HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(request
            .to_ascii_lowercase()
            .contains("content-type: application/json"));
        assert!(request.ends_with(r#"{"kind":"coverage_gap"}"#));
        let nobody = Webhook::new("http://127.0.0.1:1/".parse().unwrap());
        assert!(nobody.post_json("{}".into()).await.is_err());
    }
}
