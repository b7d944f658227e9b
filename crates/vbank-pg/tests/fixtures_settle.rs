//! Settle Bank / Hecto fixtures pinned to `spec/pg-samples.md` §7 and §9: the worked hashes,
//! AES values and sample messages, so that a mistake shared by the connector and its
//! simulator fails here.

use vbank_core::Won;
use vbank_pg::settle::{self, wire};
use vbank_pg::{form, Authenticity, Connector, NoticeEvent, NoticeReference};

const MCHT_ID: &str = "nx_mid_il";
const HASH_KEY: &str = "ST1009281328226982205";
const AES_KEY: &str = "pgSettle30y739r82jtd709yOfZ2yK5K";
const ORDER: &str = "FAKE-ORDER-0001";
const ISSUED_TID: &str = "STFP_PGVAnx_mid_il0250101120000M0000001";

/// pg-samples §7.5, byte for byte (EUC-KR percent-encoding).
const NOTICE_7_5: &str = "outStatCd=0021&trdNo=STFP_PGVAnx_mid_il0250102101500M0000003&method=VA&bizType=B1&mchtId=nx_mid_il&mchtTrdNo=FAKE-ORDER-0001&mchtCustNm=&mchtName=&pmtprdNm=&trdDtm=20250101140000&trdAmt=1000&bankCd=004&bankNm=%B1%B9%B9%CE&acntType=1&vAcntNo=99999900000001&expireDt=20250108235959&AcntPrintNm=&dpstrNm=%C8%AB%B1%E6%B5%BF&orgTrdNo=STFP_PGVAnx_mid_il0250101120000M0000001&cnclType=&mchtParam=&pktHash=8a60fb698808b14df91fbe11a56344aec481c3b6d1e64c39e43330ce93926ebb";

fn connector() -> settle::Settle {
    settle::Settle::new(reqwest::Client::new())
}

#[test]
fn aes_matches_hectos_published_vector_9_3() {
    assert_eq!(
        wire::encrypt("12345678901234567890123456789012", "1111").as_deref(),
        Some("Gzv1ziVXlhyFS0EYMbHvqA==")
    );
    assert_eq!(
        wire::decrypt("12345678901234567890123456789012", "Gzv1ziVXlhyFS0EYMbHvqA==").as_deref(),
        Some("1111")
    );
}

#[test]
fn aes_of_the_sample_amount_and_account_7_1_and_7_2() {
    assert_eq!(
        wire::encrypt(AES_KEY, "1000").as_deref(),
        Some("AntV/eDpxIaKF0hJiePDKA==")
    );
    assert_eq!(
        wire::encrypt(AES_KEY, "99999900000001").as_deref(),
        Some("8OZUnWW9amCueWWpZOhAPQ==")
    );
    assert_eq!(
        wire::decrypt(AES_KEY, "8OZUnWW9amCueWWpZOhAPQ==").as_deref(),
        Some("99999900000001")
    );
    // A wrong key does not decrypt to the account; a key of the wrong size is refused.
    assert_ne!(
        wire::decrypt("12345678901234567890123456789012", "8OZUnWW9amCueWWpZOhAPQ==").as_deref(),
        Some("99999900000001")
    );
    assert_eq!(wire::encrypt("short", "1000"), None);
}

#[test]
fn issue_hash_matches_sample_7_1() {
    assert_eq!(
        wire::issue_hash("20250101", "120000", MCHT_ID, ORDER, "1000", HASH_KEY),
        "fa03b8ae2fd276301d545c907fb5ec5013317a2ccc290f45797cc1a025b753b9"
    );
}

