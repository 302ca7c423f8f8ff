//! The offer and provider-profile functions.

use crate::offers::api::OffersApi;
use crate::routes::{Access, Allow, Feature, Function, Trigger};
use crate::serve_http;

/// Writes an offer and its listing in one transaction, after reading it (and its images).
const WRITE: &[Allow] = &[Allow::Table(&["GetItem", "PutItem", "DeleteItem"])];

/// Built into the `offers` binary.
pub const FEATURE: Feature = Feature {
    binary: "offers",
    functions: &[
        Function {
            name: "put-provider-profile",
            description: "Creates or replaces the calling provider's public profile (its portfolio images read first).",
            trigger: Trigger::Http(&[("PUT", "/me/provider-profile")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem", "PutItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(OffersApi::new, put_profile),
        },
        Function {
            name: "get-provider-profile",
            description: "Returns a provider's public profile, rating and latest reviews.",
            trigger: Trigger::Http(&[("GET", "/providers/{id}")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem"]), Allow::Indexes],
            env: &[],
            timeout: None,
            run: serve_http!(OffersApi::new, profile),
        },
        Function {
            name: "list-provider-offers",
            description: "Lists a provider's offers, newest first (their paused ones to them only).",
            trigger: Trigger::Http(&[("GET", "/providers/{id}/offers")], Access::Bearer),
            allow: &[Allow::Indexes],
            env: &[],
            timeout: None,
            run: serve_http!(OffersApi::new, of_provider),
        },
        Function {
            name: "create-offer",
            description: "Publishes a provider's fixed-price offer.",
            trigger: Trigger::Http(&[("POST", "/offers")], Access::Bearer),
            allow: WRITE,
            env: &[],
            timeout: None,
            run: serve_http!(OffersApi::new, create),
        },
        Function {
            name: "list-offers",
            description: "Lists a category's active offers, newest first.",
            trigger: Trigger::Http(&[("GET", "/offers")], Access::Bearer),
            allow: &[Allow::Table(&["Query"])],
            env: &[],
            timeout: None,
            run: serve_http!(OffersApi::new, listed),
        },
        Function {
            name: "get-offer",
            description: "Returns an offer (a paused one only to its provider).",
            trigger: Trigger::Http(&[("GET", "/offers/{id}")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(OffersApi::new, get),
        },
        Function {
            name: "update-offer",
            description: "Edits, pauses or lists again one of the caller's offers.",
            trigger: Trigger::Http(&[("PATCH", "/offers/{id}")], Access::Bearer),
            allow: WRITE,
            env: &[],
            timeout: None,
            run: serve_http!(OffersApi::new, update),
        },
        Function {
            name: "delete-offer",
            description: "Deletes one of the caller's offers.",
            trigger: Trigger::Http(&[("DELETE", "/offers/{id}")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem", "DeleteItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(OffersApi::new, delete),
        },
    ],
};
