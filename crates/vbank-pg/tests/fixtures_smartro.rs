//! Smartro (`smartro_v2`) fixtures pinned to `spec/pg-samples.md` §8: the worked envelope,
//! HashData and SignValue, and the sample notification, so that a mistake shared by the
//! connector and its simulator fails here.

use vbank_core::{BankCode, Won};
use vbank_pg::smartro::{self, wire};
use vbank_pg::{form, Authenticity, Connector, NoticeEvent, NoticeReference};

const MERCHANT_KEY: &str = "FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE00000000000000000000000000000000";
const MID: &str = "fakemid01m";
const TID: &str = "t_fake0001m0101250101120000000";

const INNER_8_1: &str = r#"{"Mid":"fakemid01m","Tid":"t_fake0001m0101250101120000000","CancelAmt":"1000","CancelMsg":"test","PartialCancelCode":"0"}"#;
const ENC_DATA_8_1: &str = "Qk3o//0P8DFo98kRmx+6XwSP2WDv09Y7tQwTAseaZzutLqB8Oyy3zZTBjaWNMEs0JsNF4KoFXscbeJMpnjRCTBkQNWLal162ByJkfg9ssLFiZ4fF/qCLR/JkLNIaBHXUN/uTMT8qRkbFqHLclwsFlTqam9thrQLyMFYj8IVTaB4=";

/// pg-samples §8.3, byte for byte (UTF-8).
const NOTICE_8_3: &str = "PayMethod=VBANK&MID=fakemid01m&mallUserID=&Amt=1000&name=%ED%99%8D%EA%B8%B8%EB%8F%99&GoodsName=test&TID=t_fake0001m0101250101120000000&OTID=t_fake0001m0101250101120000000&OID=FAKE-ORDER-0001&AuthDate=250102101500&AuthCode=&ResultCode=4110&ResultMsg=%EC%9E%85%EA%B8%88%EC%99%84%EB%A3%8C&state_cd=0&FnCd=004&FnName=%EA%B5%AD%EB%AF%BC&pinNo=&CardQuota=&BuyerEmail=&BuyerTel=&BuyerAuthNum=&VbankNum=99999900000001&VbankName=%EA%B5%AD%EB%AF%BC&ReceiptType=&RcptAppNo=&RcptCcNo=&CardUsePoint=&SignValue=OGYxM2Q0NzU1Y2RjZmUwN2U5ZDUxYzNlZjI5Mzc0NjU%3D";

fn connector() -> smartro::Smartro {
    smartro::Smartro::new(reqwest::Client::new())
}

#[test]
fn enc_data_matches_sample_8_1() {
    assert_eq!(wire::encrypt(MERCHANT_KEY, INNER_8_1).as_deref(), Some(ENC_DATA_8_1));
    assert_eq!(wire::decrypt(MERCHANT_KEY, ENC_DATA_8_1).as_deref(), Some(INNER_8_1));
    // Only the first 32 characters are the key; a shorter MerchantKey is refused.
    assert_eq!(
        wire::encrypt(&MERCHANT_KEY[..32], INNER_8_1).as_deref(),
        Some(ENC_DATA_8_1)
    );
    assert_eq!(wire::encrypt("too-short", INNER_8_1), None);
    assert_ne!(
        wire::decrypt("0123456789abcdef0123456789abcdef", ENC_DATA_8_1).as_deref(),
        Some(INNER_8_1)
    );
}

