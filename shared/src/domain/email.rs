//! Email addresses. Normalised to lower case on parse so one person cannot end up with two
//! accounts by changing the case of their address.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A syntactically valid, lower-cased email address.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Longest address SMTP allows.
    pub const MAX_LEN: usize = 254;

    /// Parses an address; `field` names it in the error. The check is deliberately the
    /// pragmatic one (one `@`, a dotted domain, no spaces or controls): the emailed code is
    /// what proves the address is real.
    pub fn parse(raw: &str, field: &str) -> Result<Self, Error> {
        let value = raw.trim().to_lowercase();
        let invalid = || Error::field(field, "not a valid email address");
        if value.is_empty() || value.len() > Self::MAX_LEN {
            return Err(invalid());
        }
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && c != '@');
        if domain_ok && local_ok {
            Ok(Self(value))
        } else {
            Err(invalid())
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ana@Example.COM ", "email")
                .unwrap()
                .as_str(),
            "ana@example.com"
        );
    }

    #[test]
    fn malformed_addresses_are_rejected() {
        for bad in [
            "",
            "ana",
            "ana@",
            "@x.com",
            "ana@x",
            "a b@x.com",
            "ana@x..com",
            "a@b@x.com",
        ] {
            assert!(Email::parse(bad, "email").is_err(), "{bad}");
        }
    }
}
