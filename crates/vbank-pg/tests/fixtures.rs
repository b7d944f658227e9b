//! Fixture tests pinned to `spec/pg-samples.md`: the worked signatures and sample
//! messages there, so that a mistake shared by a connector and its simulator fails here.

use vbank_core::{BankCode, Won};
use vbank_pg::inicis::{self, wire as inicis_wire};
use vbank_pg::toss::{self, wire as toss_wire};
use vbank_pg::{Authenticity, Connector, NoticeEvent, NoticeReference};

const INIAPI_KEY: &str = "ItEQKi3rY7uvDS8l";
const INICIS_TID: &str = "StdpayVBNKINIpayTest20250101115959000001";

#[test]
fn inicis_issue_hash_matches_sample_1_1() {
    assert_eq!(
        inicis_wire::issue_hash(INIAPI_KEY, "20250101120000", "127.0.0.1", "INIpayTest", "FAKE-ORDER-0001", "1000"),
        "48e4adcf70cb4f5b07580e6cb114750655bf723478e9f47828ab664272d1d9206590393c4640cb20a26bc3a27aa137b9fffc736b61093d144118afd83496ed4a"
    );
}

#[test]
fn inicis_revoke_hash_matches_sample_1_3() {
    assert_eq!(
        inicis_wire::revoke_hash(INIAPI_KEY, "20250101120000", "127.0.0.1", "INIpayTest", INICIS_TID),
        "86ddf1aef3905ad10813fa66def4a980bc77c6c193b67726434290f43ed6d660030b2cda789a9fd08bd2906c701051d5f6e8b850816952455e4165a40792326a"
    );
}

#[test]
fn inicis_inquiry_hash_matches_sample_1_5() {
    assert_eq!(
        inicis_wire::inquiry_hash(INIAPI_KEY, "20250101120000", "127.0.0.1", "INIpayTest"),
        "5d94426d9bb73e3f412e53d5d1aad7472d40271e16396334c59ea08f129f1383c574e87986cb94a6ed97b7674e8348361ef831122165c6aa3c206fc0235d4e1f"
    );
}

#[test]
fn inicis_timestamp_is_kst() {
    // 2025-01-01 03:00:00 UTC = 12:00:00 KST, the samples' request time.
    assert_eq!(inicis::timestamp(1_735_700_400), "20250101120000");
}

#[test]
fn inicis_issue_response_sample_1_2_parses() {
    let body = r#"{"resultCode":"00","resultMsg":"정상처리","tid":"StdpayVBNKINIpayTest20250101115959000001","authDate":"20250101","authTime":"120000","vacct":"99999900000001","vacctName":"테스트상점","vacctBankCode":"04","validDate":"20250108","validTime":"2359","price":"1000"}"#;
    let response: inicis_wire::IssueResponse = serde_json::from_str(body).unwrap();
    assert_eq!(response.result_code, inicis_wire::RESULT_OK);
    assert_eq!(response.vacct.as_deref(), Some("99999900000001"));
    assert_eq!(
        BankCode::from_inicis(response.vacct_bank_code.as_deref().unwrap()),
        BankCode::from_kftc("004")
    );
    assert_eq!(inicis::parse_kst("20250108", "2359"), Some(1_736_348_340));
}

