//! The server under test, in a child process of its own, so that its memory is its own:
//! `vbank serve`'s start-up (store, jobs) plus, on a second port, a fixed-JSON endpoint
//! behind the same edge layers (the stack's baseline). The PG simulators run in another
//! process (`vbank sandbox`'s start-up), as a real PG would: their record of every
//! account issued is theirs, not the server's.

use axum::http::header;
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use tokio::io::AsyncReadExt;
use vbank_server::server::{start, with_edge_layers, SandboxMode, ServeConfig};

/// About the size of one payment's JSON answer.
pub fn fixed_body() -> &'static str {
    static BODY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BODY.get_or_init(|| {
        let padding = "x".repeat(1_400);
        format!(r#"{{"code":0,"message":null,"response":{{"imp_uid":"imp_000000000000","padding":"{padding}"}}}}"#)
    })
}

/// Runs until the parent closes our stdin (or dies), printing one `ready` line.
pub async fn serve(database_url: String, addr: SocketAddr, sandbox_url: String) -> anyhow::Result<()> {
    let localhost = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut config = ServeConfig::new(addr, database_url);
    config.sandbox = SandboxMode::External(sandbox_url);
    let mut server = start(config).await?;

    let metrics = std::sync::Arc::new(vbank_server::observability::Metrics::new()?);
    let limits = vbank_server::listener::Limits::default();
    let fixed = with_edge_layers(
        Router::new().route(
            "/fixed",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], fixed_body()) }),
        ),
        metrics,
        limits.request_timeout,
    );
    let listener = tokio::net::TcpListener::bind(localhost).await?;
    let fixed_addr = listener.local_addr()?;
    tokio::spawn(vbank_server::listener::serve(
        listener,
        fixed,
        limits,
        std::future::pending(),
    ));

    println!("ready {} http://{fixed_addr}/fixed", server.url());
    // The parent holds our stdin; its end (close or death) is our signal to stop.
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    server.shutdown().await
}

/// The PG simulators, notifying the server at `notify_url`; one `ready` line, then until
/// stdin closes.
pub async fn sandbox(addr: SocketAddr, notify_url: String) -> anyhow::Result<()> {
    let sandbox = vbank_sandbox::Sandbox::new(vbank_sandbox::SandboxConfig::new(notify_url));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, sandbox.router()).await;
    });
    println!("ready http://{addr} -");
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    Ok(())
}
