//! NICE new module (`nice_v2`) pinned to `spec/pg-samples.md` §5: the Basic-auth example,
//! the worked signData and signature, the sample answers and webhook.

use vbank_core::Won;
use vbank_pg::nice_v2::{self, wire};
use vbank_pg::{Acknowledgement, Authenticity, Connector, NoticeEvent, NoticeReference, PgState};

const TID: &str = "nicuntct1m0101210727200125A056";
const EDI_DATE: &str = "2025-01-01T12:00:00.000+0900";
/// 2025-01-01 12:00:00 KST.
const NOON: i64 = 1_735_700_400;
/// 2025-01-02 10:15:00 KST.
const DEPOSITED_AT: i64 = 1_735_780_500;

const CANCEL_RESPONSE_5_2: &str = r#"{"resultCode":"0000","resultMsg":"정상 처리되었습니다.","tid":"nicuntct1m0101210727200125A056","cancelledTid":"nicuntct1m0101250101120001A001","orderId":"merchant-order-id","ediDate":"2025-01-01T12:00:00.000+0900","signature":"f043c2bdc9561eca2678fd38a6f834acada31e581777fc5118e689c7d4a14632","status":"cancelled","paidAt":"0","failedAt":"0","cancelledAt":"2025-01-01T12:00:01.000+0900","payMethod":"vbank","amount":1000,"balanceAmt":0,"goodsName":"test","useEscrow":false,"currency":"KRW","channel":"pc","vbank":{"vbankCode":"004","vbankName":"국민","vbankNumber":"99999900000001","vbankExpDate":"2025-01-08T23:59:59.000+0900","vbankHolder":"테스트상점"},"cancels":[{"tid":"nicuntct1m0101250101120001A001","amount":1000,"cancelledAt":"2025-01-01T12:00:01.000+0900","reason":"sample-code","receiptUrl":null}]}"#;

const WEBHOOK_5_3: &str = r#"{"resultCode":"0000","resultMsg":"정상 처리되었습니다.","tid":"nicuntct1m0101210727200125A056","orderId":"merchant-order-id","ediDate":"2025-01-01T12:00:00.000+0900","signature":"f043c2bdc9561eca2678fd38a6f834acada31e581777fc5118e689c7d4a14632","status":"paid","paidAt":"2025-01-02T10:15:00.000+0900","failedAt":"0","cancelledAt":"0","payMethod":"vbank","amount":1000,"balanceAmt":1000,"goodsName":"test","useEscrow":false,"currency":"KRW","vbank":{"vbankCode":"004","vbankName":"국민","vbankNumber":"99999900000001","vbankExpDate":"2025-01-08T23:59:59.000+0900","vbankHolder":"테스트상점"}}"#;

fn connector() -> nice_v2::NiceV2 {
    nice_v2::NiceV2::new(reqwest::Client::new())
}

#[test]
fn basic_auth_matches_the_manuals_example() {
    assert_eq!(
        wire::basic_auth(wire::TEST_CLIENT_KEY, wire::TEST_SECRET_KEY),
        "Basic YWYwZDExNjIzNmRmNDM3ZjgzMTQ4M2VlOWM1MDBiYzQ6NDMzYTg0MjFiZTc1NGIzNDk4OTA0OGNmMTQ4YTVmZmM="
    );
    assert_eq!(wire::TEST_CLIENT_KEY, "af0d116236df437f831483ee9c500bc4");
    assert_eq!(wire::TEST_SECRET_KEY, "433a8421be754b34989048cf148a5ffc");
}

#[test]
fn cancel_sign_data_matches_sample_5_1() {
    assert_eq!(
        wire::cancel_sign_data(TID, EDI_DATE, wire::TEST_SECRET_KEY),
        "9ede2e8edbfc3ce6c54930dd8fc74608209331ba4fd4144b5ef0a20c1b592f78"
    );
}

#[test]
fn signature_matches_sample_5_2() {
    assert_eq!(
        wire::signature(TID, 1000, EDI_DATE, wire::TEST_SECRET_KEY),
        "f043c2bdc9561eca2678fd38a6f834acada31e581777fc5118e689c7d4a14632"
    );
}

#[test]
fn edi_date_is_iso_8601_in_kst_as_the_samples_write_it() {
    assert_eq!(wire::edi_date(NOON), EDI_DATE);
    assert_eq!(wire::parse_time(EDI_DATE), Some(NOON));
    assert_eq!(wire::parse_time("2025-01-01T12:00:00+09:00"), Some(NOON));
    assert_eq!(wire::parse_time("0"), None);
}

#[test]
fn the_cancel_request_body_is_sample_5_1() {
    let body = wire::CancelRequest {
        reason: "sample-code".into(),
        order_id: "merchant-order-id".into(),
        edi_date: Some(EDI_DATE.into()),
        sign_data: Some(wire::cancel_sign_data(TID, EDI_DATE, wire::TEST_SECRET_KEY)),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&body).unwrap(),
        r#"{"reason":"sample-code","orderId":"merchant-order-id","ediDate":"2025-01-01T12:00:00.000+0900","signData":"9ede2e8edbfc3ce6c54930dd8fc74608209331ba4fd4144b5ef0a20c1b592f78"}"#
    );
}

