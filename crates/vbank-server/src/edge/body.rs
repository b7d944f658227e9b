//! Request bodies as i'mport clients send them: JSON or form, with numbers as
//! numbers or as text (form bodies always send text), read once into [`Fields`]
//! whose getters name the field in every error.

use super::envelope::{ApiError, ApiResult};
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde_json::{Map, Value};
use vbank_core::money::WonError;
use vbank_core::Won;

/// The largest body vbank reads. i'mport bodies are a few hundred bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The fields of a JSON or form body.
#[derive(Debug, Default)]
pub struct Fields(Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> ApiResult<Fields> {
        let declared_length = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        // Refuse an announced oversized body before reading any of it.
        if declared_length.is_some_and(|length| length > BODY_LIMIT as u64) {
            return Err(ApiError::BodyTooLarge { limit: BODY_LIMIT });
        }
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes = axum::body::to_bytes(request.into_body(), BODY_LIMIT)
            .await
            .map_err(|_| ApiError::BodyTooLarge { limit: BODY_LIMIT })?;
        Fields::parse(&content_type, &bytes)
    }
}

impl Fields {
    pub fn parse(content_type: &str, bytes: &[u8]) -> ApiResult<Fields> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fields::default());
        }
        let looks_like_json = bytes.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'{');
        if content_type.contains("json") || (!content_type.contains("form") && looks_like_json) {
            match serde_json::from_slice::<Value>(bytes) {
                Ok(Value::Object(map)) => Ok(Fields(map)),
                Ok(_) => Err(ApiError::bad_input(
                    "body",
                    "JSON 객체여야 합니다.",
                    "must be a JSON object.",
                )),
                Err(error) => Err(ApiError::bad_input(
                    "body",
                    format!("JSON 형식이 올바르지 않습니다. ({error})"),
                    format!("is not valid JSON ({error})."),
                )),
            }
        } else {
            Ok(Fields::from_form(bytes))
        }
    }

    /// A form body; `key[]` and repeated keys become arrays.
    fn from_form(bytes: &[u8]) -> Fields {
        let mut map = Map::new();
        for (key, value) in form_urlencoded::parse(bytes) {
            let (key, is_list) = match key.strip_suffix("[]") {
                Some(stripped) => (stripped.to_owned(), true),
                None => (key.into_owned(), false),
            };
            let value = Value::String(value.into_owned());
            match map.get_mut(&key) {
                Some(Value::Array(items)) => items.push(value),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, value]);
                }
                None if is_list => {
                    map.insert(key, Value::Array(vec![value]));
                }
                None => {
                    map.insert(key, value);
                }
            }
        }
        Fields(map)
    }

    /// The fields in one canonical text (keys sorted), to compare two requests.
    pub fn canonical(&self) -> String {
        Value::Object(self.0.clone()).to_string()
    }

    fn value(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|value| !value.is_null())
    }

    /// A text field; numbers are taken as their text. Empty text counts as absent.
    pub fn text(&self, name: &'static str) -> ApiResult<Option<String>> {
        match self.value(name) {
            None => Ok(None),
            Some(Value::String(text)) if text.is_empty() => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(_) => Err(ApiError::bad_input(name, "문자열이어야 합니다.", "must be a string.")),
        }
    }

    /// A text field of at most `max_chars` characters.
    pub fn short_text(&self, name: &'static str, max_chars: usize) -> ApiResult<Option<String>> {
        let text = self.text(name)?;
        if text.as_ref().is_some_and(|text| text.chars().count() > max_chars) {
            return Err(ApiError::bad_input(
                name,
                format!("{max_chars}자 이하여야 합니다."),
                format!("must be at most {max_chars} characters."),
            ));
        }
        Ok(text)
    }

    pub fn required_text(&self, name: &'static str) -> ApiResult<String> {
        self.text(name)?.ok_or_else(|| missing(name))
    }

    /// An amount of won: a JSON number or numeric text, whole and not negative.
    pub fn won(&self, name: &'static str) -> ApiResult<Option<Won>> {
        let parsed = match self.value(name) {
            None => return Ok(None),
            Some(Value::String(text)) if text.trim().is_empty() => return Ok(None),
            Some(Value::String(text)) => Won::parse(text),
            Some(Value::Number(number)) => match number.as_i64() {
                Some(whole) => Won::new(whole),
                None => number.as_f64().map_or(Err(WonError::NotANumber), Won::from_f64),
            },
            Some(_) => Err(WonError::NotANumber),
        };
        parsed.map(Some).map_err(|error| won_error(name, error))
    }

    /// A whole number (UNIX seconds, say): a JSON integer or integer text.
    pub fn integer(&self, name: &'static str) -> ApiResult<Option<i64>> {
        let not_integer = || ApiError::bad_input(name, "정수여야 합니다.", "must be an integer.");
        match self.value(name) {
            None => Ok(None),
            Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
            Some(Value::String(text)) => text.trim().parse().map(Some).map_err(|_| not_integer()),
            Some(Value::Number(number)) => number
                .as_i64()
                .or_else(|| {
                    number
                        .as_f64()
                        .filter(|float| float.fract() == 0.0 && float.abs() < 1e15)
                        .map(|float| float as i64)
                })
                .map(Some)
                .ok_or_else(not_integer),
            Some(_) => Err(not_integer()),
        }
    }

    /// A list of text: a JSON array, a single string, or repeated form keys.
    pub fn text_list(&self, name: &'static str) -> ApiResult<Vec<String>> {
        let not_list = || {
            ApiError::bad_input(
                name,
                "문자열 또는 문자열 배열이어야 합니다.",
                "must be a string or an array of strings.",
            )
        };
        match self.value(name) {
            None => Ok(Vec::new()),
            Some(Value::String(text)) if text.is_empty() => Ok(Vec::new()),
            Some(Value::String(text)) => Ok(vec![text.clone()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned).ok_or_else(not_list))
                .collect(),
            Some(_) => Err(not_list()),
        }
    }

    /// Free-form data kept as text: objects and arrays are stored as their JSON.
    pub fn json_text(&self, name: &'static str) -> Option<String> {
        match self.value(name)? {
            Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        }
    }
}

