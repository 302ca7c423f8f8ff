//! Keys of jobs, their category listings and their applications. Built here and nowhere else, from typed ids; the
//! tests pin every string (changing one is a data migration, not a refactor).

use crate::domain::{JobId, UserId};
use crate::keys::{Key, key, user_partition};

/// The leading tags of this feature's keys (partition, sort and index parts); no other
/// feature may use them (checked in [`crate::keys`]).
pub const PREFIXES: &[&str] = &["JOB#", "JOBS#", "APPLICATION#"];

/// `SK` (and `GSI1SK`) prefix of jobs.
pub const JOB_PREFIX: &str = "JOB#";

/// A job.
pub fn job(id: &JobId) -> Key {
    key(format!("{JOB_PREFIX}{id}"), "JOB")
}

/// `GSI1` keys of a job, in its poster's partition: "my jobs", newest first.
pub fn job_by_poster(poster: &UserId, id: &JobId) -> Key {
    key(user_partition(poster), format!("{JOB_PREFIX}{id}"))
}

/// `SK` (and `GSI1SK`) prefix of applications.
pub const APPLICATION_PREFIX: &str = "APPLICATION#";

/// A provider's application to a job, in the job's partition (one per job and provider: the
/// key is the rule), so a job's applications are one query.
pub fn application(job: &JobId, provider: &UserId) -> Key {
    key(
        format!("{JOB_PREFIX}{job}"),
        format!("{APPLICATION_PREFIX}{provider}"),
    )
}

/// `GSI1` keys of an application, in its provider's partition: "my applications", newest
/// job first.
pub fn application_by_provider(provider: &UserId, job: &JobId) -> Key {
    key(
        user_partition(provider),
        format!("{APPLICATION_PREFIX}{job}"),
    )
}

/// The listing of an open job in its category: a copy of the job, so a category's open jobs
/// are one query, newest first (ids are ULIDs). It goes when the job stops being open.
pub fn listing(category: &str, id: &JobId) -> Key {
    key(category_partition(category), format!("{JOB_PREFIX}{id}"))
}

/// The partition of a category's open jobs.
pub fn category_partition(category: &str) -> String {
    format!("JOBS#{category}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "01JD0000000000000000000001";
    const JOB: &str = "01JD0000000000000000000008";

    #[test]
    fn job_keys_are_pinned() {
        let user = UserId::parse(USER, "u").unwrap();
        let id = JobId::parse(JOB, "j").unwrap();
        assert_eq!(
            job(&id),
            Key {
                pk: format!("JOB#{JOB}"),
                sk: "JOB".into()
            }
        );
        assert_eq!(
            job_by_poster(&user, &id),
            Key {
                pk: format!("USER#{USER}"),
                sk: format!("JOB#{JOB}")
            }
        );
        assert_eq!(
            application(&id, &user),
            Key {
                pk: format!("JOB#{JOB}"),
                sk: format!("APPLICATION#{USER}")
            }
        );
        assert_eq!(
            application_by_provider(&user, &id),
            Key {
                pk: format!("USER#{USER}"),
                sk: format!("APPLICATION#{JOB}")
            }
        );
        assert_eq!(
            listing("plumbing", &id),
            Key {
                pk: "JOBS#plumbing".into(),
                sk: format!("JOB#{JOB}")
            }
        );
    }
}
