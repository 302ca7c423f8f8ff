//! The booking functions: purchase, listings and detail, the parties' steps (the `bookings`
//! binary); the Stripe webhook, the timer sweep and the outbox sender (`booking-events`). Those that call Stripe read its secret key from SSM at cold
//! start (the webhook also its signing secret); those that only read the table never see them.

use crate::bookings::api::{BookingReads, BookingsApi, OutboxSender};
use crate::bookings::dynamo::ENTITY_OUTBOX;
use crate::lambda::init_stripe;
use crate::notifications::routes::{NOTIFY_FROM_STREAM, NOTIFY_TABLE};
use crate::routes::{Access, Allow, Feature, Function, Stream, Trigger};
use crate::{serve_http, serve_schedule, serve_stream};

/// Stripe's API base, from the template's parameters (its secrets come through
/// [`STRIPE_KEY`] or [`STRIPE_WEBHOOK_SECRETS`]).
pub(crate) const STRIPE: &[(&str, &str)] = &[("STRIPE_API_BASE", "!Ref StripeApiBase")];

/// Reading Stripe's secret key: every function that calls Stripe.
pub(crate) const STRIPE_KEY: Allow =
    Allow::Secrets(&[("STRIPE_SECRET_KEY_PARAMETER", "StripeSecretKeyParameter")]);

/// Reading Stripe's secret key and the webhook's signing secret: the webhook alone.
const STRIPE_WEBHOOK_SECRETS: Allow = Allow::Secrets(&[
    ("STRIPE_SECRET_KEY_PARAMETER", "StripeSecretKeyParameter"),
    (
        "STRIPE_WEBHOOK_SECRET_PARAMETER",
        "StripeWebhookSecretParameter",
    ),
]);

/// What moves a booking (its transaction writes the booking, its party rows, ledger steps,
/// the room it opens, shared files and consumed events), calls Stripe with `$secrets` and
/// tells the parties (inbox, live connections, mobile push).
macro_rules! move_and_tell {
    ($secrets:expr) => {
        &[
            NOTIFY_TABLE,
            Allow::Indexes,
            Allow::PostToConnections,
            Allow::Sns(&["Publish", "DeleteEndpoint"]),
            $secrets,
        ]
    };
}

/// The booking functions that call Stripe with its secret key.
const MOVE_AND_TELL: &[Allow] = move_and_tell!(STRIPE_KEY);

