//! The payout functions: onboarding, balance and withdrawal (the ones with Stripe's keys),
//! the provider's payout status, history and earnings, and the admins' commission rates and
//! report.

use crate::bookings::routes::{STRIPE, STRIPE_KEY};
use crate::lambda::init_stripe;
use crate::payouts::api::{PayoutsApi, StripePayoutsApi};
use crate::routes::{Access, Allow, Feature, Function, Trigger};
use crate::serve_http;

/// Built into the `bookings` binary, next to [`crate::bookings::routes::FEATURE`]: both link
/// the same Stripe adapter (transfers, Connect), so one binary is one release link fewer.
pub const FEATURE: Feature = Feature {
    binary: "bookings",
    functions: &[
        Function {
            name: "start-payout-onboarding",
            description: "Creates the calling provider's Stripe Express account once and returns a fresh onboarding link.",
            trigger: Trigger::Http(&[("POST", "/me/payouts/onboarding")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem", "PutItem"]), STRIPE_KEY],
            env: STRIPE,
            timeout: Some(15),
            run: serve_http!(init_stripe, StripePayoutsApi::new, onboard),
        },
        Function {
            name: "refresh-payout-onboarding",
            description: "Returns a fresh onboarding link for the calling provider's existing Stripe account.",
            trigger: Trigger::Http(
                &[("POST", "/me/payouts/onboarding/refresh")],
                Access::Bearer,
            ),
            allow: &[Allow::Table(&["GetItem"]), STRIPE_KEY],
            env: STRIPE,
            timeout: Some(15),
            run: serve_http!(init_stripe, StripePayoutsApi::new, refresh),
        },
        Function {
            name: "get-payout-balance",
            description: "Returns the calling provider's Stripe balance and whether they withdraw by hand.",
            trigger: Trigger::Http(&[("GET", "/me/payouts/balance")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem"]), STRIPE_KEY],
            env: STRIPE,
            timeout: None,
            run: serve_http!(init_stripe, StripePayoutsApi::new, balance),
        },
        Function {
            name: "withdraw-payout",
            description: "Pays the calling provider's available balance out to their bank (manual payouts).",
            trigger: Trigger::Http(&[("POST", "/me/payouts")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem", "PutItem"]), STRIPE_KEY],
            env: STRIPE,
            timeout: Some(15),
            run: serve_http!(init_stripe, StripePayoutsApi::new, withdraw),
        },
        Function {
            name: "list-payouts",
            description: "Lists the calling provider's payouts, newest first.",
            trigger: Trigger::Http(&[("GET", "/me/payouts")], Access::Bearer),
            allow: &[Allow::Table(&["Query"])],
            env: &[],
            timeout: None,
            run: serve_http!(PayoutsApi::new, payouts),
        },
        Function {
            name: "get-earnings",
            description: "Returns the calling provider's earnings per month: gross, commission, net.",
            trigger: Trigger::Http(&[("GET", "/me/earnings")], Access::Bearer),
            allow: &[Allow::Table(&["Query"])],
            env: &[],
            timeout: None,
            run: serve_http!(PayoutsApi::new, earnings),
        },
        Function {
            name: "get-payout-account",
            description: "Returns where the calling provider's payout onboarding is and whether they can be paid.",
            trigger: Trigger::Http(&[("GET", "/me/payouts/account")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(PayoutsApi::new, status),
        },
        Function {
            name: "get-commission-rates",
            description: "Returns the platform's commission rates (admins).",
            trigger: Trigger::Http(&[("GET", "/admin/commission")], Access::Admin),
            allow: &[Allow::Table(&["GetItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(PayoutsApi::new, rates),
        },
        Function {
            name: "set-commission-rates",
            description: "Replaces the platform's commission rates; new bookings use them (admins).",
            trigger: Trigger::Http(&[("PUT", "/admin/commission")], Access::Admin),
            allow: &[Allow::Table(&["PutItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(PayoutsApi::new, set_rates),
        },
        Function {
            name: "get-commission-report",
            description: "Returns a month's commission per category and currency (admins).",
            trigger: Trigger::Http(&[("GET", "/admin/commission/report")], Access::Admin),
            allow: &[Allow::Table(&["Query"])],
            env: &[],
            timeout: None,
            run: serve_http!(PayoutsApi::new, report),
        },
    ],
};
