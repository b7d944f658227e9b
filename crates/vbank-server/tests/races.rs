//! A deposit racing a revoke has one winner, the one the PG accepted first, and
//! vbank's record always ends equal to the PG's (api.md A4).

mod common;

use common::{TestApp, INICIS_PG, TOSS_PG};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_revoke_and_deposit_never_end_both_cancelled_and_paid() {
    let app = std::sync::Arc::new(TestApp::start().await);
    let shop = app.merchant("shop").await;
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for round in 0..60 {
        let pg = if (round / 10) % 2 == 0 { TOSS_PG } else { INICIS_PG };
        let payment = app.issued(&shop, pg).await;
        // Offset the two by -8 ms to +1 s (negative: the revoke waits) so that both orders
        // happen even on a loaded machine, and the interleavings in between: the PG
        // decides, never the timing of vbank's commit.
        let offset: i64 = [-8, -2, -1, 0, 1, 2, 8, 50, 300, 1000][round % 10];
        let revoke_delay = std::time::Duration::from_millis((-offset).max(0) as u64);
        let deposit_delay = std::time::Duration::from_millis(offset.max(0) as u64);
        let (app_a, app_b) = (app.clone(), app.clone());
        let (shop_a, payment_a, payment_b) = (shop.clone(), payment.clone(), payment.clone());
        let revoke = tokio::spawn(async move {
            tokio::time::sleep(revoke_delay).await;
            app_a.revoke_payment(&shop_a, &payment_a).await
        });
        let bank = tokio::spawn(async move {
            tokio::time::sleep(deposit_delay).await;
            app_b.deposit(&payment_b).await
        });
        let (revoke, bank) = tokio::join!(revoke, bank);
        let (revoke, bank) = (revoke.unwrap(), bank.unwrap());
        let imp_uid = payment["imp_uid"].as_str().unwrap();
        let recorded = app.payment(&shop, imp_uid).await.assert_ok().clone();
        let pg_state = app.pg_state(&payment).await;

        let status = recorded["status"].as_str().unwrap();
        let deposited = bank["accepted"] == true;
        let revoked = revoke.code() == 0;
        assert!(
            deposited != revoked,
            "exactly one wins: bank {bank}, revoke {:?}",
            revoke.body
        );
        match pg_state.as_str() {
            "deposited" => {
                assert!(deposited && !revoked, "{pg}: {bank} / {:?}", revoke.body);
                assert_eq!(status, "paid", "{pg}");
                assert!(recorded["paid_at"].as_i64().unwrap() > 0);
                assert_eq!(recorded["cancelled_at"], 0);
                revoke.assert_error(400, 1);
            }
            "cancelled" => {
                assert!(revoked && !deposited, "{pg}: {bank} / {:?}", revoke.body);
                assert_eq!(status, "cancelled", "{pg}");
                assert_eq!(recorded["paid_at"], 0);
                assert_eq!(recorded["cancel_history"].as_array().unwrap().len(), 1);
            }
            other => panic!("{pg}: the PG left the account {other}"),
        }
        *outcomes.entry(format!("{pg} {status}")).or_default() += 1;
    }
    println!("outcomes: {outcomes:?}");
    for pg in [TOSS_PG, INICIS_PG] {
        for status in ["paid", "cancelled"] {
            assert!(
                outcomes.contains_key(&format!("{pg} {status}")),
                "the race never ended {status} through {pg}: {outcomes:?}"
            );
        }
    }
}
