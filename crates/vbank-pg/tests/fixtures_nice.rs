//! NICE (old web API, `nice`) pinned to `spec/pg-samples.md` §4: the worked SignData
//! values, the sample answers and the EUC-KR "결제데이터통보", so that a mistake shared by
//! the connector and its simulator fails here.

use vbank_core::{BankCode, Won};
use vbank_pg::nice::{self, wire};
use vbank_pg::{form, Acknowledgement, Authenticity, Connector, NoticeEvent, NoticeReference, PgState};

const TID: &str = "nicepay00m03012501011200001234";
/// 2025-01-01 12:00:00 KST, the samples' request time.
const NOON: i64 = 1_735_700_400;
/// 2025-01-02 10:15:00 KST, the sample deposit.
const DEPOSITED_AT: i64 = 1_735_780_500;

fn connector() -> nice::Nice {
    nice::Nice::new(reqwest::Client::new())
}

#[test]
fn test_credentials_are_the_published_ones() {
    assert_eq!(wire::TEST_MID, "nicepay00m");
    assert_eq!(
        wire::TEST_MERCHANT_KEY,
        "EYzu8jGGMfqaDEp76gSckuvnaHHu+bC4opsSN6lHv3b2lurNYkVXrZ7Z1AoqQnXI3eLuaUFyoRNC6FkrzVjceg=="
    );
}

#[test]
fn issue_sign_data_matches_sample_4_1() {
    assert_eq!(
        wire::issue_sign_data(
            wire::TEST_MID,
            "1000",
            "20250101120000",
            "FAKE-ORDER-0001",
            wire::TEST_MERCHANT_KEY
        ),
        "5c114e17801ac2926b5034780d112fa37d3d995e63cd8239f93c96a41406d242"
    );
}

#[test]
fn cancel_sign_data_matches_sample_4_3() {
    assert_eq!(
        wire::cancel_sign_data(wire::TEST_MID, "1000", "20250101120000", wire::TEST_MERCHANT_KEY),
        "539ff47cb1261f4d70873e09e753d86f9a560700bbf6694af37d91efbcd63527"
    );
}

#[test]
fn inquiry_sign_data_is_tid_mid_edi_date_key() {
    let input = format!("{TID}{}20250101120000{}", wire::TEST_MID, wire::TEST_MERCHANT_KEY);
    assert_eq!(
        wire::inquiry_sign_data(TID, wire::TEST_MID, "20250101120000", wire::TEST_MERCHANT_KEY),
        wire::sha256_hex(&[&input])
    );
}

#[test]
fn edi_date_and_tid_follow_the_samples_layout() {
    assert_eq!(wire::edi_date(NOON), "20250101120000");
    assert_eq!(wire::make_tid(wire::TEST_MID, NOON, 1234), TID);
    assert_eq!(wire::make_tid(wire::TEST_MID, NOON, 7).len(), 30);
}

#[test]
fn the_sample_4_1_request_body_is_what_the_fields_encode_to() {
    let body = form::encode(
        [
            ("TID", TID),
            ("MID", wire::TEST_MID),
            ("EdiDate", "20250101120000"),
            ("Moid", "FAKE-ORDER-0001"),
            ("Amt", "1000"),
            ("GoodsName", "test"),
            ("BankCode", "004"),
            ("VbankExpDate", "20250108"),
            ("VbankAccountName", "test"),
            ("BuyerName", "test"),
            ("CharSet", "utf-8"),
            (
                "SignData",
                "5c114e17801ac2926b5034780d112fa37d3d995e63cd8239f93c96a41406d242",
            ),
        ],
        encoding_rs::EUC_KR,
    );
    assert_eq!(
        body,
        "TID=nicepay00m03012501011200001234&MID=nicepay00m&EdiDate=20250101120000&Moid=FAKE-ORDER-0001&Amt=1000&GoodsName=test&BankCode=004&VbankExpDate=20250108&VbankAccountName=test&BuyerName=test&CharSet=utf-8&SignData=5c114e17801ac2926b5034780d112fa37d3d995e63cd8239f93c96a41406d242"
    );
}

