//! `traceval serve-model`: a scripted model as an OpenAI-compatible API on 127.0.0.1, and
//! the wait for Ctrl-C that `run` shares.

use std::io::Write;
use std::sync::Arc;

use super::args::ServeModelArgs;
use super::{CliError, exit};
use crate::llm::scripted::Script;
use crate::llm::server::ModelServer;

/// `traceval serve-model SCRIPT`: serves the scripted model as an OpenAI-compatible API on
/// 127.0.0.1 until Ctrl-C, printing its base URL on stdout.
pub(super) fn serve_model(args: &ServeModelArgs) -> Result<i32, CliError> {
    let script = Arc::new(Script::load(&args.script)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Infrastructure("cannot start the async runtime".into(), e))?;
    runtime.block_on(async {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], args.port));
        let server = ModelServer::start(addr, Some(script), args.seed)
            .await
            .map_err(|e| CliError::Infrastructure(format!("cannot listen on {addr}"), e))?;
        let mut out = std::io::stdout();
        writeln!(out, "{}", server.base_url()).map_err(CliError::Output)?;
        out.flush().map_err(CliError::Output)?;
        wait_for_interrupt().await;
        server.shutdown().await;
        Ok(exit::PASS)
    })
}

/// Resolves on Ctrl-C, SIGTERM (CI cancelling a job) or SIGHUP (a closed terminal).
pub(super) async fn wait_for_interrupt() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
}
