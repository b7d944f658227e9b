//! vbank's server: the i'mport-compatible edge, the routes, the services that
//! orchestrate store and connectors, and start-up.
//!
//! Flow of a request: `edge` (wire compatibility) -> `routes` (one thin handler per
//! endpoint) -> `services` (load, ask the PG, decide with `vbank-core`, commit) ->
//! `vbank-store` and `vbank-pg`.

pub mod app;
pub mod cli;
pub mod config;
pub mod edge;
pub mod jobs;
pub mod listener;
pub mod observability;
pub mod openapi;
mod routes;
pub mod server;
pub mod services;
