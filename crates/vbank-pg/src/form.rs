//! `application/x-www-form-urlencoded` in any charset. Several PGs (INICIS, NICE,
//! Hecto, KCP) send EUC-KR form bodies, which a UTF-8 form parser garbles.

use encoding_rs::Encoding;
use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What form encoding leaves as is: alphanumerics and `*-._` (as browsers and PHP do).
const FORM_SAFE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'*').remove(b'-').remove(b'.').remove(b'_');

/// The charset a `Content-Type` header names, UTF-8 when it names none.
pub fn charset_of(content_type: Option<&str>) -> &'static Encoding {
    content_type
        .and_then(|value| {
            value
                .split(';')
                .skip(1)
                .filter_map(|parameter| parameter.trim().strip_prefix("charset="))
                .next()
        })
        .and_then(|label| Encoding::for_label(label.trim_matches('"').as_bytes()))
        .unwrap_or(encoding_rs::UTF_8)
}

/// Parses a form body whose percent-encoded bytes are in `encoding`.
pub fn parse(body: &[u8], encoding: &'static Encoding) -> Vec<(String, String)> {
    body.split(|&byte| byte == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut parts = pair.splitn(2, |&byte| byte == b'=');
            let key = decode(parts.next().unwrap_or_default(), encoding);
            let value = decode(parts.next().unwrap_or_default(), encoding);
            (key, value)
        })
        .collect()
}

fn decode(raw: &[u8], encoding: &'static Encoding) -> String {
    let spaced: Vec<u8> = raw.iter().map(|&byte| if byte == b'+' { b' ' } else { byte }).collect();
    let bytes: Vec<u8> = percent_decode(&spaced).collect();
    encoding.decode_without_bom_handling(&bytes).0.into_owned()
}

/// Encodes pairs as a form body with the text in `encoding`.
pub fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>, encoding: &'static Encoding) -> String {
    pairs
        .into_iter()
        .map(|(key, value)| {
            let key = encoding.encode(key).0;
            let value = encoding.encode(value).0;
            format!(
                "{}={}",
                percent_encode(&key, FORM_SAFE),
                percent_encode(&value, FORM_SAFE)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of a field, if present.
pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euc_kr_round_trip_matches_the_inicis_sample_bytes() {
        // pg-samples.md 1.6: nm_input=홍길동 in EUC-KR.
        let body = encode(
            [("nm_input", "홍길동"), ("nm_inputbank", "국민은행")],
            encoding_rs::EUC_KR,
        );
        assert_eq!(
            body,
            "nm_input=%C8%AB%B1%E6%B5%BF&nm_inputbank=%B1%B9%B9%CE%C0%BA%C7%E0"
        );
        let pairs = parse(body.as_bytes(), encoding_rs::EUC_KR);
        assert_eq!(field(&pairs, "nm_input"), Some("홍길동"));
        assert_eq!(field(&pairs, "nm_inputbank"), Some("국민은행"));
    }

    #[test]
    fn charset_comes_from_the_content_type() {
        assert_eq!(
            charset_of(Some("application/x-www-form-urlencoded; charset=euc-kr")),
            encoding_rs::EUC_KR
        );
        assert_eq!(
            charset_of(Some("application/x-www-form-urlencoded")),
            encoding_rs::UTF_8
        );
        assert_eq!(charset_of(None), encoding_rs::UTF_8);
    }

    #[test]
    fn plus_is_a_space() {
        let pairs = parse(b"a=x+y&b=%2B", encoding_rs::UTF_8);
        assert_eq!(field(&pairs, "a"), Some("x y"));
        assert_eq!(field(&pairs, "b"), Some("+"));
    }
}