pub fn missing(name: &'static str) -> ApiError {
    ApiError::bad_input(name, "필수 항목입니다.", "is required.")
}

pub fn won_error(name: &'static str, error: WonError) -> ApiError {
    let (ko, en) = match error {
        WonError::Negative => ("음수일 수 없습니다.", "must not be negative."),
        WonError::Fractional => ("원 단위 정수여야 합니다.", "must be a whole number of won."),
        WonError::NotANumber => ("숫자여야 합니다.", "must be a number."),
        WonError::TooLarge => ("너무 큰 금액입니다.", "is too large."),
    };
    ApiError::bad_input(name, ko, en)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_give_text_that_reads_as_numbers() {
        let fields = Fields::parse("application/x-www-form-urlencoded", b"amount=1000&vbank_due=1700000000").unwrap();
        assert_eq!(fields.won("amount").unwrap(), Some(Won::new(1000).unwrap()));
        assert_eq!(fields.integer("vbank_due").unwrap(), Some(1_700_000_000));
    }

    #[test]
    fn notice_url_in_every_form_clients_send() {
        for (content_type, body) in [
            ("application/json", &br#"{"notice_url":"https://a"}"#[..]),
            ("application/json", br#"{"notice_url":["https://a","https://b"]}"#),
            (
                "application/x-www-form-urlencoded",
                b"notice_url=https%3A%2F%2Fa&notice_url=https%3A%2F%2Fb",
            ),
            ("application/x-www-form-urlencoded", b"notice_url%5B%5D=https%3A%2F%2Fa"),
        ] {
            let urls = Fields::parse(content_type, body)
                .unwrap()
                .text_list("notice_url")
                .unwrap();
            assert_eq!(urls[0], "https://a", "{body:?}");
        }
    }

    #[test]
    fn fractional_and_negative_amounts_are_refused_with_the_field_named() {
        for body in [
            &br#"{"amount":10.5}"#[..],
            br#"{"amount":-1}"#,
            br#"{"amount":"abc"}"#,
            br#"{"amount":true}"#,
        ] {
            let error = Fields::parse("application/json", body)
                .unwrap()
                .won("amount")
                .unwrap_err();
            assert!(matches!(error, ApiError::BadInput { field: "amount", .. }), "{body:?}");
        }
    }

    #[test]
    fn malformed_json_is_bad_input_not_a_panic() {
        assert!(matches!(
            Fields::parse("application/json", b"{\"amount\":"),
            Err(ApiError::BadInput { field: "body", .. })
        ));
        assert!(matches!(
            Fields::parse("application/json", b"[1,2]"),
            Err(ApiError::BadInput { field: "body", .. })
        ));
    }
}
