//! The scheduling functions. They are built into the `offers` binary (slots are an offer's,
//! and the binary links the same table code), declared here with their feature.

use crate::routes::{Access, Allow, Feature, Function, Trigger};
use crate::scheduling::api::SchedulingApi;
use crate::serve_http;

/// Built into the `offers` binary, next to [`crate::offers::routes::FEATURE`].
pub const FEATURE: Feature = Feature {
    binary: "offers",
    functions: &[
        Function {
            name: "set-availability",
            description: "A provider sets their availability: weekly plan, overrides, notice and buffer.",
            trigger: Trigger::Http(&[("PUT", "/me/availability")], Access::Bearer),
            allow: &[Allow::Table(&["PutItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(SchedulingApi::new, set),
        },
        Function {
            name: "get-availability",
            description: "Returns the calling provider's availability.",
            trigger: Trigger::Http(&[("GET", "/me/availability")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(SchedulingApi::new, mine),
        },
        Function {
            name: "list-offer-slots",
            description: "An offer's free slots for a range of dates, priced, in UTC and the provider's local time.",
            trigger: Trigger::Http(&[("GET", "/offers/{id}/slots")], Access::Bearer),
            // Query: the provider's held time.
            allow: &[Allow::Table(&["GetItem", "Query"])],
            env: &[],
            timeout: None,
            run: serve_http!(SchedulingApi::new, slots),
        },
        Function {
            name: "get-session-settings",
            description: "Returns how sessions are followed: the support alert's delay (admins).",
            trigger: Trigger::Http(&[("GET", "/admin/session-settings")], Access::Admin),
            allow: &[Allow::Table(&["GetItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(SchedulingApi::new, settings),
        },
        Function {
            name: "set-session-settings",
            description: "Sets how sessions are followed: the support alert's delay (admins).",
            trigger: Trigger::Http(&[("PUT", "/admin/session-settings")], Access::Admin),
            allow: &[Allow::Table(&["PutItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(SchedulingApi::new, set_settings),
        },
    ],
};