#[test]
fn issue_request_7_1_serializes_as_the_sample() {
    let request = wire::Envelope {
        params: wire::Params::request(wire::VER, MCHT_ID, wire::BIZ_ISSUE, ORDER, "20250101", "120000"),
        data: wire::IssueData {
            pkt_hash: wire::issue_hash("20250101", "120000", MCHT_ID, ORDER, "1000", HASH_KEY),
            bank_cd: "004".into(),
            acnt_type: "1".into(),
            v_acnt_no: None,
            expire_date: "20250108235959".into(),
            prdt_nm: "test".into(),
            seller_nm: "test".into(),
            ord_nm: "test".into(),
            trd_amt: wire::encrypt(AES_KEY, "1000").unwrap(),
            dpstr_nm: "test".into(),
            noti_url: Some("https://shop.example.test/noti".into()),
            mcht_param: Some(String::new()),
        },
    };
    assert_eq!(
        serde_json::to_string(&request).unwrap(),
        r#"{"params":{"mchtId":"nx_mid_il","ver":"0A19","method":"VA","bizType":"A0","encCd":"23","mchtTrdNo":"FAKE-ORDER-0001","trdDt":"20250101","trdTm":"120000","mobileYn":"N","osType":"W"},"data":{"pktHash":"fa03b8ae2fd276301d545c907fb5ec5013317a2ccc290f45797cc1a025b753b9","bankCd":"004","acntType":"1","expireDate":"20250108235959","prdtNm":"test","sellerNm":"test","ordNm":"test","trdAmt":"AntV/eDpxIaKF0hJiePDKA==","dpstrNm":"test","notiUrl":"https://shop.example.test/noti","mchtParam":""}}"#
    );
}

#[test]
fn issue_response_7_2_parses_and_its_hash_verifies() {
    let body = r#"{"params":{"mchtId":"nx_mid_il","ver":"0A19","method":"VA","bizType":"A0","encCd":"23","mchtTrdNo":"FAKE-ORDER-0001","trdDt":"20250101","trdTm":"120000","outStatCd":"0021","outRsltCd":"0000","outRsltMsg":"%EC%A0%95%EC%83%81%EC%B2%98%EB%A6%AC"},"data":{"pktHash":"d5986833a8481e1bd1614269509fc1dc26bcc7c9c4559197fadf6869c4ca221a","trdNo":"STFP_PGVAnx_mid_il0250101120000M0000001","bankCd":"004","vAcntNo":"8OZUnWW9amCueWWpZOhAPQ==","expireDate":"20250108235959","trdAmt":"AntV/eDpxIaKF0hJiePDKA==","acntType":"1"}}"#;
    let answer: wire::Envelope<wire::IssueAnswerData> = serde_json::from_str(body).unwrap();
    assert!(answer.params.succeeded());
    assert_eq!(answer.params.result_code(), wire::RSLT_OK);
    assert_eq!(answer.params.result_message(), "정상처리");
    let p = &answer.params;
    assert_eq!(
        wire::issue_response_hash(
            wire::STAT_OK,
            &p.trd_dt,
            &p.trd_tm,
            &p.mcht_id,
            &p.mcht_trd_no,
            "1000",
            HASH_KEY
        ),
        answer.data.pkt_hash.clone().unwrap()
    );
    assert_eq!(answer.data.trd_no.as_deref(), Some(ISSUED_TID));
    assert_eq!(
        wire::decrypt(AES_KEY, answer.data.v_acnt_no.as_deref().unwrap()).as_deref(),
        Some("99999900000001")
    );
    // 2025-01-08 23:59:59 KST
    assert_eq!(settle::parse_dtm("20250108235959"), Some(1_736_348_399));
}

#[test]
fn revoke_hash_matches_sample_7_3_and_the_alternative_is_configurable() {
    let input = wire::RevokeHashInput {
        trd_dt: "20250101",
        trd_tm: "130000",
        mcht_id: MCHT_ID,
        mcht_trd_no: ORDER,
        account: "99999900000001",
        bank_cd: "004",
    };
    assert_eq!(wire::Options::default().revoke_hash, wire::RevokeHash::ZeroAmount);
    assert_eq!(
        wire::revoke_hash(wire::RevokeHash::ZeroAmount, &input, HASH_KEY),
        "397de529b8b8f0a03db6976e08794425ebd595ee106e0784eecadb15653ff5e4"
    );
    // The English mirror's composition (pg-samples §9.1): ...+vAcntNo+bankCd+hashKey.
    assert_eq!(
        wire::revoke_hash(wire::RevokeHash::AccountAndBank, &input, HASH_KEY),
        wire::sha256_hex(&["20250101", "130000", MCHT_ID, ORDER, "99999900000001", "004", HASH_KEY])
    );
}

