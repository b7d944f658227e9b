//! KICC EasyPay fixtures pinned to `spec/pg-samples.md` §6: the worked `msgAuthValue`,
//! the revise request and answers, the JSON and legacy EP8 notifications and the exact
//! acknowledgements.

use vbank_core::{BankCode, Won};
use vbank_pg::kicc::{self, wire};
use vbank_pg::{Authenticity, Connector, NoticeEvent, NoticeReference};

const SECRET_KEY: &str = "easypay!KICCTEST";
const PG_CNO: &str = "20250101120000000001";
/// pg-samples.md 6.1's worked value.
const SAMPLE_MAC: &str = "b5cb37381dd90b1717bec5f2735514420237e41f3b372e6a82ce88c0dfdad2ef";

fn connector() -> kicc::Kicc {
    kicc::Kicc::new(reqwest::Client::new(), "127.0.0.1".into())
}

#[test]
fn msg_auth_value_matches_sample_6_1() {
    assert_eq!(wire::msg_auth_value(SECRET_KEY, PG_CNO, "FAKE-REVISE-0001"), SAMPLE_MAC);
    // The formula: hex(HMAC-SHA256(secretKey, pgCno + "|" + shopTransactionId)).
    assert_eq!(
        wire::hmac_hex(SECRET_KEY, "20250101120000000001|FAKE-REVISE-0001"),
        SAMPLE_MAC
    );
}

#[test]
fn the_revise_request_of_sample_6_1_round_trips_and_verifies() {
    let sample = r#"{"mallId":"T5102001","shopTransactionId":"FAKE-REVISE-0001","pgCno":"20250101120000000001","reviseTypeCode":"40","reviseMessage":"채번취소","clientIp":"127.0.0.1","clientId":"admin","cancelReqDate":"20250101","msgAuthValue":"b5cb37381dd90b1717bec5f2735514420237e41f3b372e6a82ce88c0dfdad2ef"}"#;
    let request: wire::ReviseRequest = serde_json::from_str(sample).unwrap();
    assert_eq!(request.revise_type_code, wire::REVISE_CANCEL);
    assert_eq!(
        wire::msg_auth_value(SECRET_KEY, &request.pg_cno, &request.shop_transaction_id),
        request.msg_auth_value
    );
    let ours = serde_json::to_value(&request).unwrap();
    let sample: serde_json::Value = serde_json::from_str(sample).unwrap();
    assert_eq!(ours, sample, "a cancel carries no refund fields");
}