/// Built into the `bookings` binary: the parties' and admins' routes.
pub const FEATURE: Feature = Feature {
    binary: "bookings",
    functions: &[
        Function {
            name: "purchase-offer",
            description: "Buys an offer: a booking waiting for payment and its Stripe PaymentIntent (idempotent per client key).",
            trigger: Trigger::Http(&[("POST", "/offers/{id}/purchase")], Access::Bearer),
            // UpdateItem: the purchase limits' rate windows, counted in the creating
            // transaction.
            allow: &[
                Allow::Table(&["GetItem", "PutItem", "UpdateItem"]),
                STRIPE_KEY,
            ],
            env: STRIPE,
            timeout: Some(15),
            run: serve_http!(init_stripe, BookingsApi::new, purchase),
        },
        Function {
            name: "accept-application",
            description: "The job's poster accepts a pending application: the job awaits payment, the booking is created with its Stripe PaymentIntent (a repeat answers the same).",
            trigger: Trigger::Http(
                &[("POST", "/jobs/{id}/applications/{providerId}/accept")],
                Access::Bearer,
            ),
            // Puts the job, the application and the booking, deletes the job's listing and
            // counts the buyer's purchase limit, in one transaction.
            allow: &[
                Allow::Table(&["GetItem", "PutItem", "UpdateItem", "DeleteItem"]),
                STRIPE_KEY,
            ],
            env: STRIPE,
            timeout: Some(15),
            run: serve_http!(init_stripe, BookingsApi::new, accept_application),
        },
        Function {
            name: "list-bookings",
            description: "Lists the caller's bookings (my orders, my tasks), newest first, filtered.",
            trigger: Trigger::Http(&[("GET", "/bookings")], Access::Bearer),
            allow: &[Allow::Table(&["Query"])],
            env: &[],
            timeout: None,
            run: serve_http!(BookingReads::new, list),
        },
        Function {
            name: "list-payments",
            description: "Lists the caller's payments as a customer: what each paid booking charged and gave back.",
            trigger: Trigger::Http(&[("GET", "/me/payments")], Access::Bearer),
            allow: &[Allow::Table(&["Query"])],
            env: &[],
            timeout: None,
            run: serve_http!(BookingReads::new, payments),
        },
        Function {
            name: "get-booking",
            description: "Returns a booking and its ledger to its parties and admins.",
            trigger: Trigger::Http(&[("GET", "/bookings/{id}")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem", "Query"])],
            env: &[],
            timeout: None,
            run: serve_http!(BookingReads::new, get),
        },
        Function {
            name: "start-booking",
            description: "The provider starts the work.",
            trigger: Trigger::Http(&[("POST", "/bookings/{id}/start")], Access::Bearer),
            allow: MOVE_AND_TELL,
            env: STRIPE,
            timeout: None,
            run: serve_http!(init_stripe, BookingsApi::new, start),
        },
        Function {
            name: "deliver-booking",
            description: "The provider delivers, with proof-of-work images shared with the customer.",
            trigger: Trigger::Http(&[("POST", "/bookings/{id}/deliver")], Access::Bearer),
            allow: MOVE_AND_TELL,
            env: STRIPE,
            timeout: None,
            run: serve_http!(init_stripe, BookingsApi::new, deliver),
        },
        Function {
            name: "submit-summary",
            description: "The provider writes the session's summary (findings, steps, parts, next steps, photos), once; the customer is told.",
            trigger: Trigger::Http(&[("POST", "/bookings/{id}/summary")], Access::Bearer),
            allow: MOVE_AND_TELL,
            env: STRIPE,
            timeout: None,
            run: serve_http!(init_stripe, BookingsApi::new, summarize),
        },
        Function {
            name: "get-summary",
            description: "Returns a session's summary to its parties and admins; the customer's first read records when they opened it.",
            trigger: Trigger::Http(&[("GET", "/bookings/{id}/summary")], Access::Bearer),
            allow: MOVE_AND_TELL,
            env: STRIPE,
            timeout: None,
            run: serve_http!(init_stripe, BookingsApi::new, summary),
        },
        Function {
            name: "confirm-booking",
            description: "The customer confirms completion.",
            trigger: Trigger::Http(&[("POST", "/bookings/{id}/confirm")], Access::Bearer),
            allow: MOVE_AND_TELL,
            env: STRIPE,
            timeout: None,
            run: serve_http!(init_stripe, BookingsApi::new, confirm),
        },
        Function {
            name: "book-slot",
            description: "Requests a free slot of an offer: the booking holds the provider's time (one of overlapping requests wins) and its PaymentIntent authorizes the card (idempotent per client key).",
            trigger: Trigger::Http(&[("POST", "/offers/{id}/book")], Access::Bearer),
            // Query: the provider's held time; UpdateItem: the purchase limits.
            allow: &[
                Allow::Table(&["GetItem", "PutItem", "UpdateItem", "Query"]),
                STRIPE_KEY,
            ],
            env: STRIPE,
            timeout: Some(15),
            run: serve_http!(init_stripe, BookingsApi::new, book),
        },
        Function {
            name: "accept-booking",
            description: "The provider accepts a request: its payment is captured, its room opens, the customer is told.",
            trigger: Trigger::Http(&[("POST", "/bookings/{id}/accept")], Access::Bearer),
            allow: MOVE_AND_TELL,
            env: STRIPE,
            timeout: Some(15),
            run: serve_http!(init_stripe, BookingsApi::new, accept),
        },
        Function {
            name: "pay-booking",
            description: "The customer pays a saved card's charge the bank refused: the PaymentIntent waiting for them and its client secret.",
            trigger: Trigger::Http(&[("POST", "/bookings/{id}/pay")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem"]), STRIPE_KEY],
            env: STRIPE,
            timeout: Some(15),
            run: serve_http!(init_stripe, BookingsApi::new, pay),
        },
        Function {
            name: "decline-booking",
            description: "The provider declines a request: its authorization is voided, its time freed, the customer told.",
            trigger: Trigger::Http(&[("POST", "/bookings/{id}/decline")], Access::Bearer),
            allow: MOVE_AND_TELL,
            env: STRIPE,
            timeout: Some(15),
            run: serve_http!(init_stripe, BookingsApi::new, decline),
        },
        Function {
            name: "cancel-booking",
            description: "Cancels a booking with the refund the policy gives, and tells both parties.",
            trigger: Trigger::Http(&[("POST", "/bookings/{id}/cancel")], Access::Bearer),
            allow: MOVE_AND_TELL,
            env: STRIPE,
            timeout: Some(15),
            run: serve_http!(init_stripe, BookingsApi::new, cancel),
        },
        Function {
            name: "refund-booking",
            description: "Admins refund (part of) a completed booking: the provider's share of it is reversed from their transfer, then refunded.",
            trigger: Trigger::Http(&[("POST", "/bookings/{id}/refund")], Access::Admin),
            allow: MOVE_AND_TELL,
            env: STRIPE,
            timeout: Some(15),
            run: serve_http!(init_stripe, BookingsApi::new, refund),
        },
    ],
};

/// Built into the `booking-events` binary: what moves bookings without a person's request —
/// Stripe's events, the timers and the announcements of committed transitions. Apart from
/// the parties' routes so that neither binary links the other's half of the booking rules
/// (each stays under the size budget).
pub const EVENTS: Feature = Feature {
    binary: "booking-events",
    functions: &[
        Function {
            name: "stripe-webhook",
            description: "Verifies and applies Stripe's events (payments) to bookings, once each.",
            trigger: Trigger::Http(&[("POST", "/webhooks/stripe")], Access::Public),
            allow: move_and_tell!(STRIPE_WEBHOOK_SECRETS),
            env: STRIPE,
            timeout: Some(15),
            // Stripe's events are not bounded by our own bodies' size.
            run: serve_http!(
                init_stripe,
                BookingsApi::new,
                webhook,
                crate::lambda::http::MAX_FOREIGN_BODY_BYTES
            ),
        },
        Function {
            name: "send-booking-news",
            description: "Sends what each committed booking transition announced (its outbox item on the table's stream): notifications and the room it opened.",
            trigger: Trigger::Stream(Stream::inserted(ENTITY_OUTBOX)),
            allow: NOTIFY_FROM_STREAM,
            env: &[],
            timeout: Some(60),
            run: serve_stream!(OutboxSender::new, handle),
        },
        Function {
            name: "cron-booking-timers",
            description: "Fires due booking timers: payment and request expiry, automatic completion, refund retries, releases, session reminders and ends (reads only what is due).",
            trigger: Trigger::Schedule("EveryMinute", "rate(1 minute)"),
            allow: MOVE_AND_TELL,
            env: STRIPE,
            timeout: Some(60),
            run: serve_schedule!(init_stripe, BookingsApi::new, sweep),
        },
    ],
};