#[test]
fn revoke_request_7_3_serializes_as_the_sample() {
    let input = wire::RevokeHashInput {
        trd_dt: "20250101",
        trd_tm: "130000",
        mcht_id: MCHT_ID,
        mcht_trd_no: ORDER,
        account: "99999900000001",
        bank_cd: "004",
    };
    let request = wire::Envelope {
        params: wire::Params::request(wire::VER, MCHT_ID, wire::BIZ_REVOKE, ORDER, "20250101", "130000"),
        data: wire::RevokeData {
            pkt_hash: wire::revoke_hash(wire::RevokeHash::ZeroAmount, &input, HASH_KEY),
            org_trd_no: ISSUED_TID.into(),
            v_acnt_no: wire::encrypt(AES_KEY, "99999900000001").unwrap(),
            bank_cd: None,
        },
    };
    assert_eq!(
        serde_json::to_string(&request).unwrap(),
        r#"{"params":{"mchtId":"nx_mid_il","ver":"0A19","method":"VA","bizType":"A2","encCd":"23","mchtTrdNo":"FAKE-ORDER-0001","trdDt":"20250101","trdTm":"130000","mobileYn":"N","osType":"W"},"data":{"pktHash":"397de529b8b8f0a03db6976e08794425ebd595ee106e0784eecadb15653ff5e4","orgTrdNo":"STFP_PGVAnx_mid_il0250101120000M0000001","vAcntNo":"8OZUnWW9amCueWWpZOhAPQ=="}}"#
    );
}

#[test]
fn cancel_responses_7_4_parse() {
    let success = r#"{"params":{"mchtId":"nx_mid_il","ver":"0A19","method":"VA","bizType":"A2","encCd":"23","mchtTrdNo":"FAKE-ORDER-0001","trdDt":"20250101","trdTm":"130000","outStatCd":"0021","outRsltCd":"0000","outRsltMsg":"%EC%A0%95%EC%83%81%EC%B2%98%EB%A6%AC"},"data":{"trdNo":"STFP_PGVAnx_mid_il0250101130000M0000002","orgTrdNo":"STFP_PGVAnx_mid_il0250101120000M0000001","vAcntNo":"8OZUnWW9amCueWWpZOhAPQ=="}}"#;
    let answer: wire::Envelope<wire::RevokeAnswerData> = serde_json::from_str(success).unwrap();
    assert!(answer.params.succeeded());
    assert_eq!(answer.data.org_trd_no.as_deref(), Some(ISSUED_TID));

    let duplicate = r#"{"params":{"mchtId":"nx_mid_il","ver":"0A19","method":"VA","bizType":"A2","encCd":"23","mchtTrdNo":"FAKE-ORDER-0001","trdDt":"20250101","trdTm":"130000","outStatCd":"0031","outRsltCd":"ST25","outRsltMsg":"%EC%A4%91%EB%B3%B5+%EC%B7%A8%EC%86%8C+%EC%9A%94%EC%B2%AD"},"data":{}}"#;
    let answer: wire::Envelope<wire::RevokeAnswerData> = serde_json::from_str(duplicate).unwrap();
    assert!(!answer.params.succeeded());
    assert_eq!(answer.params.out_stat_cd.as_deref(), Some(wire::STAT_FAILED));
    assert_eq!(answer.params.result_code(), wire::RSLT_DUPLICATE_CANCEL);
    assert_eq!(answer.params.result_message(), "중복 취소 요청");
    // The simulator encodes messages the way the sample is encoded.
    assert_eq!(
        wire::encode_message("중복 취소 요청"),
        "%EC%A4%91%EB%B3%B5+%EC%B7%A8%EC%86%8C+%EC%9A%94%EC%B2%AD"
    );
}

#[test]
fn notice_hash_matches_sample_7_5_and_verifies_the_sample_body() {
    assert_eq!(
        wire::notice_hash("0021", "20250101140000", MCHT_ID, ORDER, "1000", HASH_KEY),
        "8a60fb698808b14df91fbe11a56344aec481c3b6d1e64c39e43330ce93926ebb"
    );
    let pairs = form::parse(NOTICE_7_5.as_bytes(), encoding_rs::EUC_KR);
    assert!(wire::verify_notice(&pairs, HASH_KEY));
    assert!(!wire::verify_notice(&pairs, "not-the-hash-key"));
    let tampered = NOTICE_7_5.replace("trdAmt=1000", "trdAmt=9000");
    assert!(!wire::verify_notice(
        &form::parse(tampered.as_bytes(), encoding_rs::EUC_KR),
        HASH_KEY
    ));
}

