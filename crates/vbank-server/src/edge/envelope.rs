//! The i'mport envelope and the error mapping of api.md A2.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub type ApiResult<T> = Result<T, ApiError>;

/// The language of messages: Korean as i'mport's, English on `Accept-Language: en`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Korean,
    English,
}

tokio::task_local! {
    static LANGUAGE: Language;
}

/// Picks the language for the request's answers from `Accept-Language`.
pub async fn language_layer(request: Request, next: Next) -> Response {
    let language = language_of(request.headers());
    LANGUAGE.scope(language, next.run(request)).await
}

/// The language `Accept-Language` asks for: English on `en...`, else Korean.
pub fn language_of(headers: &HeaderMap) -> Language {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .map(|first| first.trim().to_ascii_lowercase())
        .filter(|first| first.starts_with("en"))
        .map_or(Language::Korean, |_| Language::English)
}

/// An error answer in `language`, for the layers outside `language_layer`.
pub fn error_in(language: Language, error: ApiError) -> Response {
    LANGUAGE.sync_scope(language, || error.into_response())
}

fn language() -> Language {
    LANGUAGE.try_with(|language| *language).unwrap_or(Language::Korean)
}

/// A message in both languages; the request picks one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub ko: String,
    pub en: String,
}

impl Text {
    pub fn new(ko: impl Into<String>, en: impl Into<String>) -> Text {
        Text {
            ko: ko.into(),
            en: en.into(),
        }
    }

    /// The same words in both languages (a PG's own message, say).
    pub fn same(text: impl Into<String>) -> Text {
        let text = text.into();
        Text {
            ko: text.clone(),
            en: text,
        }
    }

    fn pick(&self) -> &str {
        match language() {
            Language::Korean => &self.ko,
            Language::English => &self.en,
        }
    }
}

/// `{code, message, response}`: i'mport's shape for every answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Envelope<T: Serialize> {
    /// 0 on success. Non-zero is a failure even with HTTP 200: -1 when the PG refused or failed
    /// (`[code] message` passed through), 1 for a business refusal.
    pub code: i32,
    /// null on success; otherwise what went wrong.
    pub message: Option<String>,
    /// The answer; null on failure.
    pub response: Option<T>,
}

/// JSON with i'mport's content type and a length, in one write (npm `iamport` reads
/// only the first chunk of the getToken answer).
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            )],
            bytes,
        )
            .into_response(),
        Err(error) => ApiError::internal(error).into_response(),
    }
}

/// A success: code 0, message null.
pub fn ok<T: Serialize>(response: T) -> Response {
    ok_with_status(StatusCode::OK, response)
}

pub fn ok_with_status<T: Serialize>(status: StatusCode, response: T) -> Response {
    json_response(
        status,
        &Envelope {
            code: 0,
            message: None,
            response: Some(response),
        },
    )
}

/// Every way a request can fail, with its HTTP status and i'mport code.
#[derive(Debug)]
pub enum ApiError {
    /// 401, -1: missing, unknown or expired token; wrong imp_key/imp_secret.
    Unauthorized,
    /// 404, -1: unknown imp_uid, or another merchant's (never revealed).
    PaymentNotFound,
    /// 404, -1: a multi-lookup that found nothing.
    NoPaymentsFound,
    /// 404, -1: no such API.
    RouteNotFound,
    /// 404, -1: another resource that does not exist (or is another merchant's).
    NotFound(Text),
    /// 405, -1.
    MethodNotAllowed,
    /// 400, 1: bad input; the message names the field.
    BadInput { field: &'static str, problem: Text },
    /// 400, 1: a rule refuses the request for this payment (not a vbank, not ready, ...).
    Refused(Text),
    /// 200, 1: a business refusal i'mport answers with HTTP 200.
    BusinessRefusal(Text),
    /// 200, -1: the PG refused or failed; `[code] message` passed through.
    PgFailure(Text),
    /// 409, 1: the request conflicts with one in flight.
    Conflict(Text),
    /// 413, 1.
    BodyTooLarge { limit: usize },
    /// 429, -1: too many failed attempts; try again after `retry_after` seconds.
    TooManyRequests { retry_after: u64 },
    /// 503, -1: the request ran out of time; its work goes on (a revoke the PG took is
    /// recorded), so the payment shows the result.
    TimedOut,
    /// 500, -1: our fault. The message carries the request id (`X-Request-Id`), which the
    /// logs carry too; no other message has it, so that i'mport's stay exact.
    Internal { request_id: String },
}

impl ApiError {
    pub fn bad_input(field: &'static str, ko: impl Into<String>, en: impl Into<String>) -> ApiError {
        ApiError::BadInput {
            field,
            problem: Text::new(ko, en),
        }
    }