#[test]
fn issue_response_sample_4_2_parses() {
    let body = r#"{"ResultCode":"4100","ResultMsg":"가상계좌 발급 성공","TID":"nicepay00m03012501011200001234","Moid":"FAKE-ORDER-0001","Amt":"1000","AuthDate":"250101120001","VbankBankCode":"004","VbankBankName":"국민","VbankNum":"99999900000001","VbankExpDate":"20250108","VbankExpTime":"235959"}"#;
    let response: wire::IssueResponse = serde_json::from_str(body).unwrap();
    assert_eq!(response.result_code, wire::RESULT_ISSUED);
    assert_eq!(response.tid.as_deref(), Some(TID));
    assert_eq!(response.vbank_num.as_deref(), Some("99999900000001"));
    assert_eq!(
        BankCode::from_kftc(response.vbank_bank_code.as_deref().unwrap()),
        BankCode::from_kftc("004")
    );
    // 2025-01-08 23:59:59 KST
    assert_eq!(nice::parse_kst("20250108", "235959"), Some(1_736_348_399));
    assert_eq!(nice::parse_nice_time("250101120001"), Some(NOON + 1));
}

#[test]
fn cancel_responses_sample_4_4_parse() {
    let success: wire::CancelResponse = serde_json::from_str(
        r#"{"ResultCode":"2001","ResultMsg":"취소 성공","TID":"nicepay00m03012501011200001234","CancelAmt":"1000","CancelDate":"20250101","CancelTime":"120001"}"#,
    )
    .unwrap();
    assert_eq!(success.result_code, wire::RESULT_CANCELLED);
    assert_eq!(success.cancel_amount.as_deref(), Some("1000"));
    assert_eq!(
        nice::parse_kst(
            success.cancel_date.as_deref().unwrap(),
            success.cancel_time.as_deref().unwrap()
        ),
        Some(NOON + 1)
    );
    let already: wire::CancelResponse =
        serde_json::from_str(r#"{"ResultCode":"2013","ResultMsg":"취소 완료 거래"}"#).unwrap();
    assert_eq!(already.result_code, wire::RESULT_ALREADY_CANCELLED);
    let forged: wire::CancelResponse =
        serde_json::from_str(r#"{"ResultCode":"A101","ResultMsg":"SIGN DATA 검증에 실패하였습니다"}"#).unwrap();
    assert_eq!(forged.result_code, wire::RESULT_SIGN_FAILED);
    assert_eq!(forged.result_msg, wire::MESSAGE_SIGN_FAILED);
}

#[test]
fn the_code_table_sample_4_6_is_what_the_connector_reads() {
    assert_eq!(wire::RESULT_ISSUED, "4100");
    assert_eq!(wire::RESULT_DEPOSITED, "4110");
    assert_eq!(wire::RESULT_CANCELLED, "2001");
    assert_eq!(wire::RESULT_REFUNDED, "2211");
    assert_eq!(wire::RESULT_ALREADY_CANCELLED, "2013");
    assert_eq!(wire::RESULT_CANCEL_REQUESTED, "2015");
    assert_eq!(wire::RESULT_DEPOSIT_INTO_CANCELLED, "4123");
    assert_eq!(wire::RESULT_DEPOSIT_DUPLICATE, "4124");
    assert_eq!(wire::RESULT_SIGN_FAILED, "A101");
}

/// pg-samples.md 4.5, byte for byte (EUC-KR percent-encoded).
const NOTICE_4_5: &[u8] = b"PayMethod=VBANK&MID=nicepay00m&TID=nicepay00m03012501011200001234&MOID=FAKE-ORDER-0001&Amt=1000&GoodsName=test&name=%C8%AB%B1%E6%B5%BF&MallUserID=&ResultCode=4110&ResultMsg=%B0%A1%BB%F3%B0%E8%C1%C2+%C0%D4%B1%DD+%BC%BA%B0%F8&AuthCode=&AuthDate=250102101500&StateCd=0&CancelDate=&TransType=0&VbankNum=99999900000001&VbankName=%B1%B9%B9%CE&VbankInputName=%C8%AB%B1%E6%B5%BF&FnCd=004&FnName=%B1%B9%B9%CE&BuyerAuthNum=&BuyerEmail=&RcptAuthCode=&RcptTID=&RcptType=0";

#[test]
fn the_deposit_notice_sample_4_5_parses_from_euc_kr() {
    let pairs = form::parse(NOTICE_4_5, encoding_rs::EUC_KR);
    assert_eq!(form::field(&pairs, wire::noti::RESULT_MSG), Some("가상계좌 입금 성공"));
    assert_eq!(form::field(&pairs, wire::noti::VBANK_INPUT_NAME), Some("홍길동"));
    assert_eq!(form::field(&pairs, wire::noti::FN_NAME), Some("국민"));

    let connector = connector();
    let notice = connector
        .parse_notice(Some("application/x-www-form-urlencoded; charset=euc-kr"), NOTICE_4_5)
        .unwrap();
    assert_eq!(notice.reference, NoticeReference::PgTid(TID.into()));
    assert_eq!(notice.account_number.as_deref(), Some("99999900000001"));
    assert_eq!(
        notice.event,
        NoticeEvent::Deposited {
            amount: Some(Won::new(1000).unwrap()),
            at: DEPOSITED_AT
        }
    );
    // Without a charset in the content type, NICE's default EUC-KR is assumed.
    assert_eq!(
        connector
            .parse_notice(Some("application/x-www-form-urlencoded"), NOTICE_4_5)
            .unwrap(),
        notice
    );
    // NICE signs nothing: a notice is confirmed with NICE before it counts.
    assert_eq!(
        connector.authenticate(&notice, &channel_with(Default::default()), None),
        Authenticity::NeedsConfirmation
    );
}

#[test]
fn a_notice_that_is_not_a_virtual_account_deposit_is_unreadable() {
    let connector = connector();
    let card = String::from_utf8_lossy(NOTICE_4_5).replace("PayMethod=VBANK", "PayMethod=CARD");
    assert!(connector.parse_notice(None, card.as_bytes()).is_err());
    let no_tid = String::from_utf8_lossy(NOTICE_4_5).replace("TID=nicepay00m03012501011200001234&", "");
    assert!(connector.parse_notice(None, no_tid.as_bytes()).is_err());
    let bad_amount = String::from_utf8_lossy(NOTICE_4_5).replace("Amt=1000", "Amt=ten");
    assert!(connector.parse_notice(None, bad_amount.as_bytes()).is_err());
}

#[test]
fn acknowledgements_are_exact() {
    let connector = connector();
    assert_eq!(
        connector.acknowledge(true),
        Acknowledgement {
            status: 200,
            content_type: "text/html; charset=euc-kr",
            body: "OK".into()
        }
    );
    let refused = connector.acknowledge(false);
    assert_eq!(refused.status, 200);
    assert_eq!(refused.body, "FAIL");
}

#[test]
fn the_inquiry_maps_to_the_pg_state() {
    let inquiry = |status: &str, vbank_state: &str| wire::InquiryResponse {
        result_code: wire::RESULT_INQUIRY_OK.into(),
        result_msg: "정상 처리되었습니다.".into(),
        tid: Some(TID.into()),
        status: Some(status.into()),
        auth_date: Some("250102101500".into()),
        moid: Some("FAKE-ORDER-0001".into()),
        amount: Some("1000".into()),
        vbank_state: Some(vbank_state.into()),
        cancel_date: Some("20250101".into()),
        cancel_time: Some("120001".into()),
        ..Default::default()
    };
    assert_eq!(
        nice::state_of(&inquiry("0", "0"), TID, NOON).unwrap(),
        PgState::AwaitingDeposit
    );
    let deposited = PgState::Deposited {
        amount: Won::new(1000).unwrap(),
        at: DEPOSITED_AT,
    };
    assert_eq!(nice::state_of(&inquiry("0", "1"), TID, NOON).unwrap(), deposited);
    // Refunded after the deposit: still an account that was deposited into.
    assert_eq!(nice::state_of(&inquiry("1", "1"), TID, NOON).unwrap(), deposited);
    assert_eq!(
        nice::state_of(&inquiry("1", "0"), TID, 0).unwrap(),
        PgState::Cancelled {
            cancel_tid: TID.into(),
            at: NOON + 1
        }
    );
    assert!(nice::state_of(&inquiry("0", "7"), TID, NOON).is_err());
}

#[test]
fn nice_issues_at_its_listed_banks_only() {
    let connector = connector();
    assert!(connector.offers_bank(BankCode::from_kftc("004").unwrap()));
    assert!(connector.offers_bank(BankCode::from_kftc("088").unwrap()));
    assert!(!connector.offers_bank(BankCode::from_kftc("090").unwrap()));
    assert_eq!(connector.refund_bank("088"), BankCode::from_kftc("088"));
    assert_eq!(connector.refund_bank("88"), None);
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
