//! The `puente` binary as a newcomer runs it: `serve` with the demo roster, stopped by
//! SIGTERM; `roster check` on good and bad files.

mod common;

use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_puente");

#[tokio::test]
async fn serve_demo_starts_with_the_demo_roster_and_stops_cleanly_on_sigterm() {
    let mut puente = common::Puente::spawn_with(
        &["serve", "--demo"],
        &[("PUENTE_COORDINATOR_TOKENS", "test-coordinator")],
    );
    let client = reqwest::Client::new();
    let ana: serde_json::Value = client
        .get(format!("{}/api/v1/interpreters/ana", puente.base))
        .bearer_auth("test-coordinator")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ana["id"], "ana", "the demo roster is loaded: {ana}");
    assert_eq!(ana["status"], "available");
    // The demo token works.
    let me = client
        .get(format!("{}/api/v1/interpreters/ana/offers", puente.base))
        .bearer_auth("demo-token-ana")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    let pid = puente.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = puente.child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

#[tokio::test]
async fn serve_from_the_project_folder_loads_no_roster_unless_asked() {
    // The project folder holds interpreters.toml; without --demo nor PUENTE_ROSTER, it is
    // not read, and the README's demo token opens nothing.
    let puente = common::Puente::spawn(&[("PUENTE_COORDINATOR_TOKENS", "test-coordinator")]);
    let client = reqwest::Client::new();
    let list: serde_json::Value = client
        .get(format!("{}/api/v1/interpreters", puente.base))
        .bearer_auth("test-coordinator")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["interpreters"], serde_json::json!([]), "{list}");
    let demo = client
        .get(format!("{}/api/v1/interpreters/ana/offers", puente.base))
        .bearer_auth("demo-token-ana")
        .send()
        .await
        .unwrap();
    assert_eq!(demo.status(), 401);
}

#[test]
fn the_demo_and_demo_tokens_are_refused_on_redis_with_the_reason() {
    let (url, _server) = common::redis();
    let ns = common::namespace("demo-refused");
    let run = |args: &[&str], vars: &[(&str, &str)]| {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("PUENTE_LISTEN", "127.0.0.1:0")
            .env("PUENTE_REDIS_URL", &url)
            .env("PUENTE_REDIS_NAMESPACE", &ns);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success(), "{args:?} {vars:?} must not start");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = run(&["serve", "--demo"], &[]);
    assert!(
        err.contains("--demo") && err.contains("PUENTE_REDIS_URL"),
        "{err}"
    );
    let err = run(&["serve"], &[("PUENTE_ROSTER", "interpreters.toml")]);
    assert!(
        err.contains("README") && err.contains("token_sha256"),
        "{err}"
    );
    let err = run(
        &["serve"],
        &[("PUENTE_OPERATOR_TOKENS", "demo-operator-token")],
    );
    assert!(
        err.contains("PUENTE_OPERATOR_TOKENS") && err.contains("README"),
        "{err}"
    );
}

#[test]
fn serve_refuses_a_bad_setting_and_names_it() {
    let out = Command::new(BIN)
        .arg("serve")
        .env("PUENTE_OFFER_TIMEOUT_SECS", "soon")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PUENTE_OFFER_TIMEOUT_SECS"));
}

#[test]
fn roster_check_accepts_the_demo_roster_and_reports_lines_of_problems() {
    let ok = Command::new(BIN)
        .args([
            "roster",
            "check",
            concat!(env!("CARGO_MANIFEST_DIR"), "/interpreters.toml"),
        ])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    let dir = std::env::temp_dir().join(format!("puente-roster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[[interpreter]]\nid = \"ana\"\nname = \"Ana\"\nphone = \"12345\"\nlanguages = [{ tag = \"tzo\", proficiency = 5 }]\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["roster", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(":4:") && text.contains("E.164"), "{text}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn detect_reads_lines_and_writes_tag_tab_confidence() {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("detect")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"hola necesito ayuda por favor\n1234\n\xff\xfe broken bytes\nNochi tlakamej uan siuamej kipiaj ininkuali\n")
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<(&str, f64)> = text
        .lines()
        .map(|l| {
            let (tag, conf) = l.split_once('\t').expect("tag<TAB>confidence");
            (tag, conf.parse().unwrap())
        })
        .collect();
    assert_eq!(
        lines.len(),
        4,
        "one answer per line, bad bytes included: {text}"
    );
    assert_eq!(lines[0].0, "spa");
    assert_eq!(lines[1], ("und", 0.0), "no letters");
    assert_eq!(lines[3].0, "nah");
    assert!(lines.iter().all(|(_, c)| (0.0..=1.0).contains(c)));
}

#[test]
fn prompts_lists_the_sounds_to_record_in_each_language() {
    let out = Command::new(BIN).arg("prompts").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("sounds/es_MX/puente-offer\t") && lines[0].contains("Marque 1"));
    assert!(lines[1].starts_with("sounds/en/puente-offer\t") && lines[1].contains("Press 1"));
}
