//! Keys of file records, and the S3 object keys of uploads and stored files. Built here and nowhere else, from typed ids;
//! the tests pin every string (changing one is a data migration, not a refactor).

use crate::domain::{FileId, UserId};
use crate::keys::{Key, key};

/// The leading tags of this feature's keys (partition, sort and index parts); no other
/// feature may use them (checked in [`crate::keys`]).
pub const PREFIXES: &[&str] = &["FILE#", "UPLOADS#PENDING", "uploads/", "files/"];

/// A file's record.
pub fn file(id: &FileId) -> Key {
    key(format!("FILE#{id}"), "FILE")
}

/// `GSI1` keys of a file whose upload is not complete yet. The index is sparse: completing
/// the upload removes these attributes, so the cleanup job reads only stale pending uploads,
/// oldest first (file ids are time-ordered), never the table.
pub fn pending_upload(id: &FileId) -> Key {
    key(PENDING_UPLOADS.to_owned(), format!("{FILE_PREFIX}{id}"))
}

/// `GSI1PK` of pending uploads.
pub const PENDING_UPLOADS: &str = "UPLOADS#PENDING";
/// `GSI1SK` prefix of pending uploads.
pub const FILE_PREFIX: &str = "FILE#";

/// Where the presigned form puts a file's bytes: a staging key under its owner's prefix, named
/// by the server. Nothing is ever downloaded from here: the form can still overwrite it until
/// it expires, so only the copy completion made after checking it is served.
pub fn upload_staging(owner: &UserId, id: &FileId) -> String {
    format!("{UPLOAD_STAGING_PREFIX}{owner}/{id}")
}

/// S3 prefix of staged uploads (the lifecycle rule and upload permissions name it too).
pub const UPLOAD_STAGING_PREFIX: &str = "uploads/";

/// Where a checked file lives: written only by completion's conditional copy of the exact
/// object it checked, and the only key download links are signed for.
pub fn stored_file(owner: &UserId, id: &FileId) -> String {
    format!("{STORED_FILE_PREFIX}{owner}/{id}")
}

/// S3 prefix of checked files.
pub const STORED_FILE_PREFIX: &str = "files/";

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "01JD0000000000000000000001";

    fn user_id() -> UserId {
        UserId::parse(USER, "id").unwrap()
    }

    #[test]
    fn file_keys_are_pinned() {
        let file = FileId::parse("01JD0000000000000000000003", "id").unwrap();
        assert_eq!(
            super::file(&file),
            Key {
                pk: "FILE#01JD0000000000000000000003".into(),
                sk: "FILE".into()
            }
        );
        assert_eq!(
            pending_upload(&file),
            Key {
                pk: "UPLOADS#PENDING".into(),
                sk: "FILE#01JD0000000000000000000003".into()
            }
        );
        assert_eq!(
            upload_staging(&user_id(), &file),
            format!("uploads/{USER}/01JD0000000000000000000003")
        );
        assert_eq!(
            stored_file(&user_id(), &file),
            format!("files/{USER}/01JD0000000000000000000003")
        );
    }
}
