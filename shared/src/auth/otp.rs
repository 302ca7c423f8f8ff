//! One-time sign-in codes: the rules, not the storage. A code has six digits, lives ten
//! minutes and dies after five wrong guesses, which bounds an attacker to five guesses in a
//! million per code.

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;
/// How long a code stays valid, in seconds.
pub const CODE_TTL_SECS: i64 = 10 * 60;
/// Wrong guesses after which the code is dead.
pub const MAX_ATTEMPTS: u32 = 5;
/// Codes one address may request per window from one client network: a stranger who knows
/// the address spends only their own network's share.
pub const REQUESTS_PER_EMAIL_AND_NETWORK: u32 = 5;
/// Codes one address may request per window from all networks together: the ceiling that
/// bounds how many codes (and so guesses, five per code) an address can be made to receive.
/// A stranger must control this many / 5 client networks to lock its owner out for a window.
pub const REQUESTS_PER_EMAIL: u32 = 30;
/// Code checks one address may make per window, across all its codes.
pub const VERIFICATIONS_PER_EMAIL: u32 = 15;
/// The rate-limit window for code requests, in seconds.
pub const REQUEST_WINDOW_SECS: i64 = 15 * 60;

/// The client network a request counts against: an IPv4 address itself, an IPv6 address's
/// /64 (one subscriber usually holds a whole /64, so per-address limits would be free to
/// dodge). Anything unparsable is its own network.
pub fn client_network(ip: &str) -> String {
    match ip.trim().parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => ip.trim().to_owned(),
    }
}

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
    fn ipv6_clients_count_per_64_and_ipv4_per_address() {
        assert_eq!(client_network("203.0.113.7"), "203.0.113.7");
        assert_eq!(client_network("::ffff:203.0.113.7"), "203.0.113.7");
        let a = client_network("2001:db8:1:2:aaaa::1");
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, client_network("2001:0db8:0001:0002:ffff:ffff:ffff:ffff"));
        assert_ne!(a, client_network("2001:db8:1:3::1"));
        assert_eq!(client_network(" weird "), "weird");
    }

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
