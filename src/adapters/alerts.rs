//! Alerts to coordinators: an event on the live stream, and a POST of the same JSON to a
//! webhook when `PUENTE_ALERT_WEBHOOK_URL` is set.
//!
//! The webhook is plain HTTP/1.1 on purpose: it points at a relay on the hotline's own
//! network (a chat bot, a pager gateway), and puente keeps no TLS stack for one POST.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TIMEOUT: Duration = Duration::from_secs(5);

/// POST `body` (JSON) to an `http://host[:port]/path` URL; the response's status code.
pub async fn post_json(url: &str, body: &str) -> Result<u16, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("`{url}` is not an http:// URL"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(format!("`{url}` has no usable host"));
    }
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: puente\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("cannot send: {e}"))?;
        let mut head = vec![0u8; 64];
        let n = stream
            .read(&mut head)
            .await
            .map_err(|e| format!("no answer: {e}"))?;
        let line = String::from_utf8_lossy(&head[..n]);
        line.split(' ')
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| "the answer is not HTTP".to_string())
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no answer from {addr} within {TIMEOUT:?}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let status = post_json(&url, r#"{"kind":"coverage_gap"}"#).await.unwrap();
        assert_eq!(status, 204);
        let request = server.await.unwrap();
        assert!(
            request.starts_with("POST /hooks/puente HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(request.contains("Content-Type: application/json"));
        assert!(request.ends_with(r#"{"kind":"coverage_gap"}"#));
        assert!(post_json("https://example.org/", "{}").await.is_err());
        assert!(post_json("http://127.0.0.1:1/", "{}").await.is_err());
    }
}