#[test]
fn the_cancel_response_sample_5_2_verifies_and_maps_to_cancelled() {
    let payment: wire::Payment = serde_json::from_str(CANCEL_RESPONSE_5_2).unwrap();
    assert_eq!(payment.result_code, wire::RESULT_OK);
    assert!(wire::signature_matches(&payment, wire::TEST_SECRET_KEY));
    assert!(!wire::signature_matches(&payment, "not-the-secret-key"));
    assert_eq!(
        nice_v2::state_of(&payment, 0).unwrap(),
        PgState::Cancelled {
            cancel_tid: "nicuntct1m0101250101120001A001".into(),
            at: NOON + 1
        }
    );
    let failure: wire::Payment = serde_json::from_str(
        r#"{"resultCode":"2013","resultMsg":"취소 완료 거래","tid":"nicuntct1m0101210727200125A056","orderId":"merchant-order-id"}"#,
    )
    .unwrap();
    assert_eq!(failure.result_code, wire::RESULT_ALREADY_CANCELLED);
}

#[test]
fn the_status_set_maps_to_the_pg_state() {
    let mut payment: wire::Payment = serde_json::from_str(WEBHOOK_5_3).unwrap();
    let deposited = PgState::Deposited {
        amount: Won::new(1000).unwrap(),
        at: DEPOSITED_AT,
    };
    assert_eq!(nice_v2::state_of(&payment, 0).unwrap(), deposited);
    // Cancelled after it was paid: a refund of a deposited account.
    payment.status = Some("cancelled".into());
    assert_eq!(nice_v2::state_of(&payment, 0).unwrap(), deposited);
    payment.status = Some("partialCancelled".into());
    assert_eq!(nice_v2::state_of(&payment, 0).unwrap(), deposited);
    payment.paid_at = Some("0".into());
    for waiting in ["ready", "expired"] {
        payment.status = Some(waiting.into());
        assert_eq!(nice_v2::state_of(&payment, 0).unwrap(), PgState::AwaitingDeposit);
    }
    payment.status = Some("failed".into());
    assert!(nice_v2::state_of(&payment, 0).is_err());
}

#[test]
fn the_webhook_sample_5_3_parses_and_its_signature_verifies() {
    let connector = connector();
    let notice = connector
        .parse_notice(Some("application/json;charset=utf-8"), WEBHOOK_5_3.as_bytes())
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
    assert!(wire::webhook_signature_matches(
        WEBHOOK_5_3.as_bytes(),
        wire::TEST_SECRET_KEY
    ));
    assert!(!wire::webhook_signature_matches(
        WEBHOOK_5_3.replace("\"amount\":1000", "\"amount\":100").as_bytes(),
        wire::TEST_SECRET_KEY
    ));
    // The signature is checked with the channel's secretKey; a good one still leads to a confirming query.
    let keyed = channel_with(vbank_core::ChannelSecrets {
        secret_key: Some(wire::TEST_SECRET_KEY.into()),
        ..Default::default()
    });
    let other_key = channel_with(vbank_core::ChannelSecrets {
        secret_key: Some("0".repeat(32)),
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

#[test]
fn a_webhook_without_a_well_formed_signature_is_refused() {
    let connector = connector();
    let garbled = WEBHOOK_5_3.replace(
        "f043c2bdc9561eca2678fd38a6f834acada31e581777fc5118e689c7d4a14632",
        "forged",
    );
    let notice = connector.parse_notice(None, garbled.as_bytes()).unwrap();
    let keyed = channel_with(vbank_core::ChannelSecrets {
        secret_key: Some(wire::TEST_SECRET_KEY.into()),
        ..Default::default()
    });
    assert!(matches!(
        connector.authenticate(&notice, &keyed, None),
        Authenticity::Forged(_)
    ));
    let unsigned = WEBHOOK_5_3.replace(
        "\"signature\":\"f043c2bdc9561eca2678fd38a6f834acada31e581777fc5118e689c7d4a14632\",",
        "",
    );
    assert!(connector.parse_notice(None, unsigned.as_bytes()).is_err());
}

#[test]
fn the_legacy_form_notice_is_read_on_the_same_route() {
    let body = vbank_pg::form::encode(
        [
            ("PayMethod", "VBANK"),
            ("MID", wire::TEST_MID),
            ("TID", TID),
            ("Amt", "1000"),
            ("ResultCode", "4110"),
            ("AuthDate", "250102101500"),
            ("StateCd", "0"),
            ("VbankNum", "99999900000001"),
            ("VbankInputName", "홍길동"),
        ],
        encoding_rs::EUC_KR,
    );
    let connector = connector();
    let notice = connector.parse_notice(None, body.as_bytes()).unwrap();
    assert_eq!(notice.reference, NoticeReference::PgTid(TID.into()));
    assert_eq!(
        notice.event,
        NoticeEvent::Deposited {
            amount: Some(Won::new(1000).unwrap()),
            at: DEPOSITED_AT
        }
    );
    assert_eq!(
        connector.authenticate(&notice, &channel_with(Default::default()), None),
        Authenticity::NeedsConfirmation
    );
}

#[test]
fn acknowledgements_are_exact() {
    let connector = connector();
    assert_eq!(
        connector.acknowledge(true),
        Acknowledgement {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: "OK".into()
        }
    );
    let refused = connector.acknowledge(false);
    assert_ne!(refused.body, "OK");
    assert_eq!(refused.status, 400);
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
