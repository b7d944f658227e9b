//! The server under test, in a child process of its own, so that its memory is its own:
//! `vbank serve`'s start-up (store, in-process PG simulators, jobs) plus, on a second
//! port, a fixed-JSON endpoint behind the same edge layers (the stack's baseline).

use axum::http::header;
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use tokio::io::AsyncReadExt;
use vbank_server::server::{start, with_edge_layers, ServeConfig};

/// About the size of one payment's JSON answer.
pub fn fixed_body() -> &'static str {
    static BODY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BODY.get_or_init(|| {
        let padding = "x".repeat(1_400);
        format!(r#"{{"code":0,"message":null,"response":{{"imp_uid":"imp_000000000000","padding":"{padding}"}}}}"#)
    })
}

/// Runs until the parent closes our stdin (or dies), printing one `ready` line.
pub async fn serve(database_url: String) -> anyhow::Result<()> {
    let localhost = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = start(ServeConfig::new(localhost, database_url)).await?;

    let metrics = std::sync::Arc::new(vbank_server::observability::Metrics::new()?);
    let fixed = with_edge_layers(
        Router::new().route(
            "/fixed",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], fixed_body()) }),
        ),
        metrics,
    );
    let listener = tokio::net::TcpListener::bind(localhost).await?;
    let fixed_addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service(fixed),
        )
        .await;
    });

    println!("ready {} http://{fixed_addr}/fixed", server.url());
    // The parent holds our stdin; its end (close or death) is our signal to stop.
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    server.shutdown().await
}