#[test]
fn notice_7_5_parses_from_euc_kr() {
    let pairs = form::parse(NOTICE_7_5.as_bytes(), encoding_rs::EUC_KR);
    assert_eq!(form::field(&pairs, "dpstrNm"), Some("홍길동"));
    assert_eq!(form::field(&pairs, "bankNm"), Some("국민"));

    let connector = connector();
    for content_type in [
        Some("application/x-www-form-urlencoded; charset=euc-kr"),
        // EUC-KR is the default when no charset is named.
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let notice = connector.parse_notice(content_type, NOTICE_7_5.as_bytes()).unwrap();
        // The notice names the issuance by orgTrdNo; its trdNo is the deposit's own.
        assert_eq!(notice.reference, NoticeReference::PgTid(ISSUED_TID.into()));
        assert_eq!(notice.account_number.as_deref(), Some("99999900000001"));
        // 2025-01-01 14:00:00 KST
        assert_eq!(
            notice.event,
            NoticeEvent::Deposited {
                amount: Some(Won::new(1000).unwrap()),
                at: 1_735_707_600
            }
        );
        // The pktHash is checked with the channel's hash key; a good one still leads to a confirming query.
        let keyed = channel_with(vbank_core::ChannelSecrets {
            hash_key: Some(HASH_KEY.into()),
            ..Default::default()
        });
        let other_key = channel_with(vbank_core::ChannelSecrets {
            hash_key: Some("ST0000000000000000000".into()),
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
    let refund = NOTICE_7_5.replace("bizType=B1", "bizType=C0");
    assert!(connector.parse_notice(None, refund.as_bytes()).is_err());
    let failed = NOTICE_7_5.replace("outStatCd=0021", "outStatCd=0031");
    assert!(connector.parse_notice(None, failed.as_bytes()).is_err());
    let no_amount = NOTICE_7_5.replace("trdAmt=1000", "trdAmt=");
    assert!(connector.parse_notice(None, no_amount.as_bytes()).is_err());
    assert!(connector.parse_notice(None, b"garbage").is_err());
}

#[test]
fn acknowledgements_are_exact() {
    let connector = connector();
    let ok = connector.acknowledge(true);
    assert_eq!((ok.status, ok.body.as_str()), (200, "OK"));
    let refused = connector.acknowledge(false);
    assert_eq!((refused.status, refused.body.as_str()), (200, "FAIL"));
}

#[test]
fn refund_hash_defaults_to_the_cancel_amount_and_flags_the_conflict() {
    let input = wire::RefundHashInput {
        trd_dt: "20250102",
        trd_tm: "090000",
        mcht_id: MCHT_ID,
        mcht_trd_no: "R1",
        amount: "300",
        account: "99999900000001",
        bank_cd: "004",
        refund_account: "110123456789",
        refund_bank_cd: "088",
    };
    assert_eq!(wire::Options::default().refund_hash, wire::RefundHash::CancelAmount);
    assert_eq!(
        wire::refund_hash(wire::RefundHash::CancelAmount, &input, HASH_KEY),
        wire::sha256_hex(&["20250102090000", MCHT_ID, "R1", "300", HASH_KEY])
    );
    assert_eq!(
        wire::refund_hash(wire::RefundHash::Accounts, &input, HASH_KEY),
        wire::sha256_hex(&[
            "20250102090000",
            MCHT_ID,
            "R1",
            "99999900000001",
            "004",
            "110123456789",
            "088",
            HASH_KEY
        ])
    );
}

#[test]
fn banks_follow_hectos_va_list() {
    use vbank_core::BankCode;
    let connector = connector();
    for code in [
        "003", "004", "011", "020", "023", "031", "032", "034", "039", "045", "071", "081", "088", "089",
    ] {
        assert!(connector.offers_bank(BankCode::from_kftc(code).unwrap()), "{code}");
    }
    for code in ["007", "002", "090", "092", "027"] {
        assert!(!connector.offers_bank(BankCode::from_kftc(code).unwrap()), "{code}");
    }
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
