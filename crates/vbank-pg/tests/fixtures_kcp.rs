//! NHN KCP fixtures pinned to `spec/pg-samples.md` §2: the signing string and its
//! RSA-SHA256 signature (computed independently with openssl over the sandbox's test
//! key), the cancel request and answers, the common_return notification (UTF-8 and
//! EUC-KR) and the exact acknowledgement.

use vbank_core::{BankCode, Won};
use vbank_pg::kcp::{self, wire};
use vbank_pg::{form, Authenticity, Connector, NoticeEvent, NoticeReference};

/// The sandbox's throw-away KCP key pair (unencrypted PKCS#8; KCP's own test key is
/// encrypted with `changeit`).
const TEST_KEY: &str = include_str!("../../vbank-sandbox/src/kcp_test_key.pem");
const TEST_CERT: &str = include_str!("../../vbank-sandbox/src/kcp_test_cert.pem");

/// `printf 'T0000^20250101000000^STSC' | openssl dgst -sha256 -sign kcp_test_key.pem | base64 -w0`
const OPENSSL_SIGNATURE: &str = "KarhIP1xtESCVjI7HWV1x4kFw3SDKB8PthkrSIZVtKR5WZbfN2RXZjB3ku+JO7m6K4EplNUm8ie2idM1BWiuZRkwzeSGeK3MiRzpVnUqHPkSXbBALPmh7eNnYhPTJg1oOvC2npqZ1ImwLXLTtcvblWVA6dmnhPaO3qQuHZZrfJIBEa85dQ41OzqIK9YsSBtzsv3g4mqFXZZQ25nY3kD9FjuATsUvtEokGNHk/9CabRGGYnKQECuEw0jzW5HT/TgwlJuGQMss6eKBlumO456s2Oma/VNE80lJngUxbf/AD2kR3H1Fwp+r3dAKwNYNpF/I3MBrgZA8yF+uCef4ujidIQ==";

const TNO: &str = "20250101000000";

fn connector() -> kcp::Kcp {
    kcp::Kcp::new(reqwest::Client::new())
}

#[test]
fn the_signing_strings_follow_the_documented_formula() {
    assert_eq!(
        wire::mod_sign_string("T0000", TNO, wire::MOD_TYPE_CANCEL),
        "T0000^20250101000000^STSC"
    );
    // The docs' own example string (the inquiry page signs site_cd^tno^pay_type).
    assert_eq!(
        wire::inquiry_sign_string("T0000", "20210719000000", "PACA"),
        "T0000^20210719000000^PACA"
    );
}

#[test]
fn kcp_sign_data_equals_the_openssl_signature_sample_2_1() {
    let message = wire::mod_sign_string("T0000", TNO, wire::MOD_TYPE_CANCEL);
    let signature = wire::sign(TEST_KEY, &message).unwrap();
    assert_eq!(signature, OPENSSL_SIGNATURE, "PKCS#1 v1.5 signatures are deterministic");
    assert!(wire::verify(TEST_CERT, &message, &signature));
    assert!(!wire::verify(TEST_CERT, "T0000^20250101000000^STPC", &signature));
    assert!(!wire::verify(TEST_CERT, &message, "bm90IGEgc2lnbmF0dXJl"));
}

