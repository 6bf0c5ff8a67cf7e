//! The console pages as plain HTTP: locale choice, its cookie, and the page's headers.

use crate::helpers::*;

async fn page(app: &TestApp, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(format!("{}{path}", app.base));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

async fn lang_of(res: reqwest::Response) -> String {
    let html = res.text().await.unwrap();
    let start = html.find("<html lang=\"").expect("a lang attribute") + 12;
    html[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn the_locale_asked_for_is_remembered_in_a_cookie() {
    let app = spawn_app(&[]).await;
    let res = page(&app, "/operator?lang=en", None).await;
    assert_eq!(res.status().as_u16(), 200);
    let set = res.headers()["set-cookie"].to_str().unwrap().to_string();
    for part in [
        "puente_lang=en",
        "Path=/",
        "Max-Age=31536000",
        "SameSite=Lax",
    ] {
        assert!(set.contains(part), "{set}");
    }
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    assert_eq!(lang_of(res).await, "en");

    // The cookie alone chooses the page's language, among other cookies.
    let res = page(&app, "/coordinator", Some("other=1; puente_lang=en")).await;
    assert!(res.headers().get("set-cookie").is_none());
    assert_eq!(lang_of(res).await, "en");

    // Spanish without either; an encoded value decodes; a malformed query is ignored.
    assert_eq!(lang_of(page(&app, "/", None).await).await, "es-MX");
    assert_eq!(lang_of(page(&app, "/?lang=e%6E", None).await).await, "en");
    let res = page(&app, "/?lang=en&lang=en", Some("puente_lang=es-MX")).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(lang_of(res).await, "es-MX");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app(&[]).await;
    let res = page(&app, "/healthz", None).await;
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(id.len() >= 16, "{id}");
    let again = page(&app, "/healthz", None).await;
    assert_ne!(again.headers()["x-request-id"].to_str().unwrap(), id);
    // One a proxy already gave is kept, so logs on both sides match.
    let res = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .header("x-request-id", "proxy-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    assert_eq!(res.headers()["x-request-id"], "proxy-42");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let res = page(&app, "/api/v1/nothing-here", None).await;
    assert_eq!(res.status().as_u16(), 404);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let res = page(&app, "/console/js/main.js", None).await;
    assert_eq!(res.headers()["cache-control"], "no-cache");
}
