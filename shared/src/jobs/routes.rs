//! The job functions, and the stream consumers that tell a category's followers of each
//! posted job, a poster of each application, and move jobs along their bookings.

use crate::bookings::dynamo::ENTITY_BOOKING;
use crate::jobs::api::{JobNews, JobsApi};
use crate::jobs::dynamo::{ENTITY_APPLICATION, ENTITY_JOB};
use crate::notifications::routes::NOTIFY_FROM_STREAM;
use crate::routes::{Access, Allow, Feature, Function, Stream, Trigger};
use crate::{serve_http, serve_stream};

/// Writes a job, its listing and its files' attachment in one transaction, after reading it.
const WRITE: &[Allow] = &[Allow::Table(&[
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
])];

/// Built into the `jobs` binary.
pub const FEATURE: Feature = Feature {
    binary: "jobs",
    functions: &[
        Function {
            name: "post-job",
            description: "A customer posts a job; its category's followers are told.",
            trigger: Trigger::Http(&[("POST", "/jobs")], Access::Bearer),
            allow: &[Allow::Table(&["PutItem", "UpdateItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(JobsApi::new, post),
        },
        Function {
            name: "list-jobs",
            description: "Lists a category's open jobs, newest first.",
            trigger: Trigger::Http(&[("GET", "/jobs")], Access::Bearer),
            allow: &[Allow::Table(&["Query"])],
            env: &[],
            timeout: None,
            run: serve_http!(JobsApi::new, open),
        },
        Function {
            name: "list-my-jobs",
            description: "Lists the caller's jobs, newest first, by state.",
            trigger: Trigger::Http(&[("GET", "/me/jobs")], Access::Bearer),
            allow: &[Allow::Indexes],
            env: &[],
            timeout: None,
            run: serve_http!(JobsApi::new, mine),
        },
        Function {
            name: "get-job",
            description: "Returns a job (one no longer open only to its poster and admins).",
            trigger: Trigger::Http(&[("GET", "/jobs/{id}")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(JobsApi::new, get),
        },
        Function {
            name: "update-job",
            description: "The poster edits an open job.",
            trigger: Trigger::Http(&[("PATCH", "/jobs/{id}")], Access::Bearer),
            allow: WRITE,
            env: &[],
            timeout: None,
            run: serve_http!(JobsApi::new, update),
        },
        Function {
            name: "cancel-job",
            description: "The poster cancels an open job; it leaves its category's listing.",
            trigger: Trigger::Http(&[("POST", "/jobs/{id}/cancel")], Access::Bearer),
            allow: WRITE,
            env: &[],
            timeout: None,
            run: serve_http!(JobsApi::new, cancel),
        },
        Function {
            name: "apply-to-job",
            description: "A provider applies to an open job (or changes their quote); the first time opens the chat room of the poster and the provider.",
            trigger: Trigger::Http(&[("PUT", "/jobs/{id}/application")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem", "PutItem", "ConditionCheckItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(JobsApi::new, apply),
        },
        Function {
            name: "withdraw-application",
            description: "A provider withdraws their pending application to an open job.",
            trigger: Trigger::Http(&[("DELETE", "/jobs/{id}/application")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem", "PutItem", "ConditionCheckItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(JobsApi::new, withdraw),
        },
        Function {
            name: "list-job-applications",
            description: "The job's poster lists its applications, each with the provider's profile.",
            trigger: Trigger::Http(&[("GET", "/jobs/{id}/applications")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem", "Query"])],
            env: &[],
            timeout: None,
            run: serve_http!(JobsApi::new, applications),
        },
        Function {
            name: "list-my-applications",
            description: "Lists the calling provider's applications, newest job first, by state.",
            trigger: Trigger::Http(&[("GET", "/me/applications")], Access::Bearer),
            allow: &[Allow::Indexes],
            env: &[],
            timeout: None,
            run: serve_http!(JobsApi::new, my_applications),
        },
        Function {
            name: "send-application-news",
            description: "Tells a job's poster of each first application (its insertion on the table's stream).",
            trigger: Trigger::Stream(Stream::inserted(ENTITY_APPLICATION)),
            allow: NOTIFY_FROM_STREAM,
            env: &[],
            timeout: Some(60),
            run: serve_stream!(JobNews::new, applied),
        },
        Function {
            name: "send-job-news",
            description: "Tells a category's followers of each job posted in it (a resumable fan-out keyed per job) and records its poster's CRM intake; declines the pending applications of an assigned or cancelled job and tells their providers (the job's writes on the table's stream).",
            trigger: Trigger::Stream(Stream::written(ENTITY_JOB)),
            allow: NOTIFY_FROM_STREAM,
            env: &[],
            timeout: Some(60),
            run: serve_stream!(JobNews::new, handle),
        },
        Function {
            name: "follow-job-bookings",
            description: "Moves each job along its accepted application's booking: assigned once paid, open again when it ended unpaid, closed when it ended (the job bookings' writes on the table's stream).",
            trigger: Trigger::Stream(
                Stream::written(ENTITY_BOOKING).only("source", "job_application"),
            ),
            // Reads the job (and the application), writes them and the listing back.
            allow: &[
                Allow::Table(&["GetItem", "PutItem", "DeleteItem"]),
                Allow::ReadStream,
            ],
            env: &[],
            timeout: Some(60),
            run: serve_stream!(JobNews::new, follow),
        },
    ],
};
