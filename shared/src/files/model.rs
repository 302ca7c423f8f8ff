//! File uploads: what may be uploaded for which purpose, how big, and how we tell a file is
//! what it claims to be. The declared content type is enforced three times: by our validation
//! here, by the storage itself (the presigned POST policy pins it), and by sniffing the first
//! bytes once the upload is complete.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{FileId, JobId, RoomId, UserId};
use crate::error::Error;

/// What a file is for; decides the allowed types and who may see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// A user's avatar: visible to every signed-in user once ready.
    ProfileImage,
    /// Images of past work on a provider's profile.
    PortfolioImage,
    /// Documents of a job (quotes, plans).
    JobDocument,
    /// A file sent in a chat room.
    ChatAttachment,
    /// Photos proving a job was done.
    ProofOfWork,
}

/// Image types accepted for image purposes.
pub const IMAGE_TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp"];

/// Document types accepted for document purposes (images are accepted too).
pub const DOCUMENT_TYPES: &[&str] = &[
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
];

impl Purpose {
    /// Whether `content_type` may be uploaded for this purpose.
    pub fn allows(self, content_type: &str) -> bool {
        let images = IMAGE_TYPES.contains(&content_type);
        match self {
            Self::ProfileImage | Self::PortfolioImage | Self::ProofOfWork => images,
            Self::JobDocument | Self::ChatAttachment => {
                images || DOCUMENT_TYPES.contains(&content_type)
            }
        }
    }

    /// Whether any signed-in user may download a ready file of this purpose.
    pub fn is_public(self) -> bool {
        // Portfolio images are what a provider's profile and offers show to every customer.
        matches!(self, Self::ProfileImage | Self::PortfolioImage)
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::domain::wire_name(self))
    }
}

/// Default largest upload, in bytes.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Longest file name kept, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// The body of `POST /files`. Its schema is written by hand (below) because the allowed content
/// types depend on the purpose.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UploadRequest {
    /// What the file is for.
    pub purpose: Purpose,
    /// The client's file name, kept only as metadata.
    pub file_name: String,
    /// The exact MIME type the upload will carry.
    pub content_type: String,
    /// The exact size in bytes.
    #[serde(deserialize_with = "integral")]
    pub size: u64,
}

/// A whole number of bytes, also when a client's JSON encoder writes it as `2.0` (JSON Schema
/// counts that as an integer, and so do we); `2.5` and negatives are refused.
fn integral<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    n.as_u64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(f))
                .map(|f| f as u64)
        })
        .ok_or_else(|| serde::de::Error::custom("expected a whole number of bytes"))
}

impl utoipa::PartialSchema for UploadRequest {
    /// One alternative per group of purposes, each listing its content types, so a client
    /// (and the API fuzzer) can tell a valid request from the document alone.
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{ObjectBuilder, OneOfBuilder, Type};
        let string = || ObjectBuilder::new().schema_type(Type::String);
        let variant = |purposes: &[Purpose], types: Vec<&str>| {
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property(
                    "purpose",
                    string().enum_values(Some(purposes.iter().map(Purpose::to_string))),
                )
                .property(
                    "fileName",
                    string()
                        .description(Some(
                            "1 to 255 characters, no slashes or control characters, not . or ..",
                        ))
                        .pattern(Some(
                            r"^[^/\\\u0000-\u001f\u007f-\u009f]*[^\s/\\\u0000-\u001f\u007f-\u009f][^/\\\u0000-\u001f\u007f-\u009f]*$",
                        ))
                        .max_length(Some(MAX_NAME_CHARS)),
                )
                .property("contentType", string().enum_values(Some(types)))
                .property(
                    "size",
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1))
                        .maximum(Some(DEFAULT_MAX_BYTES))
                        .description(Some(
                            "Exact size in bytes: at most 10 MiB unless the deployment sets \
                             another MaxUploadBytes.",
                        )),
                )
                .required("purpose")
                .required("fileName")
                .required("contentType")
                .required("size")
                .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::<
                    utoipa::openapi::schema::Schema,
                >::FreeForm(false)))
        };
        let images = IMAGE_TYPES.to_vec();
        let documents = IMAGE_TYPES.iter().chain(DOCUMENT_TYPES).copied().collect();
        OneOfBuilder::new()
            .item(variant(
                &[
                    Purpose::ProfileImage,
                    Purpose::PortfolioImage,
                    Purpose::ProofOfWork,
                ],
                images,
            ))
            .item(variant(
                &[Purpose::JobDocument, Purpose::ChatAttachment],
                documents,
            ))
            .description(Some(
                "Declare an upload: images for profile, portfolio and proof-of-work files; \
                 images and documents for job documents and chat attachments.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for UploadRequest {}

/// A checked upload request.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidUpload {
    /// What the file is for.
    pub purpose: Purpose,
    /// Cleaned file name.
    pub file_name: String,
    /// Lower-cased MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
}

impl UploadRequest {
    /// Checks the request against the purpose's rules and the size limit.
    pub fn validate(self, max_bytes: u64) -> Result<ValidUpload, Error> {
        let name = self.file_name.trim();
        let name_ok = !name.is_empty()
            && name.chars().count() <= MAX_NAME_CHARS
            && !name
                .chars()
                .any(|c| c.is_control() || c == '/' || c == '\\')
            && name != "."
            && name != "..";
        if !name_ok {
            return Err(Error::field(
                "fileName",
                "must be 1 to 255 characters without slashes or control characters",
            ));
        }
        let content_type = self.content_type.trim().to_ascii_lowercase();
        if !self.purpose.allows(&content_type) {
            return Err(Error::field(
                "contentType",
                format!("{content_type} is not accepted for {}", self.purpose),
            ));
        }
        if self.size == 0 || self.size > max_bytes {
            return Err(Error::field(
                "size",
                format!("must be from 1 to {max_bytes} bytes"),
            ));
        }
        Ok(ValidUpload {
            purpose: self.purpose,
            file_name: name.to_owned(),
            content_type,
            size: self.size,
        })
    }
}

/// Where a file is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Declared; the upload may not have happened yet.
    Pending,
    /// Uploaded and checked.
    Ready,
}

