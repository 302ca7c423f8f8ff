//! The production adapter against the repository's Stripe-compatible test server, over HTTP
//! as against Stripe: every object it answers must read into the adapter's types, and
//! idempotency must behave as Stripe's.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gigwire_payments::{NewPayment, PaymentError, StripePayments};

/// The test server on a free port, stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/stripe_server.py");
        let child = Command::new("python3")
            .args([script, "--port", &port.to_string(), "--quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the Stripe test server");
        // Owned at once, so the process is stopped (and reaped) on every path.
        let server = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..100 {
            if reqwest::get(format!("{}/_test/health", server.url))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drop(server);
        panic!("the Stripe test server did not start");
    }

    /// Confirms a payment with a test card, as the client's Stripe.js would.
    async fn confirm(&self, id: &str, card: &str) -> u16 {
        reqwest::Client::new()
            .post(format!("{}/v1/payment_intents/{id}/confirm", self.url))
            .bearer_auth("sk_test_gigwire")
            .form(&[("payment_method", card)])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn purchase<'a>(key: &'a str, amount: i64) -> NewPayment<'a> {
    NewPayment {
        amount,
        currency: "eur",
        manual_capture: false,
        transfer_group: "booking-01JD0000000000000000000007",
        metadata: HashMap::from([(
            "booking".to_owned(),
            "01JD0000000000000000000007".to_owned(),
        )]),
        idempotency_key: key,
    }
}

#[tokio::test]
async fn a_purchase_is_created_paid_read_back_and_refunded_through_the_real_client() {
    let server = Server::start().await;
    let stripe = StripePayments::new("sk_test_gigwire", Some(&format!("{}/", server.url))).unwrap();

    let created = stripe
        .create_payment(&purchase("purchase-1", 4500))
        .await
        .unwrap();
    assert!(created.id.starts_with("pi_"), "{created:?}");
    assert_eq!(created.status, "requires_payment_method");
    assert_eq!(created.amount, 4500);
    assert_eq!(
        created.transfer_group.as_deref(),
        Some("booking-01JD0000000000000000000007")
    );
    assert_eq!(created.metadata["booking"], "01JD0000000000000000000007");
    assert!(
        created
            .client_secret
            .as_deref()
            .unwrap()
            .starts_with(&created.id)
    );

    // The same key and parameters answer the same payment; other parameters are refused.
    let again = stripe
        .create_payment(&purchase("purchase-1", 4500))
        .await
        .unwrap();
    assert_eq!(again.id, created.id);
    let err = stripe
        .create_payment(&purchase("purchase-1", 9900))
        .await
        .unwrap_err();
    assert!(matches!(err, PaymentError::Refused(_)), "{err:?}");

    // A declined card keeps it payable; a good one pays it.
    assert_eq!(
        server.confirm(&created.id, "pm_card_chargeDeclined").await,
        402
    );
    let declined = stripe.payment(&created.id).await.unwrap();
    assert_eq!(declined.status, "requires_payment_method");
    assert_eq!(server.confirm(&created.id, "pm_card_visa").await, 200);
    let paid = stripe.payment(&created.id).await.unwrap();
    assert_eq!(
        (paid.status.as_str(), paid.amount_received),
        ("succeeded", 4500)
    );

    let refund = stripe
        .refund(&created.id, Some(1500), "refund-1")
        .await
        .unwrap();
    assert!(refund.starts_with("re_"), "{refund}");
    let replay = stripe
        .refund(&created.id, Some(1500), "refund-1")
        .await
        .unwrap();
    assert_eq!(replay, refund);
    let err = stripe
        .refund(&created.id, Some(10_000), "refund-2")
        .await
        .unwrap_err();
    assert!(matches!(err, PaymentError::Refused(_)), "{err:?}");
}

#[tokio::test]
async fn stripe_errors_are_read_into_their_status_code_and_message() {
    let server = Server::start().await;
    let stripe = StripePayments::new("sk_test_gigwire", Some(&server.url)).unwrap();
    let missing = stripe.payment("pi_missing").await.unwrap_err();
    match missing {
        PaymentError::Refused(what) => {
            assert!(what.starts_with("404 resource_missing: "), "{what}")
        }
        other => panic!("{other:?}"),
    }
    // A key Stripe does not know is refused (401), not retried as unavailability.
    let stranger = StripePayments::new("pk_live_nope", Some(&server.url)).unwrap();
    match stranger.payment("pi_missing").await.unwrap_err() {
        PaymentError::Refused(what) => assert!(what.starts_with("401 "), "{what}"),
        other => panic!("{other:?}"),
    }
    // Nothing listening: unavailable, so the caller's retry (a redelivery, a timer) tries again.
    let nowhere = StripePayments::new("sk_test_gigwire", Some("http://127.0.0.1:9")).unwrap();
    let err = nowhere.payment("pi_1").await.unwrap_err();
    assert!(matches!(err, PaymentError::Unavailable(_)), "{err:?}");
}
