//! The OpenAPI 3.1 document (`GET /openapi.json`) and Swagger UI (`GET /docs`), generated
//! from the handlers' `#[utoipa::path]` attributes and the wire types' doc comments.
//!
//! Handlers read bodies through `edge::body::Fields` (JSON or form, as i'mport accepts), so
//! the request types here exist only to document those fields. The sandbox controls are
//! served by `vbank-sandbox`, which knows nothing of OpenAPI; they are documented here.
//! `tests/openapi.rs` checks that every route the server serves is in the document.

use crate::app::AppState;
use crate::routes;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDocument, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "vbank",
        description = "A self-hostable, wire-compatible clone of i'mport (PortOne V1)'s REST API for virtual accounts \
(가상계좌), with vbank's own additions (webhooks, payment history, sandbox controls, operations).\n\n\
Every i'mport answer is the envelope `{code, message, response}`: `code` 0 is success; a PG's refusal is \
HTTP 200 with code -1 and the PG's `[code] message`; a business refusal is HTTP 200 with code 1. \
Messages are Korean; send `Accept-Language: en` for English. Bodies may be JSON or \
`application/x-www-form-urlencoded`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        routes::tokens::get_token,
        routes::vbanks::issue,
        routes::vbanks::revoke,
        routes::vbanks::modify,
        routes::vbanks::holder,
        routes::payments::by_uids,
        routes::payments::by_imp_uid,
        routes::payments::events,
        routes::payments::find_one,
        routes::payments::find_one_with_status,
        routes::payments::find_all,
        routes::payments::find_all_with_status,
        routes::payments::by_status,
        routes::payments::cancel,
        routes::notifications::receive,
        routes::webhooks::list,
        routes::webhooks::resend,
        routes::ops::healthz,
        routes::ops::readyz,
        routes::ops::metrics,
        routes::console::page,
        openapi_json,
        swagger_ui,
        sandbox::deposit,
        sandbox::holder,
        sandbox::faults,
        sandbox::get_clock,
        sandbox::advance_clock,
        sandbox::account,
    ),
    components(schemas(ErrorEnvelope, sandbox::SandboxError)),
    modifiers(&Security, &ErrorResponses, &NullableResponse),
    tags(
        (name = "i'mport", description = "i'mport (PortOne V1) endpoints, wire-compatible."),
        (name = "vbank", description = "vbank's own additions."),
        (name = "sandbox", description = "Sandbox mode only, no token: plays the buyer's bank and the PGs."),
        (name = "operations", description = "Health, readiness, metrics, documents."),
    ),
)]
pub struct ApiDoc;

/// The document as served.
pub fn document() -> OpenApiDocument {
    ApiDoc::openapi()
}

/// `/openapi.json` and Swagger UI at `/docs` (assets compiled in: no network needed).
pub fn router() -> Router<Arc<AppState>> {
    let swagger: Router<Arc<AppState>> = SwaggerUi::new("/docs").config(swagger_config()).into();
    Router::new().route("/openapi.json", get(openapi_json)).merge(swagger)
}

fn swagger_config() -> utoipa_swagger_ui::Config<'static> {
    utoipa_swagger_ui::Config::from("/openapi.json")
        .try_it_out_enabled(true)
        .persist_authorization(true)
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this server.", content_type = "application/json")))]
pub async fn openapi_json() -> Response {
    axum::Json(document()).into_response()
}

/// Swagger UI for this document (redirects to `/docs/`; its assets are compiled in).
#[utoipa::path(get, path = "/docs", tag = "operations",
    responses(
        (status = 303, description = "To `/docs/`, the Swagger UI page."),
        (status = 200, description = "The Swagger UI page, for a client that follows the redirect.", content_type = "text/html"),
    ))]
#[allow(dead_code)] // served by utoipa_swagger_ui's router; documented here
async fn swagger_ui() {}

/// An error answer: `response` is always null.
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    /// `-1` or `1` (api.md A2): -1 for authentication, unknown resources and PG failures; 1 for bad
    /// input and business refusals.
    pub code: i32,
    /// What went wrong, naming the field for bad input (`amount: 0보다 커야 합니다.`). A 500 carries the
    /// request id (`X-Request-Id`); no other message does.
    pub message: String,
    /// Always null.
    pub response: Option<()>,
}