/// A file as stored and as returned by the API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileRecord {
    /// Id (ULID).
    pub id: FileId,
    /// Who uploaded it.
    pub owner_id: UserId,
    /// What it is for.
    pub purpose: Purpose,
    /// The client's file name.
    pub file_name: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Pending until `POST /files/{id}/complete` checked it.
    pub status: FileStatus,
    /// When it was declared.
    pub created_at: DateTime<Utc>,
    /// When it was checked.
    pub completed_at: Option<DateTime<Utc>>,
    /// Rooms it was sent to as an attachment: their members may download it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub room_ids: Vec<RoomId>,
    /// Jobs it was attached to (a `job_document`): providers may download it while such a job
    /// is open and still lists it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub job_ids: Vec<JobId>,
}

impl FileRecord {
    /// Whether this is one of `owner`'s ready profile or portfolio images: what a room avatar
    /// or an offer may show.
    pub fn is_ready_image_of(&self, owner: &UserId) -> bool {
        self.owner_id == *owner
            && self.status == FileStatus::Ready
            && matches!(
                self.purpose,
                Purpose::ProfileImage | Purpose::PortfolioImage
            )
    }
}

/// How many leading bytes are read to recognise a file.
pub const SNIFF_BYTES: u64 = 8 * 1024;

/// Checks that the leading bytes of a file are of the declared type; the error says what the
/// bytes look like instead.
pub fn check_signature(declared: &str, head: &[u8]) -> Result<(), String> {
    match infer::get(head).map(|kind| kind.mime_type()) {
        Some(found) if found == declared => Ok(()),
        Some(found) => Err(format!("the file is {found}, not {declared}")),
        None => Err(format!(
            "the file content is not recognisable as {declared}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_is_a_whole_number_even_when_written_with_a_decimal_point() {
        let parse = |size: &str| {
            serde_json::from_str::<UploadRequest>(&format!(
                r#"{{"purpose":"chat_attachment","fileName":"a.pdf","contentType":"application/pdf","size":{size}}}"#
            ))
            .map(|r| r.size)
        };
        assert_eq!(parse("2048").unwrap(), 2048);
        assert_eq!(parse("2048.0").unwrap(), 2048);
        for bad in ["2048.5", "-1", "\"2048\"", "1e400"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    fn request(purpose: Purpose, name: &str, content_type: &str, size: u64) -> UploadRequest {
        UploadRequest {
            purpose,
            file_name: name.into(),
            content_type: content_type.into(),
            size,
        }
    }

    #[test]
    fn each_purpose_accepts_only_its_types() {
        assert!(Purpose::ProfileImage.allows("image/png"));
        assert!(!Purpose::ProfileImage.allows("application/pdf"));
        assert!(Purpose::JobDocument.allows("application/pdf"));
        assert!(!Purpose::ChatAttachment.allows("application/x-msdownload"));
    }

    #[test]
    fn a_valid_request_is_cleaned() {
        let valid = request(Purpose::JobDocument, " quote.pdf ", "Application/PDF", 10)
            .validate(DEFAULT_MAX_BYTES)
            .unwrap();
        assert_eq!(
            (valid.file_name.as_str(), valid.content_type.as_str()),
            ("quote.pdf", "application/pdf")
        );
    }

    #[test]
    fn bad_requests_name_their_field() {
        let cases = [
            (
                request(Purpose::JobDocument, "../x.pdf", "application/pdf", 10),
                "fileName",
            ),
            (
                request(Purpose::JobDocument, "", "application/pdf", 10),
                "fileName",
            ),
            (
                request(Purpose::ProfileImage, "a.pdf", "application/pdf", 10),
                "contentType",
            ),
            (
                request(Purpose::JobDocument, "a.pdf", "application/pdf", 0),
                "size",
            ),
            (
                request(
                    Purpose::JobDocument,
                    "a.pdf",
                    "application/pdf",
                    DEFAULT_MAX_BYTES + 1,
                ),
                "size",
            ),
        ];
        for (req, field) in cases {
            let err = req.validate(DEFAULT_MAX_BYTES).unwrap_err();
            assert!(
                matches!(err, Error::Validation { field: Some(ref f), .. } if f == field),
                "{field}: {err:?}"
            );
        }
    }

    #[test]
    fn signatures_are_checked_against_the_declared_type() {
        assert!(check_signature("application/pdf", b"%PDF-1.7\n%....").is_ok());
        assert!(check_signature("image/png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").is_ok());
        let err = check_signature(
            "application/pdf",
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff",
        )
        .unwrap_err();
        assert!(err.contains("not application/pdf"), "{err}");
        assert!(check_signature("application/pdf", b"just text").is_err());
    }
}
