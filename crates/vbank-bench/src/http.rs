//! A lean HTTP/1.1 load client: keep-alive connections straight on hyper, reused from a
//! stack, nothing else. The clients share the machine's two cores with the server, so every
//! microsecond the load generator spends is one the server does not get; reqwest (pool,
//! resolver, redirects, per-request URL parsing) took about a third of the machine.

use axum::body::Bytes;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

type Connection = SendRequest<Full<Bytes>>;

/// Connections to one server (`http://host:port`), reused by whichever client is free.
#[derive(Clone)]
pub struct Http {
    addr: SocketAddr,
    host: HeaderValue,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl Http {
    /// For `http://127.0.0.1:PORT` (a path after it is ignored).
    pub fn new(base_url: &str) -> anyhow::Result<Http> {
        let authority = base_url
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .ok_or_else(|| anyhow::anyhow!("not an http:// URL: {base_url}"))?;
        Ok(Http {
            addr: authority.parse()?,
            host: HeaderValue::from_str(authority)?,
            idle: Arc::new(Mutex::new(Vec::new())),
        })
    }

    pub async fn get(&self, path: &str, authorization: Option<&str>) -> Result<(StatusCode, Bytes), String> {
        self.send(Method::GET, path, authorization, None).await
    }

    pub async fn delete(&self, path: &str, authorization: Option<&str>) -> Result<(StatusCode, Bytes), String> {
        self.send(Method::DELETE, path, authorization, None).await
    }

    pub async fn post_json(
        &self,
        path: &str,
        authorization: Option<&str>,
        body: &serde_json::Value,
    ) -> Result<(StatusCode, Bytes), String> {
        let body = serde_json::to_vec(body).map_err(|error| error.to_string())?;
        self.send(Method::POST, path, authorization, Some(Bytes::from(body)))
            .await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        body: Option<Bytes>,
    ) -> Result<(StatusCode, Bytes), String> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.host);
        if let Some(authorization) = authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|error| error.to_string())?;
        let mut connection = match self.take_idle() {
            Some(connection) => connection,
            None => self.connect().await?,
        };
        if connection.ready().await.is_err() {
            connection = self.connect().await?;
        }
        let response = connection
            .send_request(request)
            .await
            .map_err(|error| error.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|error| error.to_string())?
            .to_bytes();
        // Back to the stack once the answer is read whole; a closed one is dropped.
        if !connection.is_closed() {
            self.idle.lock().unwrap().push(connection);
        }
        Ok((status, body))
    }

    fn take_idle(&self) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap();
        while let Some(connection) = idle.pop() {
            if !connection.is_closed() {
                return Some(connection);
            }
        }
        None
    }

    async fn connect(&self) -> Result<Connection, String> {
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|error| format!("cannot connect to {}: {error}", self.addr))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| error.to_string())?;
        tokio::spawn(connection);
        Ok(sender)
    }
}

/// `Ok` for an i'mport success (HTTP 2xx, `{"code":0,...}`), else the answer as the error.
pub fn expect_ok(answer: Result<(StatusCode, Bytes), String>) -> Result<(), String> {
    let (status, body) = answer?;
    if status.is_success() && body.starts_with(br#"{"code":0"#) {
        Ok(())
    } else {
        Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
    }
}
