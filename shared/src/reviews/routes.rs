//! The review functions, built into the `offers` binary (beside the provider profiles the
//! reviews feed; they link only DynamoDB).

use crate::chat::dynamo::ENTITY_MESSAGE;
use crate::reviews::api::ReviewsApi;
use crate::routes::{Access, Allow, Feature, Function, Stream, Trigger};
use crate::{serve_http, serve_schedule, serve_stream};

/// Reads a booking and its reviews, then writes in one transaction.
const WRITE: &[Allow] = &[Allow::Table(&[
    "GetItem",
    "Query",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "ConditionCheckItem",
])];

/// Built into the `offers` binary.
pub const FEATURE: Feature = Feature {
    binary: "offers",
    functions: &[
        Function {
            name: "submit-review",
            description: "A completed booking's party reviews the other (double-blind: published with the other's review or when the window closes).",
            trigger: Trigger::Http(&[("POST", "/bookings/{id}/reviews")], Access::Bearer),
            allow: WRITE,
            env: &[],
            timeout: None,
            run: serve_http!(ReviewsApi::new, submit),
        },
        Function {
            name: "list-booking-reviews",
            description: "Returns what the caller may see of a booking's reviews and whether they may still write theirs.",
            trigger: Trigger::Http(&[("GET", "/bookings/{id}/reviews")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem", "Query"])],
            env: &[],
            timeout: None,
            run: serve_http!(ReviewsApi::new, of_booking),
        },
        Function {
            name: "list-provider-reviews",
            description: "Lists a provider's published reviews, newest first.",
            trigger: Trigger::Http(&[("GET", "/providers/{id}/reviews")], Access::Bearer),
            allow: &[Allow::Indexes],
            env: &[],
            timeout: None,
            run: serve_http!(ReviewsApi::new, of_provider),
        },
        Function {
            name: "vote-review",
            description: "Marks a published review helpful (once per user).",
            trigger: Trigger::Http(
                &[("PUT", "/bookings/{id}/reviews/{author}/helpful")],
                Access::Bearer,
            ),
            allow: &[Allow::Table(&["Query", "PutItem", "UpdateItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(ReviewsApi::new, vote),
        },
        Function {
            name: "reply-review",
            description: "The reviewed provider's one public reply to a published review.",
            trigger: Trigger::Http(
                &[("PUT", "/bookings/{id}/reviews/{author}/reply")],
                Access::Bearer,
            ),
            allow: &[Allow::Table(&["Query", "UpdateItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(ReviewsApi::new, reply),
        },
        Function {
            name: "hide-review",
            description: "An admin hides an abusive review: it leaves the listings and the aggregates, and its author is told.",
            trigger: Trigger::Http(
                &[("POST", "/bookings/{id}/reviews/{author}/hide")],
                Access::Admin,
            ),
            allow: &[Allow::Table(&["Query", "PutItem", "UpdateItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(ReviewsApi::new, hide),
        },
        Function {
            name: "cron-review-windows",
            description: "Publishes the reviews whose window closed unanswered (reads only what is due).",
            trigger: Trigger::Schedule("EveryFiveMinutes", "rate(5 minutes)"),
            allow: &[
                Allow::Table(&["GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"]),
                Allow::Indexes,
            ],
            env: &[],
            timeout: Some(60),
            run: serve_schedule!(ReviewsApi::new, sweep),
        },
        Function {
            name: "measure-first-responses",
            description: "Measures providers' first-response time from the new messages of their booking and application threads.",
            trigger: Trigger::Stream(Stream::inserted(ENTITY_MESSAGE)),
            allow: &[
                Allow::ReadStream,
                Allow::Table(&["GetItem", "PutItem", "UpdateItem"]),
            ],
            env: &[],
            timeout: Some(30),
            run: serve_stream!(ReviewsApi::new, measure),
        },
    ],
};