    /// Logs an internal failure under the request's id and hides its details.
    pub fn internal(error: impl std::fmt::Display) -> ApiError {
        let request_id =
            crate::observability::current_request_id().unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()));
        tracing::error!(%request_id, %error, "internal error");
        ApiError::Internal { request_id }
    }

    fn parts(&self) -> (StatusCode, i32, String) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, -1, "Unauthorized".into()),
            ApiError::PaymentNotFound => (
                StatusCode::NOT_FOUND,
                -1,
                Text::new("존재하지 않는 결제정보입니다.", "The payment does not exist.")
                    .pick()
                    .into(),
            ),
            ApiError::NoPaymentsFound => (
                StatusCode::NOT_FOUND,
                -1,
                Text::new("해당되는 결제건을 찾지 못하였습니다.", "No matching payment was found.")
                    .pick()
                    .into(),
            ),
            ApiError::RouteNotFound => (
                StatusCode::NOT_FOUND,
                -1,
                Text::new("존재하지 않는 API입니다.", "No such API.").pick().into(),
            ),
            ApiError::NotFound(text) => (StatusCode::NOT_FOUND, -1, text.pick().into()),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                -1,
                Text::new("허용되지 않는 메소드입니다.", "Method not allowed.")
                    .pick()
                    .into(),
            ),
            ApiError::BadInput { field, problem } => {
                (StatusCode::BAD_REQUEST, 1, format!("{field}: {}", problem.pick()))
            }
            ApiError::Refused(text) => (StatusCode::BAD_REQUEST, 1, text.pick().into()),
            ApiError::Conflict(text) => (StatusCode::CONFLICT, 1, text.pick().into()),
            ApiError::BusinessRefusal(text) => (StatusCode::OK, 1, text.pick().into()),
            ApiError::PgFailure(text) => (StatusCode::OK, -1, text.pick().into()),
            ApiError::BodyTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                1,
                Text::new(
                    format!("요청 본문이 너무 큽니다. ({limit} 바이트 이하)"),
                    format!("The request body is too large (at most {limit} bytes)."),
                )
                .pick()
                .into(),
            ),
            ApiError::TooManyRequests { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                -1,
                Text::new(
                    format!("인증 실패가 너무 많습니다. {retry_after}초 후에 다시 시도하세요."),
                    format!("Too many failed attempts; try again in {retry_after} seconds."),
                )
                .pick()
                .into(),
            ),
            ApiError::TimedOut => (
                StatusCode::SERVICE_UNAVAILABLE,
                -1,
                Text::new(
                    "요청 처리 시간이 초과되었습니다. 처리는 계속되니 결제건을 조회해 결과를 확인하세요.",
                    "The request timed out. Its work goes on: look the payment up for the result.",
                )
                .pick()
                .into(),
            ),
            ApiError::Internal { request_id } => (
                StatusCode::INTERNAL_SERVER_ERROR,
                -1,
                Text::new(
                    format!("서버 내부 오류입니다. (request id {request_id})"),
                    format!("Internal server error (request id {request_id}); quote it when reporting."),
                )
                .pick()
                .into(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after } => Some(*retry_after),
            _ => None,
        };
        let mut response = json_response(
            status,
            &Envelope::<()> {
                code,
                message: Some(message),
                response: None,
            },
        );
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<vbank_store::StoreError> for ApiError {
    fn from(error: vbank_store::StoreError) -> ApiError {
        ApiError::internal(error)
    }
}

/// Answers unknown paths in the envelope.
pub async fn route_not_found() -> ApiError {
    ApiError::RouteNotFound
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