#[test]
fn inicis_noti_sample_1_6_parses_from_euc_kr() {
    let body = b"msg_id=0200&no_tid=StdpayVBNKINIpayTest20250101115959000001&no_oid=FAKE-ORDER-0001&id_merchant=INIpayTest&cd_bank=00000004&cd_deal=00000004&dt_trans=20250102&tm_trans=101500&no_msgseq=0000000001&cd_joinorg=00000000&dt_transbase=20250102&no_transeq=000001&type_msg=0200&cl_close=0&cl_kor=2&no_msgmanage=0000000001&no_vacct=99999900000001&amt_input=1000&amt_check=0&nm_inputbank=%B1%B9%B9%CE%C0%BA%C7%E0&nm_input=%C8%AB%B1%E6%B5%BF&dt_inputstd=20250102&dt_calculstd=20250102&flg_close=0";
    let connector = inicis::Inicis::new(reqwest::Client::new(), "127.0.0.1".into());
    let notice = connector
        .parse_notice(Some("application/x-www-form-urlencoded; charset=euc-kr"), body)
        .unwrap();
    assert_eq!(notice.reference, NoticeReference::PgTid(INICIS_TID.into()));
    assert_eq!(notice.account_number.as_deref(), Some("99999900000001"));
    // 2025-01-02 10:15:00 KST
    assert_eq!(
        notice.event,
        NoticeEvent::Deposited {
            amount: Some(Won::new(1000).unwrap()),
            at: 1_735_780_500
        }
    );
    // INICIS signs nothing: the notice must be confirmed with the PG.
    assert_eq!(
        connector.authenticate(&notice, &channel_with(Default::default()), None),
        Authenticity::NeedsConfirmation
    );
    assert_eq!(connector.acknowledge(true).body, "OK");
}

#[test]
fn toss_basic_auth_matches_the_docs_example() {
    assert_eq!(
        toss_wire::basic_auth("test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"),
        "Basic dGVzdF9za196WExrS0V5cE5BcldtbzUwblgzbG1lYXhZRzVSOg=="
    );
}

#[test]
fn toss_issue_response_sample_3_2_parses() {
    let body = r#"{"mId":"tvivarepublica","lastTransactionKey":"3CCA83C4814FC15B67058F74D42F980B","paymentKey":"fake20250101120000AbCd0","orderId":"FAKE-ORDER-0001","orderName":"테스트 상품","taxExemptionAmount":0,"status":"WAITING_FOR_DEPOSIT","requestedAt":"2025-01-01T12:00:00+09:00","approvedAt":null,"useEscrow":false,"cultureExpense":false,"card":null,"virtualAccount":{"accountNumber":"X6505636518308","accountType":"일반","bankCode":"20","customerName":"홍길동","dueDate":"2025-01-08T12:00:00+09:00","expired":false,"settlementStatus":"INCOMPLETED","refundStatus":"NONE","refundReceiveAccount":null,"depositorName":null},"transfer":null,"mobilePhone":null,"giftCertificate":null,"cashReceipt":null,"cashReceipts":null,"discount":null,"cancels":null,"secret":"ps_FAKEsecret0000000000000000","type":"NORMAL","easyPay":null,"country":"KR","failure":null,"isPartialCancelable":true,"receipt":{"url":"https://dashboard.tosspayments.com/receipt/payment-detail/bank-transfer?transactionId=fake&ref=PX"},"checkout":{"url":"https://api.tosspayments.com/v1/payments/fake20250101120000AbCd0/checkout"},"currency":"KRW","totalAmount":1000,"balanceAmount":1000,"suppliedAmount":909,"vat":91,"taxFreeAmount":0,"method":"가상계좌","version":"2022-11-16","metadata":null}"#;
    let payment: toss_wire::Payment = serde_json::from_str(body).unwrap();
    assert_eq!(payment.status, toss_wire::PaymentStatus::WaitingForDeposit);
    assert_eq!(payment.secret.as_deref(), Some("ps_FAKEsecret0000000000000000"));
    let account = payment.virtual_account.unwrap();
    assert_eq!(
        BankCode::from_toss(account.bank_code.as_deref().unwrap()),
        BankCode::from_kftc("020")
    );
    assert_eq!(toss::parse_time(&account.due_date), Some(1_736_305_200));
}

