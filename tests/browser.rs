//! The consoles in a real browser: headless Chromium driven through chromedriver (WebDriver),
//! against the real server on a free port. `scripts/test.sh` installs Debian's `chromium`
//! and `chromium-driver`; `PUENTE_TEST_CHROMEDRIVER` and `PUENTE_TEST_CHROMIUM` name other
//! binaries.
//!
//! The screenshots in the README come from here: every run writes them to
//! `target/screenshots/`, and `PUENTE_UPDATE_SCREENSHOTS=1` also to `docs/screenshots/`.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use puente::setup::config::Config;
use serde_json::{json, Value};

const OPERATOR: &str = "operator-browser-token";
const COORDINATOR: &str = "coordinator-browser-token";
/// Long enough for any machine; the latency that matters is printed, not asserted.
const PATIENCE: Duration = Duration::from_secs(10);

/// A chromedriver process on a free port, stopped on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Driver {
        let program =
            std::env::var("PUENTE_TEST_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run `{program}` ({e}): run scripts/test.sh, which installs chromium-driver")
            });
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let until = Instant::now() + PATIENCE;
        loop {
            if let Ok(r) = http.get(format!("{url}/status")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < until, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Driver { child, url }
    }

    /// A new browser (its own profile, so its own sessionStorage) of the given size.
    async fn browser(&self, width: u32, height: u32) -> Client {
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-extensions".into(),
            "--hide-scrollbars".into(),
            "--force-device-scale-factor=1".into(),
            format!("--window-size={width},{height}"),
        ];
        args.push("--lang=en-US".into()); // puente must still answer in Spanish
        let mut options = json!({ "args": args });
        let binary = std::env::var("PUENTE_TEST_CHROMIUM").ok().or_else(|| {
            let debian = "/usr/bin/chromium";
            std::path::Path::new(debian)
                .exists()
                .then(|| debian.to_string())
        });
        if let Some(b) = binary {
            options["binary"] = json!(b);
        }
        if width < 500 {
            // A desktop window cannot be that narrow: emulate the phone's screen instead.
            options["mobileEmulation"] = json!({
                "deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0, "touch": true},
            });
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("chromedriver starts a headless Chromium")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Server {
    base: String,
    app: puente::setup::startup::App,
    http: reqwest::Client,
}

async fn server() -> Server {
    server_on("127.0.0.1:0", &[]).await
}

fn config(extra: &[(&str, &str)]) -> Config {
    let mut vars = vec![
        ("PUENTE_ROSTER", "none"),
        ("PUENTE_OPERATOR_TOKENS", OPERATOR),
        ("PUENTE_COORDINATOR_TOKENS", COORDINATOR),
    ];
    vars.extend_from_slice(extra);
    Config::from_vars(vars).unwrap()
}

async fn server_on(addr: &str, extra: &[(&str, &str)]) -> Server {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let app = puente::setup::startup::start(&config(extra), listener)
        .await
        .unwrap();
    Server {
        base: format!("http://{}", app.addr),
        app,
        http: reqwest::Client::new(),
    }
}

impl Server {
    /// `POST /api/v1{path}` behind the browsers' backs, as another user would.
    async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        self.http
            .post(format!("{}/api/v1{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// `GET /api/v1{path}`, as another user would.
    async fn get(&self, path: &str, token: &str) -> Value {
        self.http
            .get(format!("{}/api/v1{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Add an interpreter through the API; returns the token.
    async fn interpreter(&self, id: &str, name: &str, tag: &str) -> String {
        let body = json!({"id": id, "name": name, "phone": "+529671234567",
            "languages": [{"tag": tag, "proficiency": 5}]});
        let res = self.post("/interpreters", COORDINATOR, body).await;
        res["token"].as_str().expect("created").to_string()
    }

    /// An operator's request made elsewhere; returns its id.
    async fn request(&self, language: &str) -> String {
        let body = json!({"language": language, "priority": "normal", "channel": "phone"});
        let res = self.post("/requests", OPERATOR, body).await;
        res["id"].as_str().expect("created").to_string()
    }
}

async fn css(c: &Client, selector: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(PATIENCE)
        .every(Duration::from_millis(10))
        .for_element(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("no `{selector}` on the page: {e}"))
}

/// Do `act` on the first element matching `selector`. Live pages replace elements as
/// events arrive: one gone stale between finding and acting is found again.
async fn on_element<T, F, Fut>(c: &Client, selector: &str, act: F) -> T
where
    F: Fn(fantoccini::elements::Element) -> Fut,
    Fut: std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
{
    let until = Instant::now() + PATIENCE;
    loop {
        match act(css(c, selector).await).await {
            Ok(v) => return v,
            Err(e) if Instant::now() < until => {
                eprintln!("`{selector}` again: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("`{selector}`: {e}"),
        }
    }
}

async fn click(c: &Client, selector: &str) {
    on_element(c, selector, |e| async move { e.click().await }).await
}

/// Wait for the language suggestions, then close their list (Escape), as a person would
/// before reaching for another control: an open list swallows the next click.
async fn close_suggestions(c: &Client) {
    css(c, "#language-match:not(:empty)").await;
    type_into(c, "#language", "\u{E00C}").await;
}

/// An attribute of the first element matching `selector`.
async fn attr(c: &Client, selector: &str, name: &str) -> String {
    on_element(c, selector, |e| async move { e.attr(name).await })
        .await
        .unwrap_or_else(|| panic!("`{selector}` has no `{name}`"))
}

/// The text of the first element matching `selector`.
async fn text(c: &Client, selector: &str) -> String {
    on_element(c, selector, |e| async move { e.text().await }).await
}

async fn type_into(c: &Client, selector: &str, keys: &str) {
    css(c, selector).await.send_keys(keys).await.unwrap();
}

/// Sign in with the keyboard alone, as a person would: type the token, press Enter.
async fn sign_in(c: &Client, base: &str, token: &str, page: &str) {
    c.goto(&format!("{base}/")).await.unwrap();
    type_into(c, "#token", token).await;
    type_into(c, "#token", "\u{E007}").await;
    let until = Instant::now() + PATIENCE;
    while c.current_url().await.unwrap().path() != page {
        assert!(Instant::now() < until, "sign-in did not lead to {page}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The live stream is up once the badge says so.
    css(c, "#connection[data-state='live']").await;
}

/// An interpreter's phone, signed in and on call.
async fn on_call(driver: &Driver, base: &str, token: &str) -> Client {
    let phone = driver.browser(360, 740).await;
    sign_in(&phone, base, token, "/interpreter").await;
    click(&phone, "#toggle[aria-pressed='false']:not([disabled])").await;
    css(&phone, "#toggle[aria-pressed='true']").await;
    phone
}

async fn screenshot(c: &Client, name: &str) {
    c.execute("window.scrollTo(0, 0);", vec![]).await.unwrap();
    let png = c.screenshot().await.unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.join("target/screenshots")];
    if std::env::var_os("PUENTE_UPDATE_SCREENSHOTS").is_some() {
        dirs.push(root.join("docs/screenshots"));
    }
    for dir in dirs {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
    }
}

/// The page's language, and everything it loaded came from puente itself.
async fn check_page(c: &Client, lang: &str, why: &str) {
    let html = css(c, "html").await.attr("lang").await.unwrap();
    assert_eq!(html.as_deref(), Some(lang), "{why}");
    only_own_resources(c).await;
    every_control_is_named(c).await;
}

/// Every form control has a label and every button a name (what a screen reader says).
async fn every_control_is_named(c: &Client) {
    let unnamed = c
        .execute(
            "const name = (e) => (e.getAttribute('aria-label') || e.textContent || '').trim();
             return [...document.querySelectorAll('input, select, textarea, button')]
               .filter((e) => e.type !== 'hidden' && !e.closest('[hidden]'))
               .filter((e) => e.tagName === 'BUTTON' ? !name(e)
                    : e.labels.length === 0 && !e.getAttribute('aria-label'))
               .map((e) => e.outerHTML.slice(0, 80));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(unnamed, json!([]), "controls without a name");
}

/// Everything the page loaded came from puente itself.
async fn only_own_resources(c: &Client) {
    let foreign = c
        .execute(
            "return performance.getEntriesByType('resource')
                .map(e => e.name).filter(n => !n.startsWith(location.origin));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(foreign, json!([]), "resources from outside puente");
}

/// How much wider than the screen the page is.
async fn horizontal_overflow(c: &Client) -> i64 {
    c.execute(
        "return document.documentElement.scrollWidth - window.innerWidth;",
        vec![],
    )
    .await
    .unwrap()
    .as_i64()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_request_reaches_an_interpreter_phone_and_the_card_turns_connected() {
    let driver = Driver::start().await;
    let server = server().await;
    let base = &server.base;
    let ana_token = server.interpreter("ana", "Ana López", "tzo").await;

    // The operator, at a desk, asks for Tsotsil by its self-name.
    let operator = driver.browser(1280, 900).await;
    sign_in(&operator, base, OPERATOR, "/operator").await;
    check_page(
        &operator,
        "es-MX",
        "Spanish by default, whatever the browser prefers",
    )
    .await;
    type_into(&operator, "#language", "bats'i k'op").await;
    let hint = text(&operator, "#language-match:not(:empty)").await;
    assert!(
        hint.contains("tzo"),
        "the resolver suggests as one types: {hint}"
    );
    close_suggestions(&operator).await;
    click(&operator, "input[name=priority][value=urgent]").await;
    click(&operator, "#request-submit").await;
    let request_id = attr(&operator, "li.card[data-state='queued']", "data-request-id").await;
    let status = text(&operator, "li.card [data-field='message']").await;
    assert!(
        status.to_lowercase().contains("tsotsil"),
        "a Fluent status line: {status}"
    );
    assert!(text(&operator, "li.card .script")
        .await
        .contains("No cuelgue"));
    screenshot(&operator, "operator-waiting").await;

    // The interpreter, on a phone, goes on call; the offer arrives without a reload.
    let phone = driver.browser(360, 740).await;
    sign_in(&phone, base, &ana_token, "/interpreter").await;
    let toggle = css(&phone, "#toggle[aria-pressed='false']:not([disabled])").await;
    check_page(&phone, "es-MX", "the interpreter's page is in Spanish too").await;
    toggle.click().await.unwrap();
    css(&phone, "#toggle[aria-pressed='true']").await;
    assert!(text(&phone, "li.offer")
        .await
        .to_lowercase()
        .contains("tsotsil"));
    assert!(text(&phone, "li.offer .countdown")
        .await
        .starts_with("Quedan"));
    assert!(text(&phone, "li.offer").await.contains("Urgente"));
    let viewport = phone
        .execute("return window.innerWidth;", vec![])
        .await
        .unwrap();
    assert_eq!(viewport, json!(360));
    assert_eq!(
        horizontal_overflow(&phone).await,
        0,
        "usable at 360 px wide"
    );
    let accept = css(&phone, "li.offer [data-action='accept']").await;
    let width = phone
        .execute(
            "return document.querySelector(\"li.offer [data-action='accept']\").getBoundingClientRect().width;",
            vec![],
        )
        .await
        .unwrap();
    assert!(width.as_f64().unwrap() >= 44.0, "a thumb-sized button");
    screenshot(&phone, "interpreter-offer").await;

    // Accept; the operator's card turns connected by itself.
    let clicked = Instant::now();
    accept.click().await.unwrap();
    let connected = format!("li.card[data-request-id='{request_id}'][data-state='connected']");
    css(&operator, &connected).await;
    let latency = clicked.elapsed();
    eprintln!("browser: accept click → operator card connected in {latency:?}");
    assert!(text(&operator, &connected).await.contains("Ana López"));
    // The manual bridge: dial Ana's number, join her, confirm.
    let dial = text(&operator, "li.card [data-field='bridge']").await;
    assert!(dial.contains("+529671234567"), "the number to dial: {dial}");
    click(&operator, "li.card [data-action='bridged']").await;
    css(&operator, "li.card [data-action='complete']").await;
    css(&phone, "#session [data-action='complete']").await;
    screenshot(&operator, "operator").await;
    screenshot(&phone, "interpreter").await;

    // The interpreter completes; both screens follow.
    click(&phone, "#session [data-action='complete']").await;
    css(
        &operator,
        &format!("li.card[data-request-id='{request_id}'][data-state='completed']"),
    )
    .await;
    css(&phone, "#no-session:not([hidden])").await;

    operator.close().await.unwrap();
    phone.close().await.unwrap();
    server.app.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_adds_edits_and_sees_coverage() {
    let driver = Driver::start().await;
    // Requests nobody takes go unfilled after 8 s here: the coordinator is alerted.
    let server = server_on("127.0.0.1:0", &[("PUENTE_UNFILLED_AFTER_SECS", "8")]).await;
    let base = &server.base;
    let desk = driver.browser(1280, 1400).await;
    desk.goto(&format!("{base}/?lang=en")).await.unwrap();
    sign_in(&desk, base, COORDINATOR, "/coordinator").await;
    check_page(&desk, "en", "English on request, remembered across pages").await;

    // A mistake first: the API's message is shown and the field is marked.
    type_into(&desk, "#it-id", "beto").await;
    type_into(&desk, "#it-name", "Beto Pérez").await;
    type_into(&desk, "#it-phone", "12345").await;
    type_into(&desk, "#skills input[name=tag]", "yua").await;
    click(&desk, "#save-interpreter").await;
    let error = text(&desk, "#interpreter-error:not(:empty)").await;
    assert!(error.contains("phone"), "{error}");
    css(&desk, "#it-phone[aria-invalid='true']").await;

    css(&desk, "#it-phone").await.clear().await.unwrap();
    type_into(&desk, "#it-phone", "+52 999 123 4567").await;
    click(&desk, "#save-interpreter").await;
    let token = text(&desk, "#new-token:not([hidden]) [data-field='token']").await;
    assert!(token.len() >= 20, "the new token is shown once: {token}");
    let row = text(&desk, "tr[data-interpreter-id='beto']").await;
    assert!(row.contains("Beto Pérez") && row.contains("yua"), "{row}");

    // The token works: the new interpreter can sign in (another browser).
    let phone = driver.browser(360, 740).await;
    sign_in(&phone, base, &token, "/interpreter").await;
    phone.close().await.unwrap();

    // Nobody is on call for Maya: the coverage table says so in words.
    let maya = text(&desk, "#coverage tr[data-language='yua'].uncovered").await;
    assert!(maya.contains("Nobody on call"), "{maya}");

    // Edit: add Tsotsil.
    click(&desk, "tr[data-interpreter-id='beto'] [data-action='edit']").await;
    click(&desk, "#add-skill").await;
    type_into(&desk, "#skills li:nth-child(2) input[name=tag]", "tzo").await;
    click(&desk, "#save-interpreter").await;
    let edited = text(&desk, "#roster-notice:not(:empty)").await;
    assert!(edited.contains("Beto Pérez"), "{edited}");
    let row = text(&desk, "tr[data-interpreter-id='beto']").await;
    assert!(row.contains("tzo"), "{row}");

    // A request shows up in the live queue without a reload.
    server.request("maya").await;
    let queued = text(&desk, "#queue tbody tr").await;
    assert!(queued.contains("yua"), "{queued}");
    css(&desk, "#coverage tr[data-language='yua'] td:nth-of-type(4)").await;
    // The week ahead: Maya is in demand and nobody is on call, in words as well as colour.
    let row = text(&desk, "#grid .grid-row[data-language='yua']").await;
    assert!(
        row.contains("Nobody on call 168 of 168") || row.contains("nobody on call 168 of 168"),
        "{row}"
    );
    let gap = text(&desk, "#gaps li[data-language='yua']").await;
    assert!(
        gap.contains("Yucatec Maya") && gap.contains("168 h"),
        "{gap}"
    );
    every_control_is_named(&desk).await;
    screenshot(&desk, "coordinator").await;

    // Removing asks for a second click, then the row goes.
    let remove = "tr[data-interpreter-id='beto'] [data-action='remove']";
    click(&desk, remove).await;
    assert!(text(&desk, remove).await.contains("Confirm"));
    click(&desk, remove).await;
    let until = Instant::now() + PATIENCE;
    while !desk
        .find_all(Locator::Css("tr[data-interpreter-id='beto']"))
        .await
        .unwrap()
        .is_empty()
    {
        assert!(
            Instant::now() < until,
            "the removed interpreter's row stays"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let removed = text(&desk, "#roster-notice").await;
    assert!(removed.contains("removed"), "{removed}");

    // Nobody took the Maya request: it goes unfilled and the coordinator is told at once.
    let alert = text(&desk, "#alerts li[data-kind='unfilled']").await;
    assert!(alert.contains("Yucatec Maya"), "{alert}");
    desk.close().await.unwrap();
    server.app.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_a_name_keeps_the_certification_and_the_schedule_and_a_stale_edit_is_refused() {
    let driver = Driver::start().await;
    let server = server().await;
    let base = &server.base;
    let body = json!({"id": "rosa", "name": "Rosa", "phone": "+529671234567",
        "certification": "PANITLI EC0015",
        "languages": [{"tag": "tzo", "proficiency": 5, "certification": "EC0015"}],
        "schedule": {"time_zone": "America/Mexico_City",
                     "windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                  "start": "00:00", "end": "23:59"}]}});
    server.post("/interpreters", COORDINATOR, body).await;
    let desk = driver.browser(1280, 1400).await;
    sign_in(&desk, base, COORDINATOR, "/coordinator").await;

    click(&desk, "tr[data-interpreter-id='rosa'] [data-action='edit']").await;
    let name = css(&desk, "#it-name").await;
    name.clear().await.unwrap();
    type_into(&desk, "#it-name", "Rosa María").await;
    click(&desk, "#save-interpreter").await;
    let saved = text(&desk, "#roster-notice:not(:empty)").await;
    assert!(saved.contains("Rosa María"), "{saved}");
    let rosa = server.get("/interpreters/rosa", COORDINATOR).await;
    assert_eq!(rosa["name"], "Rosa María");
    assert_eq!(rosa["certification"], "PANITLI EC0015", "{rosa}");
    assert_eq!(rosa["languages"][0]["certification"], "EC0015", "{rosa}");
    assert!(
        rosa["schedule"]["windows"]
            .as_array()
            .is_some_and(|w| w.len() == 1),
        "{rosa}"
    );
    assert_eq!(rosa["status"], "available", "still on call by the schedule");

    // Two coordinators: the form was filled, then someone else saved first.
    click(&desk, "tr[data-interpreter-id='rosa'] [data-action='edit']").await;
    server
        .http
        .patch(format!("{base}/api/v1/interpreters/rosa"))
        .bearer_auth(COORDINATOR)
        .json(&json!({"phone": "+529670000000"}))
        .send()
        .await
        .unwrap();
    css(&desk, "#it-name").await.clear().await.unwrap();
    type_into(&desk, "#it-name", "Rosa M.").await;
    click(&desk, "#save-interpreter").await;
    let error = text(&desk, "#interpreter-error:not(:empty)").await;
    assert!(error.contains("Vuelva a cargar"), "{error}");
    let rosa = server.get("/interpreters/rosa", COORDINATOR).await;
    assert_eq!(rosa["name"], "Rosa María", "the stale edit saved nothing");
    assert_eq!(rosa["phone"], "+529670000000", "the other edit is kept");
    desk.close().await.unwrap();
    server.app.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_reconnects_by_itself_after_the_server_restarts() {
    let driver = Driver::start().await;
    let first = server().await;
    let addr = first.app.addr;
    let operator = driver.browser(1024, 768).await;
    sign_in(&operator, &first.base, OPERATOR, "/operator").await;

    // The server goes away: the page says it is reconnecting rather than showing stale calm.
    first.app.shutdown().await.unwrap();
    let badge = text(&operator, "#connection[data-state='reconnecting']").await;
    assert_eq!(badge, "Reconectando…");

    // It comes back on the same address; the page picks the stream up again unaided.
    let second = server_on(&addr.to_string(), &[]).await;
    css(&operator, "#connection[data-state='live']").await;
    let id = second.request("tzo").await;
    css(&operator, &format!("li.card[data-request-id='{id}']")).await;
    operator.close().await.unwrap();
    second.app.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_picks_among_candidates_and_detected_languages() {
    let driver = Driver::start().await;
    let server = server().await;
    let operator = driver.browser(1280, 900).await;
    sign_in(&operator, &server.base, OPERATOR, "/operator").await;

    // "Tepehuano" is two languages: the API's message and one button per candidate.
    type_into(&operator, "#language", "tepehuano").await;
    close_suggestions(&operator).await;
    click(&operator, "#request-submit").await;
    let error = text(&operator, "#form-error:not(:empty)").await;
    assert!(error.contains("tepehuano"), "{error}");
    css(&operator, "#language[aria-invalid='true']").await;
    let choices = operator
        .find_all(Locator::Css("#candidates button"))
        .await
        .unwrap();
    assert_eq!(choices.len(), 2);
    choices[0].click().await.unwrap();
    let card = text(&operator, "li.card").await;
    assert!(card.to_lowercase().contains("tepehuano"), "{card}");
    assert_eq!(
        text(&operator, "#form-error").await,
        "",
        "the error goes once it is resolved"
    );

    // A chat message in Maya: detection offers the language, one click fills the field.
    type_into(&operator, "#chat-text", "Bix a beel? Teen ku kaajtal tu kaajil Valladolid, kʼaʼabet in wáantaʼal tumeen yaan talamil ichil in naajil").await;
    click(&operator, "#detect").await;
    click(&operator, "#detect-result button").await;
    let field = css(&operator, "#language")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(field.as_deref(), Some("yua"));
    let hint = text(&operator, "#language-match:not(:empty)").await;
    assert!(hint.contains("yua"), "{hint}");
    operator.close().await.unwrap();
    server.app.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_bridge_puts_the_request_back_and_frees_the_interpreter() {
    let driver = Driver::start().await;
    let server = server().await;
    let base = &server.base;
    let token = server.interpreter("ana", "Ana López", "tzo").await;
    let phone = on_call(&driver, base, &token).await;

    let operator = driver.browser(1280, 900).await;
    sign_in(&operator, base, OPERATOR, "/operator").await;
    let id = server.request("tzo").await;
    click(&phone, "li.offer [data-action='accept']").await;
    let card = format!("li.card[data-request-id='{id}']");
    click(
        &operator,
        &format!("{card}[data-state='connected'] [data-action='bridge-failed']"),
    )
    .await;
    // The request waits again; Ana's phone no longer shows a call in progress.
    css(&operator, &format!("{card}:not([data-state='connected'])")).await;
    css(&phone, "#no-session:not([hidden])").await;
    operator.close().await.unwrap();
    phone.close().await.unwrap();
    server.app.shutdown().await.unwrap();
}

/// A signed WhatsApp delivery, as Meta would post it.
async fn whatsapp(server: &Server, id: &str, text: &str) {
    let body = common::graph::delivery(id, "5219671112233", text);
    let res = server
        .http
        .post(format!("{}/webhooks/whatsapp", server.base))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            common::graph::sign("browser-secret", &body),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// WhatsApp on (sending to a Graph API double), Carmen (Maya) on call on her phone, and an
/// operator at a desk.
async fn chat_desk(driver: &Driver) -> (common::graph::Graph, Server, Client, Client) {
    let graph = common::graph::Graph::start().await;
    let vars = graph.vars("browser-verify", "browser-secret");
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = server_on("127.0.0.1:0", &vars).await;
    let token = server.interpreter("carmen", "Carmen Pool", "yua").await;
    let phone = on_call(driver, &server.base, &token).await;
    let operator = driver.browser(1280, 900).await;
    sign_in(&operator, &server.base, OPERATOR, "/operator").await;
    (graph, server, phone, operator)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_chat_is_read_and_answered_from_both_consoles() {
    let driver = Driver::start().await;
    let (graph, server, phone, operator) = chat_desk(&driver).await;

    // A caller writes in Maya: the operator's screen shows the request and the words.
    let maya = "Bix a beel? Kʼaʼabet in wáantaʼal, yaan talamil ichil in naajil";
    whatsapp(&server, "wamid.B1", maya).await;
    let said = text(&operator, "li.card .chat-log li[data-from='caller'] .text").await;
    assert_eq!(said, maya);
    css(&operator, "li.card .chat-log li[data-from='puente']").await;

    // Carmen accepts on her phone and reads the conversation there.
    click(&phone, "li.offer [data-action='accept']").await;
    let seen = text(&phone, "#session .chat-log li[data-from='caller'] .text").await;
    assert_eq!(seen, maya);
    check_page(&phone, "es-MX", "the chat is labelled for everyone").await;
    assert_eq!(
        horizontal_overflow(&phone).await,
        0,
        "usable at 360 px wide"
    );

    // She answers; the operator sees it at once, and so does the caller.
    let reply = "Bix a beel, in kʼaabaʼe Carmen";
    type_into(&phone, "#session .chat-form textarea", reply).await;
    click(&phone, "#session [data-action='chat-send']").await;
    let relayed = text(
        &operator,
        "li.card .chat-log li[data-from='interpreter'] .text",
    )
    .await;
    assert_eq!(relayed, reply);
    let out = graph.nth(3).await;
    assert_eq!(out["text"]["body"], format!("Intérprete: {reply}"));

    // The operator writes too; the caller answers; both screens follow, in order.
    type_into(
        &operator,
        "li.card .chat-form textarea",
        "Estamos con usted",
    )
    .await;
    click(&operator, "li.card [data-action='chat-send']").await;
    css(&phone, "#session .chat-log li[data-from='operator']").await;
    whatsapp(&server, "wamid.B2", "Dios bootik").await;
    for c in [&operator, &phone] {
        let last = text(c, ".chat-log li[data-seq='6'] .text").await;
        assert_eq!(last, "Dios bootik");
    }
    let order = operator
        .execute(
            "return [...document.querySelectorAll('li.card .chat-log li')].map((li) => li.dataset.from);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        order,
        json!([
            "caller",
            "puente",
            "puente",
            "interpreter",
            "operator",
            "caller"
        ])
    );
    check_page(&operator, "es-MX", "the operator's chat is labelled").await;
    screenshot(&operator, "operator-chat").await;
    screenshot(&phone, "interpreter-chat").await;

    operator.close().await.unwrap();
    phone.close().await.unwrap();
    server.app.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_answers_a_spanish_chat_and_asks_for_an_interpreter() {
    let driver = Driver::start().await;
    let (graph, server, phone, operator) = chat_desk(&driver).await;
    css(
        &operator,
        "#conversations-panel:not([hidden]) #no-conversations:not([hidden])",
    )
    .await;

    // Spanish: no interpreter is asked for, but the operators see it at once.
    let words = "Hola, necesito ayuda, no me dejan salir de la casa";
    whatsapp(&server, "wamid.C1", words).await;
    let item = "#conversations li[data-conversation-id]";
    let said = text(
        &operator,
        &format!("{item} .chat-log li[data-from='caller'] .text"),
    )
    .await;
    assert_eq!(said, words);
    type_into(
        &operator,
        &format!("{item} .chat-form textarea"),
        "Estamos con usted",
    )
    .await;
    click(&operator, &format!("{item} [data-action='chat-send']")).await;
    css(
        &operator,
        &format!("{item} .chat-log li[data-from='operator']"),
    )
    .await;
    assert_eq!(
        graph.nth(2).await["text"]["body"],
        "Operadora: Estamos con usted"
    );
    check_page(&operator, "es-MX", "the conversations are labelled").await;

    // The caller speaks Maya: the operator asks for an interpreter from the conversation.
    type_into(
        &operator,
        &format!("{item} [data-action='ask-language']"),
        "maya",
    )
    .await;
    click(&operator, &format!("{item} [data-action='ask']")).await;
    css(&operator, "#no-conversations:not([hidden])").await;
    let card = "li.card[data-request-id]";
    let kept = text(
        &operator,
        &format!("{card} .chat-log li[data-from='operator'] .text"),
    )
    .await;
    assert_eq!(
        kept, "Estamos con usted",
        "the conversation moved into the request's card"
    );
    click(&phone, "li.offer [data-action='accept']").await;
    let seen = text(&phone, "#session .chat-log li[data-from='caller'] .text").await;
    assert_eq!(seen, words);
    screenshot(&operator, "operator-conversation").await;

    operator.close().await.unwrap();
    phone.close().await.unwrap();
    server.app.shutdown().await.unwrap();
}
