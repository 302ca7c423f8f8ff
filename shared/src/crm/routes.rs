//! The CRM functions, built into the `offers` binary (they link only DynamoDB): the stream
//! consumers that record what the bookings' and premium upgrades' writes imply, the
//! customer's upsells and the admins' funnel and logs. Buying an upsell calls Stripe and is
//! built into `bookings` ([`PURCHASE`]).

use crate::bookings::api::BookingsApi;
use crate::bookings::dynamo::ENTITY_BOOKING;
use crate::bookings::routes::{STRIPE, STRIPE_KEY};
use crate::crm::api::CrmApi;
use crate::followups::dynamo::ENTITY_UPGRADE;
use crate::lambda::init_stripe;
use crate::routes::{Access, Allow, Feature, Function, Stream, Trigger};
use crate::{serve_http, serve_stream};

/// Reads a customer's upsells (Query, GetItem) and records interactions: each one's put, its
/// counters and the upsell's update, in one transaction.
const RECORD: &[&str] = &["GetItem", "Query", "PutItem", "UpdateItem"];

/// Built into the `offers` binary.
pub const FEATURE: Feature = Feature {
    binary: "offers",
    functions: &[
        Function {
            name: "record-interactions",
            description: "Records in the customers' CRM logs what each booking write implies (intake, session booked, completed, summary viewed, upsell purchased), once each with the funnel's counters; a completion leaves its upsell recommendations.",
            trigger: Trigger::Stream(Stream::written(ENTITY_BOOKING)),
            // GetItem: the follow-up settings, the premium flag and the offer a completion's
            // upsells are priced from.
            allow: &[
                Allow::Table(&["GetItem", "PutItem", "UpdateItem"]),
                Allow::ReadStream,
            ],
            env: &[],
            timeout: Some(60),
            run: serve_stream!(CrmApi::new, booking_written),
        },
        Function {
            name: "record-premium-upgrades",
            description: "Records in the customers' CRM logs each paid premium upgrade as its upsell purchased, once, with the funnel's counters.",
            trigger: Trigger::Stream(Stream::written(ENTITY_UPGRADE).only("state", "paid")),
            // Writes only: the entry's put, its counters and the upsell's update.
            allow: &[Allow::Table(&["PutItem", "UpdateItem"]), Allow::ReadStream],
            env: &[],
            timeout: Some(60),
            run: serve_stream!(CrmApi::new, upgrade_written),
        },
        Function {
            name: "list-upsells",
            description: "Lists the caller's upsell recommendations, newest first (recorded as shown, once each).",
            trigger: Trigger::Http(&[("GET", "/me/upsells")], Access::Bearer),
            allow: &[Allow::Table(RECORD)],
            env: &[],
            timeout: None,
            run: serve_http!(CrmApi::new, upsells),
        },
        Function {
            name: "click-upsell",
            description: "The caller opens one of their upsell recommendations (recorded as clicked, once).",
            trigger: Trigger::Http(
                &[("POST", "/me/upsells/{bookingId}/{kind}/click")],
                Access::Bearer,
            ),
            allow: &[Allow::Table(RECORD)],
            env: &[],
            timeout: None,
            run: serve_http!(CrmApi::new, click),
        },
        Function {
            name: "get-crm-funnel",
            description: "The CRM funnel: counts and conversions of each stage per period and category, from day counters (admins).",
            trigger: Trigger::Http(&[("GET", "/admin/crm/funnel")], Access::Admin),
            allow: &[Allow::Table(&["Query"])],
            env: &[],
            timeout: None,
            run: serve_http!(CrmApi::new, funnel),
        },
        Function {
            name: "list-customer-interactions",
            description: "A customer's CRM interaction log, newest first (admins).",
            trigger: Trigger::Http(
                &[("GET", "/admin/customers/{id}/interactions")],
                Access::Admin,
            ),
            allow: &[Allow::Indexes],
            env: &[],
            timeout: None,
            run: serve_http!(CrmApi::new, interactions),
        },
    ],
};

/// Built into the `bookings` binary: buying an upsell is a checkout.
pub const PURCHASE: Feature = Feature {
    binary: "bookings",
    functions: &[Function {
        name: "purchase-upsell",
        description: "The caller buys one of their upsell recommendations through the normal purchase flow: a follow-up, or the offer again (idempotent per client key).",
        trigger: Trigger::Http(
            &[("POST", "/me/upsells/{bookingId}/{kind}/purchase")],
            Access::Bearer,
        ),
        allow: &[
            Allow::Table(&["GetItem", "PutItem", "UpdateItem"]),
            STRIPE_KEY,
        ],
        env: STRIPE,
        timeout: Some(15),
        run: serve_http!(init_stripe, BookingsApi::new, purchase_upsell),
    }],
};
