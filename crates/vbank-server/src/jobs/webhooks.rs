//! The webhook dispatcher: delivers every outbox event to the merchant, at least once,
//! in i'mport's body (JSON or form per merchant) with Standard Webhooks signature
//! headers, retrying on network errors and non-2xx answers on the configured schedule,
//! and keeping every attempt.

use crate::app::AppState;
use crate::edge::ApiResult;
use crate::jobs::pause;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use vbank_core::WebhookFormat;
use vbank_store::{DeliveryAttempt, DeliveryJob, DeliveryState};

const BATCH: u32 = 32;

/// The client webhooks are sent with. Unless private destinations are allowed, it
/// connects only to public addresses: its resolver drops private ones from every answer,
/// so a name that passed `forbidden_destination` cannot be re-pointed at this machine or
/// its network between the check and the connection (DNS rebinding).
pub fn http_client(allow_private: bool) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        // A webhook URL answering with a redirect does not get to point vbank elsewhere.
        .redirect(reqwest::redirect::Policy::none());
    let builder = if allow_private {
        builder
    } else {
        builder.dns_resolver(Arc::new(PublicAddressesOnly))
    };
    builder.build().unwrap_or_default()
}

/// A resolver that answers only the public addresses of a name.
struct PublicAddressesOnly;

impl reqwest::dns::Resolve for PublicAddressesOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let public: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| !is_private(address.ip()))
                .collect();
            if public.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves to no public address; webhooks go to public addresses only").into();
                return Err(refused);
            }
            let addresses: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addresses)
        })
    }
}

pub async fn run(state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    let http = http_client(state.settings.allow_private_webhooks);
    loop {
        match pass(&state, &http).await {
            // A full batch: there may be more right away.
            Ok(claimed) if claimed == BATCH as usize => continue,
            Ok(_) => {}
            Err(error) => tracing::warn!(?error, "webhook pass failed; retrying"),
        }
        tokio::select! {
            () = state.webhook_wakeup.notified() => {}
            keep_going = pause(Duration::from_secs(1), &mut stop) => if !keep_going { return },
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Expands new events into deliveries and attempts the due ones. Returns how many.
pub async fn pass(state: &AppState, http: &reqwest::Client) -> ApiResult<usize> {
    let now = state.clock.now();
    state.store.expand_outbox(now, 256).await?;
    let lease_until = now + state.settings.job_lease.as_secs() as i64;
    let jobs = state.store.claim_deliveries(now, lease_until, BATCH).await?;
    let mut attempts = tokio::task::JoinSet::new();
    let allow_private = state.settings.allow_private_webhooks;
    for job in jobs.iter().cloned() {
        let http = http.clone();
        attempts.spawn(async move {
            if !allow_private {
                if let Some(reason) = forbidden_destination(&job.url).await {
                    let refused = DeliveryAttempt {
                        at: chrono::Utc::now().timestamp(),
                        http_status: None,
                        latency_ms: 0,
                        error: Some(format!("refused: {reason}")),
                    };
                    return (job, refused, true);
                }
            }
            let attempt = attempt(&http, &job).await;
            (job, attempt, false)
        });
    }
    while let Some(joined) = attempts.join_next().await {
        let Ok((job, attempt, refused)) = joined else { continue };
        let state_after = if refused {
            DeliveryState::Failed
        } else {
            next_state(&state.settings.webhook_retry_schedule, &job, &attempt)
        };
        state.metrics.webhook_attempt(match state_after {
            DeliveryState::Delivered => "delivered",
            DeliveryState::RetryAt(_) => "retry",
            DeliveryState::Failed => "failed",
        });
        state
            .store
            .record_attempt(job.delivery_id, &attempt, state_after)
            .await?;
    }
    Ok(jobs.len())
}

/// Why a webhook URL may not be called: anything but http(s), or a host that resolves to
/// this machine or a private network (no request forgery through `notice_url`). Allowed in
/// sandbox mode and with `--allow-private-webhooks`. This check gives the merchant a clear
/// reason; the client's resolver (`PublicAddressesOnly`) is what holds at connect time.
pub async fn forbidden_destination(url: &str) -> Option<String> {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Some(format!("{url} is not a URL"));
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Some(format!("{url} is not http(s)"));
    }
    let host = parsed.host_str()?.trim_matches(|c| c == '[' || c == ']').to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses = match tokio::net::lookup_host((host.as_str(), port)).await {
        Ok(addresses) => addresses.collect::<Vec<_>>(),
        Err(error) => return Some(format!("{host} does not resolve ({error})")),
    };
    addresses
        .iter()
        .find(|address| is_private(address.ip()))
        .map(|address| {
            format!(
                "{host} resolves to the private address {}; start vbank with --allow-private-webhooks to allow it",
                address.ip()
            )
        })
}

/// Loopback, private, link-local, shared and unspecified addresses.
pub fn is_private(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                // 100.64.0.0/10, carrier-grade NAT
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                // fc00::/7 unique local, fe80::/10 link-local
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(std::net::IpAddr::V4(v4)))
        }
    }
}