#[test]
fn toss_cancel_response_sample_3_4_parses() {
    let body = r#"{"mId":"tosspayments","version":"2022-11-16","lastTransactionKey":"A8992D33A3620C9D270A233360F00AD7","paymentKey":"fake20250101120000AbCd0","orderId":"FAKE-ORDER-0001","orderName":"테스트 상품","currency":"KRW","method":"가상계좌","status":"CANCELED","requestedAt":"2025-01-01T12:00:00+09:00","approvedAt":null,"virtualAccount":{"accountNumber":"X6505636518308","accountType":"일반","bankCode":"20","customerName":"홍길동","dueDate":"2025-01-08T12:00:00+09:00","expired":false,"settlementStatus":"INCOMPLETED","refundStatus":"NONE","refundReceiveAccount":null},"cancels":[{"transactionKey":"A8992D33A3620C9D270A233360F00AD7","cancelReason":"고객이 취소를 원함","taxExemptionAmount":0,"canceledAt":"2025-01-01T12:05:00+09:00","easyPayDiscountAmount":0,"receiptKey":null,"cancelStatus":"DONE","cancelRequestId":null,"cancelAmount":1000,"taxFreeAmount":0,"refundableAmount":0}],"secret":"ps_FAKEsecret0000000000000000","totalAmount":1000,"balanceAmount":0}"#;
    let payment: toss_wire::Payment = serde_json::from_str(body).unwrap();
    assert_eq!(payment.status, toss_wire::PaymentStatus::Canceled);
    let cancel = &payment.cancels.unwrap()[0];
    assert_eq!(cancel.transaction_key, "A8992D33A3620C9D270A233360F00AD7");
    assert_eq!(toss::parse_time(&cancel.canceled_at), Some(1_735_700_700));
}

#[test]
fn toss_failure_samples_3_5_parse() {
    let failure: toss_wire::Failure =
        serde_json::from_str(r#"{"code":"ALREADY_CANCELED_PAYMENT","message":"이미 취소된 결제 입니다."}"#).unwrap();
    assert_eq!(failure.code, toss_wire::ALREADY_CANCELED_PAYMENT);
}

#[test]
fn toss_deposit_callback_sample_3_6_parses_and_authenticates_by_secret() {
    let body = br#"{"createdAt":"2025-01-02T10:15:00.000000","secret":"ps_FAKEsecret0000000000000000","status":"DONE","transactionKey":"FAKETRANSACTIONKEY0000000000000001","orderId":"FAKE-ORDER-0001"}"#;
    let connector = toss::Toss::new(reqwest::Client::new());
    let notice = connector.parse_notice(Some("application/json"), body).unwrap();
    assert_eq!(notice.reference, NoticeReference::OrderId("FAKE-ORDER-0001".into()));
    // A zone-less createdAt is KST: 2025-01-02 10:15:00 KST.
    assert_eq!(
        notice.event,
        NoticeEvent::Deposited {
            amount: None,
            at: 1_735_780_500
        }
    );
    assert_eq!(
        connector.authenticate(
            &notice,
            &channel_with(Default::default()),
            Some("ps_FAKEsecret0000000000000000")
        ),
        Authenticity::Verified
    );
    assert!(matches!(
        connector.authenticate(&notice, &channel_with(Default::default()), Some("ps_other")),
        Authenticity::Forged(_)
    ));
    assert!(matches!(
        connector.authenticate(&notice, &channel_with(Default::default()), None),
        Authenticity::Forged(_)
    ));
    assert_eq!(connector.acknowledge(true).status, 200);
}

#[test]
fn inicis_refund_account_is_aes_128_cbc_under_the_iniapi_key_and_iv() {
    // Expected value computed independently:
    // printf 110123456789 | openssl enc -aes-128-cbc -K <hex of key> -iv <hex of IV> | base64
    let encrypted = inicis_wire::encrypt_account(INIAPI_KEY, inicis_wire::TEST_IV, "110123456789").unwrap();
    assert_eq!(encrypted, "7Y3pxrOYHTV7EmEJA02GcQ==");
    assert_eq!(
        inicis_wire::decrypt_account(INIAPI_KEY, inicis_wire::TEST_IV, &encrypted).as_deref(),
        Some("110123456789")
    );
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