/// `Authorization: Bearer TOKEN`, `Authorization: TOKEN` or `X-ImpTokenHeader: TOKEN` (api.md A1).
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The access_token of POST /users/getToken. A bare token in Authorization is accepted too.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "imp_token_header",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-ImpTokenHeader"))),
        );
    }
}

/// `response` is null whenever `code` is not 0, and i'mport answers some refusals with HTTP 200
/// (a refund of an unknown payment: code 1). utoipa writes a generic `Option<T>` field as plain
/// `T`, so every `Envelope_*` schema gets its `null` here.
struct NullableResponse;

impl Modify for NullableResponse {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for (name, schema) in components.schemas.iter_mut() {
            let RefOr::T(Schema::Object(envelope)) = schema else {
                continue;
            };
            if !name.starts_with("Envelope_") {
                continue;
            }
            if let Some(response) = envelope.properties.get_mut("response") {
                let nullable = OneOfBuilder::new()
                    .item(ObjectBuilder::new().schema_type(Type::Null))
                    .item(response.clone())
                    .description(Some("The answer; null when `code` is not 0."))
                    .build();
                *response = RefOr::T(Schema::OneOf(nullable));
            }
        }
    }
}

/// The errors every i'mport endpoint can answer (api.md A2), added to each operation that
/// does not describe them itself, so that no error goes undocumented.
struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let error = || {
            ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorEnvelope")))
                .build()
        };
        let response = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content("application/json", error())
                    .build(),
            )
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let i_mport = !path.starts_with("/sandbox")
                && !matches!(
                    path.as_str(),
                    "/healthz" | "/readyz" | "/metrics" | "/openapi.json" | "/console" | "/docs"
                );
            if !i_mport {
                continue;
            }
            let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                let responses: &mut BTreeMap<String, RefOr<utoipa::openapi::Response>> =
                    &mut operation.responses.responses;
                let secured = operation.security.as_ref().is_some_and(|security| !security.is_empty());
                if !path.starts_with("/notifications") {
                    responses.entry("400".into()).or_insert_with(|| {
                        response("Bad input (code 1): the message names the field and what is wrong.")
                    });
                }
                if secured || path == "/users/getToken" {
                    responses.entry("401".into()).or_insert_with(|| {
                        response("Unauthorized (code -1): missing, unknown or expired token; wrong imp_key/imp_secret.")
                    });
                }
                responses
                    .entry("405".into())
                    .or_insert_with(|| response("Method not allowed (code -1)."));
                responses.entry("503".into()).or_insert_with(|| {
                    response("Timed out (code -1); the work goes on, so look the payment up for the result.")
                });
                responses.entry("500".into()).or_insert_with(|| {
                    response("Internal error (code -1); the message carries the request id to quote.")
                });
            }
        }
    }
}

/// The sandbox controls (`vbank-sandbox`), documented here.
mod sandbox {
    #![allow(dead_code)]
    use serde::{Deserialize, Serialize};
    use utoipa::{IntoParams, ToSchema};

    /// A control request the sandbox cannot take.
    #[derive(Serialize, ToSchema)]
    pub struct SandboxError {
        /// What is wrong, and what to send instead.
        pub error: String,
    }

    /// A deposit at the sandbox bank into a virtual account.
    #[derive(Deserialize, ToSchema)]
    pub struct DepositRequest {
        /// The account's bank, a 3-digit KFTC code (`vbank_code` of the payment).
        pub bank_code: String,
        /// The account number (`vbank_num` of the payment).
        pub account_number: String,
        /// Won deposited; a PG takes only the exact amount.
        pub amount: i64,
        /// The depositor's name as the bank shows it.
        pub depositor_name: Option<String>,
    }

    /// What the sandbox bank did with a deposit.
    #[derive(Serialize, ToSchema)]
    pub struct DepositAnswer {
        /// Whether the bank (and the PG) took the money.
        pub accepted: bool,
        /// `deposited`, or why it was refused (past due, revoked, wrong amount, ...).
        pub reason: String,
        /// Whether the PG notified vbank.
        pub notified: Option<bool>,
    }

    /// A jump of the sandbox clock; it only moves forward.
    #[derive(Deserialize, ToSchema)]
    pub struct AdvanceClock {
        /// Seconds to move forward: 0 to about a hundred years.
        #[schema(minimum = 0, maximum = 3_162_240_000_i64)]
        pub advance_seconds: i64,
    }