#[test]
fn an_unreadable_private_key_is_an_error_not_a_panic() {
    assert!(wire::sign("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "x").is_err());
    assert!(wire::sign(TEST_CERT, "x").is_err());
}

#[test]
fn kcp_cert_info_is_the_pem_on_one_line() {
    let one_line = wire::cert_info(TEST_CERT);
    assert!(!one_line.contains('\n') && !one_line.contains('\r'));
    assert!(one_line.starts_with("-----BEGIN PUBLIC KEY-----MII"), "{one_line}");
    assert!(one_line.ends_with("-----END PUBLIC KEY-----"));
    assert_eq!(wire::cert_info(&TEST_CERT.replace('\n', "\r\n")), one_line);
}

#[test]
fn the_cancel_request_has_exactly_the_sample_2_1_fields() {
    let sample = r#"{"site_cd":"T0000","tno":"20250101000000","kcp_cert_info":"-----BEGIN CERTIFICATE-----FAKEBASE64...-----END CERTIFICATE-----","kcp_sign_data":"<b64 RSA-SHA256 signature>","mod_type":"STSC","mod_desc":"가상계좌 발급취소"}"#;
    let parsed: wire::ModRequest = serde_json::from_str(sample).unwrap();
    assert_eq!(parsed.mod_type, wire::MOD_TYPE_CANCEL);
    assert_eq!(parsed.mod_desc, "가상계좌 발급취소");
    let ours = serde_json::to_value(&parsed).unwrap();
    let sample: serde_json::Value = serde_json::from_str(sample).unwrap();
    assert_eq!(ours, sample, "a pre-deposit cancel carries no refund fields");
}

#[test]
fn the_cancel_answers_of_sample_2_2_parse() {
    let ok: wire::ModResponse = serde_json::from_str(
        r#"{"res_cd":"0000","res_msg":"정상처리","tno":"20250101000000","canc_time":"20250101120001"}"#,
    )
    .unwrap();
    assert_eq!(ok.res_cd, wire::RES_OK);
    // 2025-01-01 12:00:01 KST
    assert_eq!(ok.canc_time.as_deref().and_then(kcp::parse_time), Some(1_735_700_401));
    let refused: wire::ModResponse =
        serde_json::from_str(r#"{"res_cd":"8133","res_msg":"기 취소된 거래입니다"}"#).unwrap();
    assert_eq!(refused.res_cd, wire::RES_ALREADY_CANCELLED);
}

#[test]
fn the_approval_answer_fields_parse() {
    let answer: wire::IssueResponse = serde_json::from_str(
        r#"{"res_cd":"0000","res_msg":"정상처리","tno":"20250101000000","amount":"1000","bankname":"KB국민은행","bankcode":"BK04","account":"99999900000001","depositor":"테스트상점","va_date":"20250108235959"}"#,
    )
    .unwrap();
    assert_eq!(answer.tno.as_deref(), Some(TNO));
    assert_eq!(
        answer.bankcode.as_deref().and_then(kcp::bank_from_kcp),
        BankCode::from_kftc("004")
    );
    assert_eq!(answer.va_date.as_deref().and_then(kcp::parse_time), Some(1_736_348_399));
}

/// pg-samples.md 2.3, as PortOne receives it (UTF-8).
const NOTICE_UTF8: &str = "site_cd=T0000&tno=20250101000000&order_no=FAKE-ORDER-0001&tx_cd=TX00&tx_tm=20250102101500&ipgm_name=%ED%99%8D%EA%B8%B8%EB%8F%99&remitter=%ED%99%8D%EA%B8%B8%EB%8F%99&ipgm_mnyx=1000&totl_mnyx=1000&ipgm_time=20250102101500&bank_code=BK04&account=99999900000001&op_cd=00&noti_id=0000000001&cash_a_no=&cash_no=";

/// The same notice in KCP's default charset: 홍길동 in EUC-KR is C8AB B1E6 B5BF.
const NOTICE_EUC_KR: &str = "site_cd=T0000&tno=20250101000000&order_no=FAKE-ORDER-0001&tx_cd=TX00&tx_tm=20250102101500&ipgm_name=%C8%AB%B1%E6%B5%BF&remitter=%C8%AB%B1%E6%B5%BF&ipgm_mnyx=1000&totl_mnyx=1000&ipgm_time=20250102101500&bank_code=BK04&account=99999900000001&op_cd=00&noti_id=0000000001&cash_a_no=&cash_no=";

/// 2025-01-02 10:15:00 KST.
const DEPOSITED_AT: i64 = 1_735_780_500;

#[test]
fn the_common_return_sample_2_3_parses_in_utf8_and_euc_kr() {
    let connector = connector();
    for (content_type, body) in [
        (Some("application/x-www-form-urlencoded; charset=utf-8"), NOTICE_UTF8),
        // KCP's default: EUC-KR, whether or not the content type says so.
        (Some("application/x-www-form-urlencoded"), NOTICE_EUC_KR),
        (None, NOTICE_EUC_KR),
        (Some("application/x-www-form-urlencoded; charset=euc-kr"), NOTICE_EUC_KR),
    ] {
        let notice = connector.parse_notice(content_type, body.as_bytes()).unwrap();
        assert_eq!(notice.reference, NoticeReference::PgTid(TNO.into()), "{content_type:?}");
        assert_eq!(notice.account_number.as_deref(), Some("99999900000001"));
        assert_eq!(
            notice.event,
            NoticeEvent::Deposited {
                amount: Some(Won::new(1000).unwrap()),
                at: DEPOSITED_AT
            }
        );
        assert_eq!(notice.secret, None);
        // KCP signs nothing: the notice must be confirmed with the PG.
        assert_eq!(
            connector.authenticate(&notice, &channel_with(Default::default()), None),
            Authenticity::NeedsConfirmation
        );
    }
    let pairs = form::parse(NOTICE_EUC_KR.as_bytes(), encoding_rs::EUC_KR);
    assert_eq!(form::field(&pairs, wire::noti::DEPOSITOR), Some("홍길동"));
}

#[test]
fn a_deposit_cancel_and_other_tx_codes_are_not_deposits() {
    let connector = connector();
    let cancel = NOTICE_UTF8.replace("op_cd=00", "op_cd=13");
    let notice = connector
        .parse_notice(
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            cancel.as_bytes(),
        )
        .unwrap();
    assert_eq!(notice.event, NoticeEvent::AwaitingDeposit);

    let refund = NOTICE_UTF8.replace("tx_cd=TX00", "tx_cd=TX01");
    assert!(connector
        .parse_notice(
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            refund.as_bytes()
        )
        .is_err());
    let voided = NOTICE_UTF8.replace("tx_cd=TX00", "tx_cd=TX07");
    assert_eq!(
        connector
            .parse_notice(
                Some("application/x-www-form-urlencoded; charset=utf-8"),
                voided.as_bytes()
            )
            .unwrap()
            .event,
        NoticeEvent::Cancelled { at: DEPOSITED_AT }
    );
    let no_amount = NOTICE_UTF8.replace("ipgm_mnyx=1000", "ipgm_mnyx=");
    assert!(connector.parse_notice(None, no_amount.as_bytes()).is_err());
    assert!(connector.parse_notice(None, b"{\"not\":\"a form\"}").is_err());
}

#[test]
fn the_acknowledgement_is_the_sample_page() {
    let connector = connector();
    let ack = connector.acknowledge(true);
    assert_eq!(ack.status, 200);
    assert!(ack.content_type.starts_with("text/html"));
    assert_eq!(
        ack.body,
        r#"<html><body><form><input type="hidden" name="result" value="0000"></form></body></html>"#
    );
    let nack = connector.acknowledge(false);
    assert_eq!(
        nack.body,
        r#"<html><body><form><input type="hidden" name="result" value="9999"></form></body></html>"#
    );
}

#[test]
fn kcp_bank_codes_are_bk_and_two_digits() {
    let connector = connector();
    let kb = BankCode::from_kftc("004").unwrap();
    assert_eq!(kcp::bank_from_kcp("BK04"), Some(kb));
    assert_eq!(connector.refund_bank("BK88"), BankCode::from_kftc("088"));
    assert_eq!(connector.refund_bank("088"), None, "KCP refund banks are KCP codes");
    assert!(connector.offers_bank(kb));
    assert!(!connector.offers_bank(BankCode::from_kftc("035").unwrap()));
}

/// A channel with these secrets; `authenticate` checks signatures with them.
fn channel_with(secrets: vbank_core::ChannelSecrets) -> vbank_core::Channel {
    vbank_core::Channel {
        id: 1,
        merchant_id: 1,
        provider: vbank_core::PgProvider::Html5Inicis,
        mid: "test".into(),
        sandbox: true,
        secrets,
        notice_sources: Default::default(),
    }
}
