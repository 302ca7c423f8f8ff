//! One-time sign-in codes: the rules, not the storage. A code has six digits, lives ten
//! minutes and dies after five wrong guesses, which bounds an attacker to five guesses in a
//! million per code.

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;
/// How long a code stays valid, in seconds.
pub const CODE_TTL_SECS: i64 = 10 * 60;
/// Wrong guesses after which the code is dead.
pub const MAX_ATTEMPTS: u32 = 5;
/// Codes one address may request per window.
pub const REQUESTS_PER_EMAIL: u32 = 5;
/// Code checks one address may make per window, across all its codes.
pub const VERIFICATIONS_PER_EMAIL: u32 = 15;
/// The rate-limit window for code requests, in seconds.
pub const REQUEST_WINDOW_SECS: i64 = 15 * 60;

/// Turns a uniformly random `u32` into a six-digit code, or `None` when the value falls in
/// the biased tail and the caller must draw again (rejection sampling keeps every code
/// equally likely).
pub fn code_from_random(value: u32) -> Option<String> {
    const RANGE: u32 = 1_000_000;
    let limit = u32::MAX - (u32::MAX % RANGE);
    (value < limit).then(|| format!("{:06}", value % RANGE))
}

/// Whether `raw` has the shape of a code, checked before any lookup.
pub fn is_well_formed(raw: &str) -> bool {
    raw.len() == CODE_DIGITS && raw.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_with_leading_zeros() {
        assert_eq!(code_from_random(42).unwrap(), "000042");
        assert_eq!(code_from_random(1_000_000).unwrap(), "000000");
    }

    #[test]
    fn values_in_the_biased_tail_are_rejected() {
        assert!(code_from_random(u32::MAX).is_none());
    }

    #[test]
    fn only_six_ascii_digits_are_well_formed() {
        assert!(is_well_formed("012345"));
        assert!(!is_well_formed("12345"));
        assert!(!is_well_formed("12345a"));
        assert!(!is_well_formed("１２３４５６"));
    }
}
