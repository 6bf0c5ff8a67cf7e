//! The `puente` command: `serve`, `roster check FILE`.

use std::process::ExitCode;

use puente::domain::language::Catalogue;
use puente::setup::config::Config;

const USAGE: &str = "\
usage:
  puente serve               run the router (configuration from PUENTE_* variables, see docs/API.md)
  puente serve --demo        the same with the demo roster of ./interpreters.toml, in memory only
  puente roster check FILE   validate a roster file and list each problem with its line
  puente prompts             print the texts to record as the PBX's sound files
  puente detect              read lines on stdin, write `tag<TAB>confidence` per line
  puente lid train [DIR]     rebuild data/lid.model from the text in DIR (default data/lid)
  puente lid eval [DIR]      cross-validate and write docs/lid-evaluation.md
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["serve"] => serve(false),
        ["serve", "--demo"] => serve(true),
        ["roster", "check", file] => roster_check(file),
        ["detect"] => detect(),
        ["prompts"] => prompts(),
        ["lid", "train"] => lid_train("data/lid", "data/lid.model"),
        ["lid", "train", dir] => lid_train(dir, "data/lid.model"),
        ["lid", "eval"] => lid_eval("data/lid", "docs/lid-evaluation.md"),
        ["lid", "eval", dir] => lid_eval(dir, "docs/lid-evaluation.md"),
        ["-h" | "--help" | "help"] => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// What to record for a telephone bridge: each sound puente plays, per language.
fn prompts() -> ExitCode {
    let prompts = puente::logic::prompts::Prompts::embedded();
    for locale in prompts.locales() {
        let text = prompts.render(locale, "phone-offer-prompt", &[]);
        println!("sounds/{}/puente-offer\t{text}", locale.sound_language());
    }
    ExitCode::SUCCESS
}

fn serve(demo: bool) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = Config::from_vars(std::env::vars()).and_then(|c| match demo {
        true => c.demo(),
        false => Ok(c),
    });
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("puente: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("puente: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("puente: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("PUENTE_LISTEN: cannot listen on {}: {e}", config.listen))?;
    let app = puente::setup::startup::start(&config, listener).await?;
    tracing::info!(addr = %app.addr, "puente listening");
    shutdown_signal().await?;
    tracing::info!("shutting down");
    app.shutdown().await?;
    Ok(())
}

async fn shutdown_signal() -> anyhow::Result<()> {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = ctrl_c => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await?;
    Ok(())
}

fn roster_check(file: &str) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{file}: cannot read: {e}");
            return ExitCode::FAILURE;
        }
    };
    match puente::setup::roster_file::parse_roster(&text, &Catalogue::embedded()) {
        Ok(entries) => {
            println!("{file}: ok, {} interpreter(s)", entries.len());
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for p in &problems {
                println!("{file}:{}: {}", p.line, p.message);
            }
            println!("{file}: {} problem(s)", problems.len());
            ExitCode::FAILURE
        }
    }
}

fn detect() -> ExitCode {
    use std::io::{BufRead, Write};
    let model = puente::logic::lid::Model::embedded();
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut input = stdin.lock();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("puente detect: cannot read stdin: {e}");
                return ExitCode::FAILURE;
            }
        }
        // Bad bytes become U+FFFD rather than stopping a batch.
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        let written = match model.detect(line) {
            Some(d) => writeln!(
                out,
                "{}\t{:.4}",
                d.candidates[0].tag, d.candidates[0].confidence
            ),
            None => writeln!(out, "und\t0"),
        };
        if written.is_err() {
            return ExitCode::SUCCESS; // The reader went away (a pipe closed).
        }
    }
    let _ = out.flush();
    ExitCode::SUCCESS
}

/// Training text from `dir`, or a message on stderr.
fn corpora(cmd: &str, dir: &str) -> Option<Vec<puente::logic::lid::train::Corpus>> {
    puente::logic::lid::data::read_corpora(std::path::Path::new(dir))
        .map_err(|e| eprintln!("puente {cmd}: {e:#}"))
        .ok()
}

fn lid_train(dir: &str, out: &str) -> ExitCode {
    let Some(corpora) = corpora("lid train", dir) else {
        return ExitCode::FAILURE;
    };
    let model = puente::logic::lid::train::train(&corpora, &Default::default());
    let bytes = model.to_bytes();
    if let Err(e) = std::fs::write(out, &bytes) {
        eprintln!("puente lid train: cannot write {out}: {e}");
        return ExitCode::FAILURE;
    }
    let h = model.header();
    println!(
        "{out}: {} labels, {} features, {} bytes, temperature {}, threshold {}",
        h.labels.len(),
        h.features,
        bytes.len(),
        h.temperature,
        h.threshold
    );
    ExitCode::SUCCESS
}

fn lid_eval(dir: &str, out: &str) -> ExitCode {
    let (Some(training), Some(held_out)) = (
        corpora("lid eval", dir),
        corpora("lid eval", "data/lid-eval"),
    ) else {
        return ExitCode::FAILURE;
    };
    let chat = match puente::logic::lid::data::read_lines(std::path::Path::new(
        "data/lid-eval/spa-chat.txt",
    )) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("puente lid eval: data/lid-eval/spa-chat.txt: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ev = puente::logic::lid::eval::evaluate(&training, &held_out, &chat, &Default::default());
    if let Err(e) = std::fs::write(out, &ev.report) {
        eprintln!("puente lid eval: cannot write {out}: {e}");
        return ExitCode::FAILURE;
    }
    print!("{}", ev.report);
    ExitCode::SUCCESS
}