    /// The sandbox clock.
    #[derive(Serialize, ToSchema)]
    pub struct ClockAnswer {
        /// Unix seconds.
        pub now: i64,
    }

    /// Makes a PG's next calls fail.
    #[derive(Deserialize, ToSchema)]
    pub struct FaultRequest {
        /// The PG, as in `pg` (`tosspayments`, `html5_inicis`, ...).
        pub pg: String,
        /// `issue`, `revoke`, `query`, `refund` or `notify`.
        pub operation: String,
        /// `timeout_before_commit`, `timeout_after_commit`, `http_500`, `garbage`, `slow` (acts and
        /// answers, after `delay_ms`), or `drop` (notify only).
        pub fault: String,
        /// How many calls fail (1 unless given).
        pub count: Option<u32>,
        /// How long a `slow` PG takes, in milliseconds (2000 unless given; at most 600000).
        #[schema(maximum = 600_000)]
        pub delay_ms: Option<u64>,
    }

    /// What the PG simulator recorded for an account.
    #[derive(Serialize, ToSchema)]
    pub struct AccountAnswer {
        pub pg: String,
        pub tid: String,
        pub order_id: String,
        /// `issued`, `deposited`, `revoked`, `refunded`, ...
        pub state: String,
        pub refunded: i64,
        pub amount: i64,
        pub bank_code: String,
        pub account_number: String,
        pub due: i64,
    }

    #[derive(Deserialize, IntoParams)]
    pub struct HolderQuery {
        /// 3-digit KFTC bank code.
        pub bank_code: String,
        /// Account number.
        pub bank_num: String,
    }

    /// The buyer deposits at the sandbox bank; the PG notifies vbank as it would.
    #[utoipa::path(post, path = "/sandbox/bank/deposits", tag = "sandbox", request_body = DepositRequest,
        responses(
            (status = 200, description = "Accepted, or refused with the reason.", body = DepositAnswer),
            (status = 400, description = "Not a deposit request (`accepted` false, with the reason).", body = DepositAnswer),
        ))]
    pub async fn deposit() {}

    /// The holder of an account at the sandbox bank (what `GET /vbanks/holder` asks in sandbox mode).
    #[utoipa::path(get, path = "/sandbox/bank/holder", tag = "sandbox", params(HolderQuery), responses(
        (status = 200, description = "`{\"bank_holder\": NAME}`", content_type = "application/json"),
        (status = 400, description = "Unknown bank code.", body = SandboxError),
        (status = 404, description = "No such account.", body = SandboxError),
    ))]
    pub async fn holder() {}

    /// Arms a fault in a PG simulator.
    #[utoipa::path(post, path = "/sandbox/faults", tag = "sandbox", request_body = FaultRequest, responses(
        (status = 200, description = "`{\"armed\": true}`", content_type = "application/json"),
        (status = 400, description = "Not a fault request, an unknown PG, or a fault that does not go with the operation.", body = SandboxError),
    ))]
    pub async fn faults() {}

    /// The sandbox clock.
    #[utoipa::path(get, path = "/sandbox/clock", tag = "sandbox",
        responses((status = 200, description = "Now, as the sandbox sees it.", body = ClockAnswer)))]
    pub async fn get_clock() {}

    /// Moves the sandbox clock forward (the bank then refuses deposits past an account's due time).
    #[utoipa::path(post, path = "/sandbox/clock", tag = "sandbox", request_body = AdvanceClock,
        responses(
            (status = 200, description = "The new time.", body = ClockAnswer),
            (status = 400, description = "Not a clock request, or `advance_seconds` out of 0 to about a hundred years.", body = SandboxError),
        ))]
    pub async fn advance_clock() {}

    /// What the PG simulator recorded for an account.
    #[utoipa::path(get, path = "/sandbox/accounts/{account_number}", tag = "sandbox",
        params(("account_number" = String, Path, description = "`vbank_num` of the payment")),
        responses(
            (status = 200, description = "The PG's record.", body = AccountAnswer),
            (status = 404, description = "No PG simulator issued this account.", body = SandboxError),
        ))]
    pub async fn account() {}
}
