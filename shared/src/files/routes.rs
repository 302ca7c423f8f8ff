//! Uploads, downloads and the cleanup of uploads never completed.

use crate::files::api::{CreateUpload, Files};
use crate::routes::{Access, Allow, Feature, Function, Trigger};
use crate::{serve_http, serve_schedule};

/// Built into the `files` binary (with the S3 client, the offers' binary would pass the size
/// budget).
pub const FEATURE: Feature = Feature {
    binary: "files",
    functions: &[
        Function {
            name: "create-upload",
            description: "Declares an upload and signs the S3 POST form that performs it.",
            trigger: Trigger::Http(&[("POST", "/files")], Access::Bearer),
            allow: &[
                Allow::Table(&["PutItem"]),
                Allow::Objects(&["PutObject"], &["uploads/"]),
            ],
            env: &[],
            timeout: None,
            run: serve_http!(CreateUpload::new, handle),
        },
        Function {
            name: "complete-upload",
            description: "Checks an uploaded file (size, type, leading bytes) and marks it ready.",
            trigger: Trigger::Http(&[("POST", "/files/{id}/complete")], Access::Bearer),
            allow: &[
                Allow::Table(&["GetItem", "UpdateItem"]),
                Allow::Objects(&["GetObject", "DeleteObject"], &["uploads/"]),
                Allow::Objects(&["PutObject"], &["files/"]),
            ],
            env: &[],
            timeout: None,
            run: serve_http!(Files::new, complete),
        },
        Function {
            name: "get-file",
            description: "Returns a short-lived download link to a file the caller may see.",
            trigger: Trigger::Http(&[("GET", "/files/{id}")], Access::Bearer),
            allow: &[
                Allow::Table(&["GetItem"]),
                Allow::Objects(&["GetObject"], &["files/"]),
            ],
            env: &[],
            timeout: None,
            run: serve_http!(Files::new, download),
        },
        Function {
            name: "delete-file",
            description: "Deletes the caller's file: object and record.",
            trigger: Trigger::Http(&[("DELETE", "/files/{id}")], Access::Bearer),
            allow: &[
                Allow::Table(&["GetItem", "DeleteItem"]),
                Allow::Objects(&["DeleteObject"], &["uploads/", "files/"]),
            ],
            env: &[],
            timeout: None,
            run: serve_http!(Files::new, delete),
        },
        Function {
            name: "cron-cleanup-uploads",
            description: "Removes uploads never completed within 24 hours (reads a sparse index, never the table).",
            trigger: Trigger::Schedule("Hourly", "rate(1 hour)"),
            allow: &[
                Allow::Table(&["DeleteItem"]),
                Allow::Indexes,
                Allow::Objects(&["DeleteObject"], &["uploads/"]),
            ],
            env: &[],
            timeout: Some(60),
            run: serve_schedule!(Files::new, cleanup),
        },
    ],
};