fn next_state(schedule: &[Duration], job: &DeliveryJob, attempt: &DeliveryAttempt) -> DeliveryState {
    if attempt.http_status.is_some_and(|status| (200..300).contains(&status)) {
        return DeliveryState::Delivered;
    }
    match schedule.get(job.attempts as usize) {
        Some(delay) => DeliveryState::RetryAt(attempt.at + delay.as_secs() as i64),
        None => DeliveryState::Failed,
    }
}

/// i'mport's webhook body: `imp_uid`, `merchant_uid`, `status`, and `cancellation_id` on cancels.
pub fn body(job: &DeliveryJob) -> (&'static str, String) {
    let mut fields = vec![
        ("imp_uid", job.imp_uid.as_str()),
        ("merchant_uid", job.merchant_uid.as_str()),
        ("status", job.status.as_str()),
    ];
    if let Some(cancellation_id) = &job.cancellation_id {
        fields.push(("cancellation_id", cancellation_id.as_str()));
    }
    match job.format {
        WebhookFormat::Json => {
            let object: serde_json::Map<String, serde_json::Value> = fields
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value.into()))
                .collect();
            ("application/json", serde_json::Value::Object(object).to_string())
        }
        WebhookFormat::Form => (
            "application/x-www-form-urlencoded",
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields)
                .finish(),
        ),
    }
}

/// Standard Webhooks: `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), the
/// key being the base64 after `whsec_`.
pub fn signature(secret: &str, message_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
    Some(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

async fn attempt(http: &reqwest::Client, job: &DeliveryJob) -> DeliveryAttempt {
    let (content_type, body) = body(job);
    let at = chrono::Utc::now().timestamp();
    let message_id = format!("msg_{}", job.event_id);
    let mut request = http
        .post(&job.url)
        .header("content-type", content_type)
        .header("user-agent", "vbank-webhook/1")
        .header("webhook-id", &message_id)
        .header("webhook-timestamp", at.to_string());
    if let Some(signature) = job
        .secret
        .as_deref()
        .and_then(|secret| signature(secret, &message_id, at, &body))
    {
        request = request.header("webhook-signature", signature);
    }
    let started = Instant::now();
    let result = request.body(body).send().await;
    let latency_ms = started.elapsed().as_millis() as i64;
    match result {
        Ok(response) => {
            let status = response.status();
            DeliveryAttempt {
                at,
                http_status: Some(status.as_u16()),
                latency_ms,
                error: (!status.is_success()).then(|| format!("HTTP {status}")),
            }
        }
        Err(error) => DeliveryAttempt {
            at,
            http_status: None,
            latency_ms,
            error: Some(error.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_webhook_client_never_connects_to_a_name_that_resolves_privately() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut request = [0u8; 1024];
                let _ = socket.read(&mut request).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            }
        });
        // `localhost` is a name, so the check happens in the resolver, at connect time.
        let url = format!("http://localhost:{port}/hook");
        let refused = http_client(false).post(&url).send().await.unwrap_err();
        let chain = format!("{refused:?}");
        assert!(chain.contains("no public address"), "{chain}");
        // Allowed (sandbox mode, --allow-private-webhooks), the same call goes through.
        let allowed = http_client(true).post(&url).send().await.unwrap();
        assert_eq!(allowed.status(), 200);
    }

    #[test]
    fn private_addresses_are_recognised() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "203.0.113.7", "2001:4860:4860::8888"] {
            assert!(!is_private(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn loopback_and_non_http_destinations_are_refused() {
        assert!(forbidden_destination("http://127.0.0.1:9/hook").await.is_some());
        assert!(forbidden_destination("http://localhost/hook").await.is_some());
        assert!(forbidden_destination("http://[::1]/hook").await.is_some());
        assert!(forbidden_destination("ftp://example.com/hook").await.is_some());
        assert!(forbidden_destination("not a url").await.is_some());
    }

    #[test]
    fn signature_matches_the_standard_webhooks_reference_vector() {
        // From the Standard Webhooks specification's reference libraries.
        let signed = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signed.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }
}
