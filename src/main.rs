//! The `puente` command: `serve`, `roster check FILE`.

use std::process::ExitCode;

use puente::config::Config;
use puente::language::Catalogue;

const USAGE: &str = "\
usage:
  puente serve               run the router (configuration from PUENTE_* variables, see API.md)
  puente roster check FILE   validate a roster file and list each problem with its line
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["serve"] => serve(),
        ["roster", "check", file] => roster_check(file),
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

fn serve() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = match Config::from_vars(std::env::vars()) {
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
    let app = puente::startup::start(&config, listener).await?;
    tracing::info!(addr = %app.addr, "puente listening");
    tokio::select! {
        result = shutdown_signal() => result?,
        _ = std::future::pending::<()>() => {}
    }
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
    match puente::roster::parse_roster(&text, &Catalogue::embedded()) {
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
