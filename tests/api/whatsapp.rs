//! The WhatsApp webhook, as Meta calls it: the handshake and signed deliveries.

use serde_json::{json, Value};

use crate::common;
use crate::common::graph::{self, delivery, Graph};
use crate::helpers::{spawn_app, Events, TestApp, COORDINATOR, OPERATOR};

const SECRET: &str = "test-app-secret";
const VERIFY: &str = "test-verify-token";
const CALLER: &str = "5219671234567";

async fn post(app: &TestApp, body: &Value, signature: Option<String>) -> (u16, Value) {
    let raw = body.to_string();
    let mut rb = app
        .client
        .post(format!("{}/webhooks/whatsapp", app.base))
        .header("content-type", "application/json")
        .body(raw.clone());
    if let Some(s) = signature {
        rb = rb.header("x-hub-signature-256", s);
    }
    let res = rb.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn sign(body: &Value) -> String {
    graph::sign(SECRET, body)
}

const MAYA: &str = "Bix a beel? Teen ku kaajtal tu kaajil Valladolid, kʼaʼabet in wáantaʼal tumeen yaan talamil ichil in naajil";

#[tokio::test]
async fn a_signed_maya_message_opens_one_chat_request_and_the_number_stays_hidden() {
    let app = spawn_app(&[
        ("PUENTE_WHATSAPP_VERIFY_TOKEN", VERIFY),
        ("PUENTE_WHATSAPP_APP_SECRET", SECRET),
    ])
    .await;
    // The handshake.
    let url = |token: &str| {
        format!("{}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444", app.base)
    };
    let ok = app.client.get(url(VERIFY)).send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let wrong = app.client.get(url("guess")).send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 403);
    // Values are form-encoded: the token and the challenge come back decoded.
    let encoded = format!(
        "{}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=test-verify%2Dtoken&hub.challenge=a+b%2Fc%E2%9C%93",
        app.base
    );
    let ok = app.client.get(encoded).send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.text().await.unwrap(), "a b/c✓");
    let missing = format!("{}/webhooks/whatsapp?hub.mode=subscribe", app.base);
    assert_eq!(
        app.client
            .get(missing)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );

    let carmen = app.add_interpreter("carmen", &[("yua", 5)]).await;
    let requests = || async {
        app.get("/api/v1/requests", OPERATOR).await.expect(200)["requests"]
            .as_array()
            .unwrap()
            .len()
    };

    // A bad or missing signature: 401, nothing created.
    let body = delivery("wamid.1", CALLER, MAYA);
    let (status, err) = post(&app, &body, Some("sha256=00".into())).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (401, Some("invalid_signature"))
    );
    assert_eq!(post(&app, &body, None).await.0, 401);
    let tampered = delivery("wamid.1", CALLER, "otra cosa");
    assert_eq!(post(&app, &tampered, Some(sign(&body))).await.0, 401);
    assert_eq!(requests().await, 0);

    // Signed: a chat request in Maya, offered to Carmen.
    let (status, answer) = post(&app, &body, Some(sign(&body))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["requests"].as_array().unwrap().len(), 1);
    let id = answer["requests"][0].as_str().unwrap().to_string();
    let req = app.request(&id).await;
    assert_eq!(req["channel"], "chat");
    assert_eq!(req["language"]["tag"], "yua");
    let offer = app.wait_offer("carmen", &carmen, 2).await;

    // WhatsApp retries the same delivery; the caller writes again: still one request.
    let (_, again) = post(&app, &body, Some(sign(&body))).await;
    assert_eq!(again["handled"], 0);
    let more = delivery("wamid.2", CALLER, MAYA);
    let (_, more) = post(&app, &more, Some(sign(&more))).await;
    assert_eq!(
        (
            more["handled"].as_i64(),
            more["requests"].as_array().unwrap().len()
        ),
        (Some(1), 0)
    );
    // Spanish needs no interpreter.
    let es = delivery(
        "wamid.3",
        "5215512345678",
        "Hola, necesito ayuda, me tienen encerrada y no me dejan salir",
    );
    let (_, es) = post(&app, &es, Some(sign(&es))).await;
    assert_eq!(es["requests"].as_array().unwrap().len(), 0);
    assert_eq!(requests().await, 1);

    // Whatever the interpreter can read never carries the caller's number.
    app.accept(offer["id"].as_str().unwrap(), &carmen)
        .await
        .expect(200);
    let seen = [
        offer.to_string(),
        app.get(&format!("/api/v1/requests/{id}"), &carmen)
            .await
            .expect(200)
            .to_string(),
        app.get("/api/v1/interpreters/carmen", &carmen)
            .await
            .expect(200)
            .to_string(),
        app.get("/api/v1/requests", COORDINATOR)
            .await
            .expect(200)
            .to_string(),
    ];
    for s in seen {
        assert!(!s.contains("9671234567"), "the caller's number leaked: {s}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn without_whatsapp_settings_the_webhook_does_not_exist() {
    let app = spawn_app(&[]).await;
    let res = app
        .client
        .post(format!("{}/webhooks/whatsapp", app.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    app.shutdown().await;
}

fn whatsapp_vars(graph: &Graph) -> Vec<(&'static str, String)> {
    graph.vars(VERIFY, SECRET)
}

async fn messages(app: &TestApp, id: &str, token: &str) -> Vec<(String, String)> {
    app.get(&format!("/api/v1/requests/{id}/messages"), token)
        .await
        .expect(200)["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["from"].as_str().unwrap().to_string(),
                m["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const MAYA_AGAIN: &str = "Jach kʼaʼabet in wáantaʼal, mix máak ku yáantik";

/// Signed webhook in → request → accept → messages both ways → completion, through
/// `intake` (which gets Meta's webhooks) and `desk` (where operator and interpreter work).
async fn relay_three_ways(intake: &TestApp, desk: &TestApp, graph: &Graph) {
    let carmen = desk.add_interpreter("carmen", &[("yua", 5)]).await;
    let mut operator_events = Events::open(desk, OPERATOR).await;

    let first = delivery("wamid.A1", CALLER, MAYA);
    let (status, answer) = post(intake, &first, Some(sign(&first))).await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["requests"][0].as_str().unwrap().to_string();
    // puente greets the caller, in the hotline's Spanish, naming the language.
    let greeting = graph.nth(1).await;
    assert_eq!(greeting["to"], CALLER);
    let text = greeting["text"]["body"].as_str().unwrap();
    assert!(
        text.starts_with("Recibimos su mensaje") && text.contains("maya"),
        "{text}"
    );

    // The operator reads the caller's words at once (decrypted for them only).
    let seen = operator_events
        .until("message", 5, |m| {
            m["request"] == id.as_str() && m["from"] == "caller"
        })
        .await;
    assert_eq!(seen["text"], MAYA);
    assert_eq!(seen["seq"], 1);
    // Before accepting, the interpreter may not read the conversation.
    assert_eq!(
        desk.get(&format!("/api/v1/requests/{id}/messages"), &carmen)
            .await
            .code(),
        "forbidden"
    );

    // Carmen accepts: the caller is told, and she reads the conversation so far.
    let offer = desk.wait_offer("carmen", &carmen, 5).await;
    let mut carmen_events = Events::open(desk, &carmen).await;
    desk.accept(offer["id"].as_str().unwrap(), &carmen)
        .await
        .expect(200);
    let joined = graph.nth(2).await;
    assert!(joined["text"]["body"]
        .as_str()
        .unwrap()
        .starts_with("Una intérprete de maya"));
    let so_far = messages(desk, &id, &carmen).await;
    assert_eq!(so_far[0], ("caller".into(), MAYA.into()));
    assert_eq!(so_far.len(), 3, "caller, greeting, joined: {so_far:?}");

    // Carmen writes; the caller receives it signed "Intérprete"; the operator sees it live.
    let reply = desk
        .post(
            &format!("/api/v1/requests/{id}/messages"),
            &carmen,
            json!({"text": "Bix a beel? In kʼaabaʼe Carmen, tene jeʼel in wáantikech"}),
        )
        .await
        .expect(201);
    assert_eq!(
        (reply["from"].as_str(), reply["delivered"].as_bool()),
        (Some("interpreter"), Some(true))
    );
    let out = graph.nth(3).await;
    assert_eq!(out["to"], CALLER);
    assert_eq!(
        out["text"]["body"],
        "Intérprete: Bix a beel? In kʼaabaʼe Carmen, tene jeʼel in wáantikech"
    );
    operator_events
        .until("message", 5, |m| m["from"] == "interpreter")
        .await;

    // The operator writes too.
    desk.post(
        &format!("/api/v1/requests/{id}/messages"),
        OPERATOR,
        json!({"text": "Estamos con usted."}),
    )
    .await
    .expect(201);
    assert_eq!(
        graph.nth(4).await["text"]["body"],
        "Operadora: Estamos con usted."
    );

    // The caller answers; WhatsApp delivers it twice: one message, in the same request,
    // live on the interpreter's stream.
    let second = delivery("wamid.A2", CALLER, MAYA_AGAIN);
    for _ in 0..2 {
        let (status, answer) = post(intake, &second, Some(sign(&second))).await;
        assert_eq!(
            (status, answer["requests"].as_array().unwrap().len()),
            (200, 0)
        );
    }
    let live = carmen_events
        .until("message", 5, |m| {
            m["from"] == "caller" && m["text"] == MAYA_AGAIN
        })
        .await;
    assert_eq!(live["request"], id.as_str());

    let all = messages(desk, &id, OPERATOR).await;
    let from: Vec<&str> = all.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        from,
        [
            "caller",
            "puente",
            "puente",
            "interpreter",
            "operator",
            "caller"
        ]
    );
    // Nothing the interpreter can read carries the caller's number.
    for body in [
        desk.get(&format!("/api/v1/requests/{id}/messages"), &carmen)
            .await
            .expect(200),
        desk.get(&format!("/api/v1/requests/{id}"), &carmen)
            .await
            .expect(200),
    ] {
        assert!(!body.to_string().contains(&CALLER[3..]), "{body}");
    }

    // Done: the conversation is closed to new messages from puente's side.
    desk.post(
        &format!("/api/v1/requests/{id}/complete"),
        &carmen,
        json!({}),
    )
    .await
    .expect(200);
    let late = desk
        .post(
            &format!("/api/v1/requests/{id}/messages"),
            OPERATOR,
            json!({"text": "¿Sigue ahí?"}),
        )
        .await;
    assert_eq!(late.code(), "invalid_state");
    assert_eq!(graph.sent().len(), 4);
    // The interpreter's access ended with the session; the operators still read it.
    let after = desk
        .get(&format!("/api/v1/requests/{id}/messages"), &carmen)
        .await;
    assert_eq!(after.status, 403, "{}", after.body);
    assert!(!messages(desk, &id, OPERATOR).await.is_empty());
}

#[tokio::test]
async fn a_chat_is_relayed_three_ways_in_order_without_duplicates() {
    let graph = Graph::start().await;
    let vars = whatsapp_vars(&graph);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app(&vars).await;
    relay_three_ways(&app, &app, &graph).await;

    // Bad requests: a phone request has no conversation; text must be there.
    let phone = app.post_request("tsotsil", "normal").await;
    let pid = phone["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/api/v1/requests/{pid}/messages"),
            OPERATOR,
            json!({"text": "hola"}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "not_a_chat"));
    let r = app
        .post(
            &format!("/api/v1/requests/{pid}/messages"),
            OPERATOR,
            json!({"text": 5}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422);
    app.shutdown().await;
}

/// Two instances on Redis: Meta reaches one, people work on the other. Afterwards no key
/// or value in Redis holds the caller's number or anything anyone wrote.
#[tokio::test]
async fn a_chat_is_relayed_across_instances_and_redis_holds_no_number_or_text() {
    let (url, _server) = common::redis();
    let graph = Graph::start().await;
    let ns = common::namespace("chat");
    let mut vars = whatsapp_vars(&graph);
    vars.push(("PUENTE_REDIS_URL", url.clone()));
    vars.push(("PUENTE_REDIS_NAMESPACE", ns.clone()));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let intake = spawn_app(&vars).await;
    let desk = spawn_app(&vars).await;
    relay_three_ways(&intake, &desk, &graph).await;

    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{{{ns}}}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(keys.iter().any(|k| k.contains("chat:")), "{keys:?}");
    let mut everything = keys.join("\n");
    for k in &keys {
        let kind: String = redis::cmd("TYPE")
            .arg(k)
            .query_async(&mut conn)
            .await
            .unwrap();
        let mut cmd = redis::cmd(match kind.as_str() {
            "string" => "GET",
            "list" => "LRANGE",
            "set" => "SMEMBERS",
            "zset" => "ZRANGE",
            "hash" => "HGETALL",
            other => panic!("unexpected key type {other} for {k}"),
        });
        cmd.arg(k);
        if matches!(kind.as_str(), "list" | "zset") {
            cmd.arg(0).arg(-1);
        }
        let values: Vec<String> = if kind == "string" {
            vec![cmd.query_async(&mut conn).await.unwrap()]
        } else {
            cmd.query_async(&mut conn).await.unwrap()
        };
        everything.push_str(&values.join("\n"));
    }
    for secret in [
        &CALLER[3..],
        "Valladolid",
        "Carmen",
        "Estamos con usted",
        "Recibimos",
    ] {
        assert!(
            !everything.contains(secret),
            "Redis holds {secret:?} in clear"
        );
    }
    intake.shutdown().await;
    desk.shutdown().await;
}

/// Nobody takes the chat in time: the caller is told, and an operator can still write.
#[tokio::test]
async fn an_unfilled_chat_tells_the_caller_and_stays_open_to_operators() {
    let graph = Graph::start().await;
    let mut vars = whatsapp_vars(&graph);
    vars.push(("PUENTE_UNFILLED_AFTER_SECS", "1".into()));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app(&vars).await;
    let first = delivery("wamid.U1", CALLER, MAYA);
    let (_, answer) = post(&app, &first, Some(sign(&first))).await;
    let id = answer["requests"][0].as_str().unwrap().to_string();
    let told = graph.nth(2).await;
    assert!(
        told["text"]["body"]
            .as_str()
            .unwrap()
            .starts_with("En este momento no encontramos intérprete de maya"),
        "{told}"
    );
    assert_eq!(app.request(&id).await["state"], "unfilled");
    let sent = app
        .post(
            &format!("/api/v1/requests/{id}/messages"),
            OPERATOR,
            json!({"text": "¿Podemos llamarle?"}),
        )
        .await
        .expect(201);
    assert_eq!(sent["delivered"], true);
    assert_eq!(
        graph.nth(3).await["text"]["body"],
        "Operadora: ¿Podemos llamarle?"
    );
    app.shutdown().await;
}

/// A message that needs no interpreter is not lost: operators see the conversation, answer
/// it, and can ask for an interpreter; a later message in an indigenous language asks by
/// itself.
#[tokio::test]
async fn a_spanish_message_reaches_the_operators_who_answer_and_can_ask_for_an_interpreter() {
    let graph = Graph::start().await;
    let vars = whatsapp_vars(&graph);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app(&vars).await;
    let carmen = app.add_interpreter("carmen", &[("yua", 5)]).await;
    let mut operator_events = Events::open(&app, OPERATOR).await;

    let es = delivery(
        "wamid.S1",
        CALLER,
        "Hola, necesito ayuda, me tienen encerrada y no me dejan salir",
    );
    let (_, answer) = post(&app, &es, Some(sign(&es))).await;
    assert_eq!(answer["requests"], json!([]));
    let greeting = graph.nth(1).await;
    assert_eq!(
        greeting["text"]["body"],
        "Recibimos su mensaje. Una operadora le responderá aquí."
    );
    let live = operator_events
        .until("message", 5, |m| m["from"] == "caller")
        .await;
    let id = live["request"].as_str().unwrap().to_string();

    // The operators' list: the conversation, no request yet, the caller's words.
    let list = app.get("/api/v1/conversations", OPERATOR).await.expect(200);
    let c = &list["conversations"][0];
    assert_eq!(
        (c["id"].as_str(), &c["request"]),
        (Some(id.as_str()), &Value::Null)
    );
    assert_eq!(
        c["messages"][0]["text"],
        "Hola, necesito ayuda, me tienen encerrada y no me dejan salir"
    );
    for who in [COORDINATOR, carmen.as_str()] {
        assert_eq!(
            app.get("/api/v1/conversations", who).await.code(),
            "forbidden"
        );
        assert_eq!(
            app.get(&format!("/api/v1/conversations/{id}/messages"), who)
                .await
                .code(),
            "forbidden"
        );
    }

    // An operator answers in Spanish.
    let sent = app
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            OPERATOR,
            json!({"text": "Estamos con usted. ¿Puede decirnos dónde está?"}),
        )
        .await
        .expect(201);
    assert_eq!(sent["delivered"], true);
    assert_eq!(
        graph.nth(2).await["text"]["body"],
        "Operadora: Estamos con usted. ¿Puede decirnos dónde está?"
    );

    // The caller goes on in Maya: the conversation becomes a request, same id, history kept.
    let maya = delivery("wamid.S2", CALLER, MAYA);
    let (_, answer) = post(&app, &maya, Some(sign(&maya))).await;
    assert_eq!(answer["requests"], json!([id.as_str()]));
    let req = app.request(&id).await;
    assert_eq!(
        (req["channel"].as_str(), req["language"]["tag"].as_str()),
        (Some("chat"), Some("yua"))
    );
    let offer = app.wait_offer("carmen", &carmen, 5).await;
    app.accept(offer["id"].as_str().unwrap(), &carmen)
        .await
        .expect(200);
    let history = messages(&app, &id, &carmen).await;
    let from: Vec<&str> = history.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        from,
        ["caller", "puente", "operator", "caller", "puente", "puente"]
    );

    // Another caller writes something the detector cannot place; an operator asks for an
    // interpreter by hand.
    let unclear = delivery("wamid.S3", "5215598765432", "ok ok");
    post(&app, &unclear, Some(sign(&unclear))).await;
    let other = app
        .wait_for(5, || async {
            let list = app.get("/api/v1/conversations", OPERATOR).await.expect(200);
            list["conversations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] != id.as_str())
                .map(|c| c["id"].as_str().unwrap().to_string())
        })
        .await
        .expect("a second conversation");
    let asked = app
        .post(
            &format!("/api/v1/conversations/{other}/request"),
            OPERATOR,
            json!({"language": "tsotsil", "priority": "urgent"}),
        )
        .await
        .expect(201);
    assert_eq!(
        (asked["id"].as_str(), asked["priority"].as_str()),
        (Some(other.as_str()), Some("urgent"))
    );
    let again = app
        .post(
            &format!("/api/v1/conversations/{other}/request"),
            OPERATOR,
            json!({"language": "tsotsil"}),
        )
        .await;
    assert_eq!(again.code(), "already_exists");
    let unknown = app
        .post(
            "/api/v1/conversations/req_nope/request",
            OPERATOR,
            json!({"language": "tsotsil"}),
        )
        .await;
    assert_eq!(unknown.code(), "not_found");
    app.shutdown().await;
}

/// When handling a message fails after WhatsApp's delivery was accepted for handling, the
/// message is released: Meta's retry (it retries on an error status) is handled, not
/// dropped as a duplicate.
#[tokio::test]
async fn a_message_whose_handling_fails_is_handled_on_the_retry() {
    let (url, _server) = common::redis();
    let ns = common::namespace("retry");
    let vars = [
        ("PUENTE_WHATSAPP_VERIFY_TOKEN", VERIFY),
        ("PUENTE_WHATSAPP_APP_SECRET", SECRET),
        ("PUENTE_REDIS_URL", url.as_str()),
        ("PUENTE_REDIS_NAMESPACE", ns.as_str()),
    ];
    let app = spawn_app(&vars).await;
    // Break the caller's conversation key (a list where a string belongs): handling fails.
    let caller =
        puente::adapters::whatsapp::caller_key(&secrecy::SecretString::from(SECRET), CALLER);
    let broken = format!("{{{ns}}}:memo:wa:conv:{caller}");
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg(&broken)
        .arg("x")
        .query_async(&mut conn)
        .await
        .unwrap();
    let body = delivery("wamid.R1", CALLER, MAYA);
    let (status, err) = post(&app, &body, Some(sign(&body))).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (500, Some("internal"))
    );

    // Repaired; Meta retries the same delivery: it is handled, once.
    let _: () = redis::cmd("DEL")
        .arg(&broken)
        .query_async(&mut conn)
        .await
        .unwrap();
    let (status, answer) = post(&app, &body, Some(sign(&body))).await;
    assert_eq!(
        (status, answer["handled"].as_i64()),
        (200, Some(1)),
        "{answer}"
    );
    assert_eq!(answer["requests"].as_array().unwrap().len(), 1);
    let (_, again) = post(&app, &body, Some(sign(&body))).await;
    assert_eq!(again["handled"], 0);
    app.shutdown().await;
}