#[test]
fn the_revise_answers_of_sample_6_2_parse() {
    let ok: wire::ReviseResponse = serde_json::from_str(
        r#"{"resCd":"0000","resMsg":"정상취소","mallId":"T5102001","shopTransactionId":"FAKE-REVISE-0001","pgCno":"20250101120000000001","reviseInfo":{"pgCno":"20250101120500000002","amount":1000}}"#,
    )
    .unwrap();
    assert_eq!(ok.res_cd, wire::RES_OK);
    let info = ok.revise_info.unwrap();
    assert_eq!(info.pg_cno, "20250101120500000002");
    assert_eq!(info.amount, 1000);
    let refused: wire::ReviseResponse = serde_json::from_str(r#"{"resCd":"R102","resMsg":"기취소 거래"}"#).unwrap();
    assert_eq!(refused.res_cd, wire::RES_ALREADY_CANCELLED);
}

#[test]
fn the_issue_answer_mac_follows_its_formula() {
    assert_eq!(
        wire::approval_auth_value(SECRET_KEY, PG_CNO, 1000, "20250101120000"),
        wire::hmac_hex(SECRET_KEY, "20250101120000000001|1000|20250101120000")
    );
}

/// 2025-01-02 10:15:00 KST.
const DEPOSITED_AT: i64 = 1_735_780_500;

#[test]
fn the_json_notification_of_sample_6_3_parses() {
    let connector = connector();
    let sample = r#"{"resCd":"0000","resMsg":"정상","mallId":"T5102001","notiType":"30","pgCno":"20250101120000000001","shopOrderNo":"FAKE-ORDER-0001","amount":1000,"approvalDate":"20250102101500"}"#;
    let notice = connector
        .parse_notice(Some("application/json; charset=utf-8"), sample.as_bytes())
        .unwrap();
    assert_eq!(notice.reference, NoticeReference::PgTid(PG_CNO.into()));
    assert_eq!(
        notice.event,
        NoticeEvent::Deposited {
            amount: Some(Won::new(1000).unwrap()),
            at: DEPOSITED_AT
        }
    );
    assert_eq!(notice.account_number, None);
    assert_eq!(
        connector.authenticate(&notice, &channel_with(Default::default()), None),
        Authenticity::NeedsConfirmation
    );

    // With the account and deposit time vbank's simulator sends ([P] keys), amount as text.
    let full = r#"{"resCd":"0000","resMsg":"정상","mallId":"T5102001","notiType":"30","pgCno":"20250101120000000001","amount":"1000","accountNo":"51020000000001","depositDate":"20250102101500"}"#;
    let notice = connector.parse_notice(None, full.as_bytes()).unwrap();
    assert_eq!(notice.account_number.as_deref(), Some("51020000000001"));
    assert_eq!(
        notice.event,
        NoticeEvent::Deposited {
            amount: Some(Won::new(1000).unwrap()),
            at: DEPOSITED_AT
        }
    );
}

#[test]
fn only_successful_deposit_notifications_parse() {
    let connector = connector();
    let sample = r#"{"resCd":"0000","resMsg":"정상","mallId":"T5102001","notiType":"30","pgCno":"20250101120000000001","amount":1000,"approvalDate":"20250102101500"}"#;
    for broken in [
        sample.replace(r#""notiType":"30""#, r#""notiType":"20""#),
        sample.replace(r#""resCd":"0000""#, r#""resCd":"3001""#),
        sample.replace(r#""amount":1000,"#, ""),
        sample.replace(r#""amount":1000"#, r#""amount":-5"#),
        sample.replace("20250102101500", "yesterday"),
    ] {
        assert!(connector.parse_notice(None, broken.as_bytes()).is_err(), "{broken}");
    }
}

#[test]
fn the_legacy_ep8_notification_parses_from_euc_kr() {
    let connector = connector();
    // deposit_nm=홍길동 in EUC-KR.
    let body = "res_cd=0000&res_msg=%C1%A4%BB%F3&cno=20250101120000000001&memb_id=T5102001&amount=1000&order_no=FAKE-ORDER-0001&noti_type=30&auth_no=&tran_date=20250102101500&bank_cd=004&bank_nm=&account_no=51020000000001&deposit_nm=%C8%AB%B1%E6%B5%BF&expire_date=20250108&account_type=V";
    let notice = connector
        .parse_notice(Some("application/x-www-form-urlencoded"), body.as_bytes())
        .unwrap();
    assert_eq!(notice.reference, NoticeReference::PgTid(PG_CNO.into()));
    assert_eq!(notice.account_number.as_deref(), Some("51020000000001"));
    assert_eq!(
        notice.event,
        NoticeEvent::Deposited {
            amount: Some(Won::new(1000).unwrap()),
            at: DEPOSITED_AT
        }
    );
    let change = body.replace("noti_type=30", "noti_type=20");
    assert!(connector
        .parse_notice(Some("application/x-www-form-urlencoded"), change.as_bytes())
        .is_err());
}

#[test]
fn the_acknowledgements_are_exact() {
    let connector = connector();
    let ack = connector.acknowledge(true);
    assert_eq!(ack.status, 200);
    assert_eq!(ack.content_type, "application/json; charset=utf-8");
    assert_eq!(ack.body, r#"{"resCd":"0000","resMsg":"Success"}"#);
    assert_eq!(connector.acknowledge(false).body, r#"{"resCd":"5001","resMsg":"FAIL"}"#);
    assert_eq!(wire::LEGACY_NOTI_ACK.as_bytes(), b"res_cd=0000\x1fres_msg=SUCCESS");
}

#[test]
fn kicc_bank_codes_are_kftc_codes() {
    let connector = connector();
    assert_eq!(connector.refund_bank("088"), BankCode::from_kftc("088"));
    assert_eq!(connector.refund_bank("BK88"), None);
    assert!(connector.offers_bank(BankCode::from_kftc("004").unwrap()));
}

#[test]
fn shop_transaction_ids_are_fresh() {
    let first = kicc::shop_transaction_id(1_735_700_400);
    let second = kicc::shop_transaction_id(1_735_700_400);
    assert_ne!(first, second);
    assert!(first.starts_with("VB20250101120000"), "{first}");
    assert!(first.len() <= 60);
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