#[test]
fn cancel_params_8_1_serialize_as_the_sample_inner_json() {
    let params = wire::CancelParams {
        mid: MID.into(),
        tid: TID.into(),
        cancel_amt: "1000".into(),
        cancel_msg: "test".into(),
        partial_cancel_code: wire::PARTIAL_FULL.into(),
        ..Default::default()
    };
    let text = serde_json::to_string(&params).unwrap();
    assert_eq!(text, INNER_8_1);
    assert_eq!(wire::encrypt(MERCHANT_KEY, &text).as_deref(), Some(ENC_DATA_8_1));
    let envelope = wire::Envelope {
        enc_data: ENC_DATA_8_1.into(),
        mid: MID.into(),
    };
    assert_eq!(
        serde_json::to_string(&envelope).unwrap(),
        format!(r#"{{"EncData":"{ENC_DATA_8_1}","Mid":"fakemid01m"}}"#)
    );
}

#[test]
fn hash_data_matches_sample_8_1() {
    assert_eq!(
        wire::cancel_hash(TID, MERCHANT_KEY, "1000", "0"),
        "vvXfr6KaFocYblJ2Z+WuRR/7NwTzbILj+K3PFoaQgmM="
    );
}

#[test]
fn cancel_responses_8_2_parse() {
    let success: wire::CancelAnswer = serde_json::from_str(
        r#"{"ResultCode":"2001","ResultMsg":"취소 성공","Tid":"t_fake0001m0101250101120000000","Mid":"fakemid01m","CancelAmt":"1000"}"#,
    )
    .unwrap();
    assert_eq!(success.result_code, wire::RESULT_CANCELLED);
    assert_eq!(success.cancel_amt.as_deref(), Some("1000"));
    let again: wire::CancelAnswer = serde_json::from_str(
        r#"{"ResultCode":"2013","ResultMsg":"취소 완료 거래임(기취소)","Tid":"t_fake0001m0101250101120000000","Mid":"fakemid01m"}"#,
    )
    .unwrap();
    assert_eq!(again.result_code, wire::RESULT_ALREADY_CANCELLED);
    let failure: wire::IssueAnswer =
        serde_json::from_str(r#"{"ResultCode":"9999","ResultMsg":"시스템에러 잠시후 재 거래"}"#).unwrap();
    assert_eq!(failure.result_code, wire::RESULT_SYSTEM_ERROR);
    assert_eq!(failure.tid, None);
}

#[test]
fn sign_value_matches_sample_8_3_in_both_digests() {
    assert_eq!(wire::SignDigest::default(), wire::SignDigest::Md5HexBase64);
    assert_eq!(
        wire::sign_value(wire::SignDigest::Md5HexBase64, TID, "4110", MERCHANT_KEY).as_deref(),
        Some("OGYxM2Q0NzU1Y2RjZmUwN2U5ZDUxYzNlZjI5Mzc0NjU=")
    );
    assert_eq!(
        wire::sign_value(wire::SignDigest::Sha256Base64, TID, "4110", MERCHANT_KEY).as_deref(),
        Some("UhsTno83snND4CpZ31AnHFBM7xvvLC/LXugkWwiA0CU=")
    );
    assert_eq!(
        wire::sign_value(wire::SignDigest::Md5HexBase64, "short", "4110", MERCHANT_KEY),
        None
    );
}

#[test]
fn the_sample_notice_8_3_verifies_and_a_forged_one_does_not() {
    let pairs = form::parse(NOTICE_8_3.as_bytes(), encoding_rs::UTF_8);
    assert!(wire::verify_notice(
        &pairs,
        MERCHANT_KEY,
        wire::SignDigest::Md5HexBase64
    ));
    assert!(!wire::verify_notice(
        &pairs,
        MERCHANT_KEY,
        wire::SignDigest::Sha256Base64
    ));
    assert!(!wire::verify_notice(
        &pairs,
        "0123456789abcdef0123456789abcdef",
        wire::SignDigest::Md5HexBase64
    ));
    let other_tid = NOTICE_8_3.replace(
        "TID=t_fake0001m0101250101120000000&OTID",
        "TID=t_fake0001m0101250101120000001&OTID",
    );
    assert!(!wire::verify_notice(
        &form::parse(other_tid.as_bytes(), encoding_rs::UTF_8),
        MERCHANT_KEY,
        wire::SignDigest::Md5HexBase64
    ));
}

#[test]
fn notice_8_3_parses() {
    let pairs = form::parse(NOTICE_8_3.as_bytes(), encoding_rs::UTF_8);
    assert_eq!(form::field(&pairs, "name"), Some("홍길동"));
    assert_eq!(form::field(&pairs, "ResultMsg"), Some("입금완료"));

    let connector = connector();
    for content_type in [Some("application/x-www-form-urlencoded; charset=utf-8"), None] {
        let notice = connector.parse_notice(content_type, NOTICE_8_3.as_bytes()).unwrap();
        assert_eq!(notice.reference, NoticeReference::PgTid(TID.into()));
        assert_eq!(notice.account_number.as_deref(), Some("99999900000001"));
        // AuthDate 250102101500 = 2025-01-02 10:15:00 KST
        assert_eq!(
            notice.event,
            NoticeEvent::Deposited {
                amount: Some(Won::new(1000).unwrap()),
                at: 1_735_780_500
            }
        );
        // SignValue is checked with the channel's MerchantKey; a good one still leads to a confirming query.
        let keyed = channel_with(vbank_core::ChannelSecrets {
            merchant_key: Some(MERCHANT_KEY.into()),
            ..Default::default()
        });
        let other_key = channel_with(vbank_core::ChannelSecrets {
            merchant_key: Some("0".repeat(64)),
            ..Default::default()
        });
        assert_eq!(
            connector.authenticate(&notice, &keyed, None),
            Authenticity::NeedsConfirmation
        );
        assert!(matches!(
            connector.authenticate(&notice, &other_key, None),
            Authenticity::Forged(_)
        ));
        assert_eq!(
            connector.authenticate(&notice, &channel_with(Default::default()), None),
            Authenticity::NeedsConfirmation
        );
    }
}

#[test]
fn notices_vbank_does_not_read_are_refused() {
    let connector = connector();
    let refund = NOTICE_8_3.replace("ResultCode=4110", "ResultCode=2211");
    assert!(connector.parse_notice(None, refund.as_bytes()).is_err());
    let card = NOTICE_8_3.replace("PayMethod=VBANK", "PayMethod=CARD");
    assert!(connector.parse_notice(None, card.as_bytes()).is_err());
    let no_amount = NOTICE_8_3.replace("Amt=1000", "Amt=");
    assert!(connector.parse_notice(None, no_amount.as_bytes()).is_err());
    assert!(connector.parse_notice(None, b"garbage").is_err());
}

#[test]
fn acknowledgements_are_exact() {
    let connector = connector();
    let ok = connector.acknowledge(true);
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, "<html><body>OK</body></html>");
    assert_eq!(ok.content_type, "text/html; charset=utf-8");
    let refused = connector.acknowledge(false);
    assert_eq!(refused.status, 200);
    assert!(!refused.body.contains("OK"), "Smartro resends on a body without OK");
}

#[test]
fn dates_are_kst() {
    assert_eq!(smartro::edi_date(1_735_700_400), "20250101120000");
    assert_eq!(smartro::parse_date_time("250102101500"), Some(1_735_780_500));
    assert_eq!(smartro::parse_date_time("20250102101500"), Some(1_735_780_500));
    // VbankExpDate 20250108 closes at 23:59:59 KST.
    assert_eq!(smartro::end_of_day("20250108"), Some(1_736_348_399));
}

#[test]
fn banks_and_required_fields() {
    let connector = connector();
    for code in ["004", "088", "020", "081"] {
        assert!(connector.offers_bank(BankCode::from_kftc(code).unwrap()), "{code}");
    }
    assert!(!connector.offers_bank(BankCode::from_kftc("092").unwrap()));
    assert!(wire::TEST_UNAVAILABLE_BANKS.contains(&"004"));
    assert_eq!(wire::moid_of("imp_123456789012"), "imp123456789012");
    assert_eq!(connector.refund_bank("088"), BankCode::from_kftc("088"));
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
