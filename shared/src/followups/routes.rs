//! The follow-up functions, built into the `bookings` binary: opening one is a checkout (it
//! calls Stripe, as a purchase does); the terms, the admins' settings and premium flags only
//! read and write the table. A premium upgrade is bought as an upsell
//! ([`crate::crm::routes::PURCHASE`]) and paid through the Stripe webhook.

use crate::bookings::api::BookingsApi;
use crate::bookings::routes::{STRIPE, STRIPE_KEY};
use crate::followups::api::FollowUpsApi;
use crate::lambda::init_stripe;
use crate::routes::{Access, Allow, Feature, Function, Trigger};
use crate::serve_http;

/// Built into the `bookings` binary.
pub const FEATURE: Feature = Feature {
    binary: "bookings",
    functions: &[
        Function {
            name: "open-follow-up",
            description: "The customer of a completed booking opens a follow-up within the window: a child booking in the same thread, free for premium customers, otherwise paid like a purchase (idempotent per client key).",
            trigger: Trigger::Http(&[("POST", "/bookings/{id}/follow-ups")], Access::Bearer),
            // PutItem/UpdateItem: the booking, its key claim, outbox and the purchase limits'
            // rate windows, in the creating transaction.
            allow: &[
                Allow::Table(&["GetItem", "PutItem", "UpdateItem"]),
                STRIPE_KEY,
            ],
            env: STRIPE,
            timeout: Some(15),
            run: serve_http!(init_stripe, BookingsApi::new, open_follow_up),
        },
        Function {
            name: "get-follow-up-terms",
            description: "Tells a completed booking's customer whether a follow-up may be opened now, until when, and its price.",
            trigger: Trigger::Http(
                &[("GET", "/bookings/{id}/follow-ups/terms")],
                Access::Bearer,
            ),
            allow: &[Allow::Table(&["GetItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(FollowUpsApi::new, terms),
        },
        Function {
            name: "get-premium",
            description: "Tells the caller whether they are premium (their follow-ups free): what a client reads after paying the premium upgrade.",
            trigger: Trigger::Http(&[("GET", "/me/premium")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(FollowUpsApi::new, premium),
        },
        Function {
            name: "get-follow-up-settings",
            description: "Returns the follow-up window and price, and the premium upgrade's price (admins).",
            trigger: Trigger::Http(&[("GET", "/admin/follow-up-settings")], Access::Admin),
            allow: &[Allow::Table(&["GetItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(FollowUpsApi::new, settings),
        },
        Function {
            name: "set-follow-up-settings",
            description: "Sets the follow-up window and price, and the premium upgrade's price (admins).",
            trigger: Trigger::Http(&[("PUT", "/admin/follow-up-settings")], Access::Admin),
            allow: &[Allow::Table(&["PutItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(FollowUpsApi::new, set_settings),
        },
        Function {
            name: "set-premium",
            description: "Flags a customer premium, or not: a premium customer's follow-ups are free (admins).",
            trigger: Trigger::Http(&[("PUT", "/admin/users/{id}/premium")], Access::Admin),
            allow: &[Allow::Table(&["GetItem", "PutItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(FollowUpsApi::new, set_premium),
        },
    ],
};
