//! Users and their profile rules: who may hold which role, and what a valid phone number,
//! time zone and locale are. A profile change arrives as a [`ProfilePatch`] (the wire shape,
//! unknown fields refused) and leaves [`ProfilePatch::validate`] as [`ProfileChanges`], with
//! every value parsed into its type.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::{Email, UserId};
use crate::error::Error;

/// What a user does on the marketplace.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Books or buys work.
    Customer,
    /// Does the work: worker, contractor, mechanic, mentor.
    Provider,
    /// Operates the marketplace; granted only by another admin.
    Admin,
}

impl Role {
    /// The role's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Provider => "provider",
            Self::Admin => "admin",
        }
    }

    /// Parses a wire name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "customer" => Some(Self::Customer),
            "provider" => Some(Self::Provider),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// The addresses the operator named admins (`AdminEmails`): whoever signs in with one gets the
/// `admin` role. This is how a deployment gets its first admin without writing to the table;
/// nothing else grants the role (an admin's own `PATCH /me` may keep it, never give it away).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdminEmails(BTreeSet<Email>);

impl AdminEmails {
    /// Parses a comma-separated list; blank entries are skipped, a malformed one is an error
    /// (a typo would otherwise silently leave the deployment without its admin).
    pub fn parse(raw: &str) -> Result<Self, Error> {
        raw.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| Email::parse(entry, "AdminEmails"))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether `email` is listed.
    pub fn contains(&self, email: &Email) -> bool {
        self.0.contains(email)
    }
}

/// A phone number in E.164 form (`+14155550123`), checked against the numbering plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Parses an international number; national formats are refused because we cannot know
    /// which country the client meant.
    pub fn parse(raw: &str, field: &str) -> Result<Self, Error> {
        let invalid = || {
            Error::field(
                field,
                "not a valid phone number in E.164 form, e.g. +14155550123",
            )
        };
        // `+`, then digits with the usual separators (spaces, dots, dashes, parentheses):
        // exactly what the document's pattern says; the numbering plan decides the rest.
        let mut chars = raw.chars();
        let shaped = chars.next() == Some('+')
            && chars.next().is_some_and(|c| matches!(c, '1'..='9'))
            && chars.all(|c| c.is_ascii_digit() || " ().-".contains(c))
            && (7..=24).contains(&raw.len());
        if !shaped {
            return Err(invalid());
        }
        let number = phonenumber::parse(None, raw).map_err(|_| invalid())?;
        if !phonenumber::is_valid(&number) {
            return Err(invalid());
        }
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// The E.164 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name (`Europe/Lisbon`), needed for quiet hours and schedules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct TimeZone(String);

impl TimeZone {
    /// Parses a zone name known to the IANA database (in any letter case; kept as the
    /// database spells it).
    pub fn parse(raw: &str, field: &str) -> Result<Self, Error> {
        let rules = jiff::tz::TimeZone::get(raw)
            .map_err(|_| Error::field(field, "not an IANA time zone, e.g. Europe/Lisbon"))?;
        Ok(Self(rules.iana_name().unwrap_or(raw).to_owned()))
    }

    /// The zone's canonical name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The zone's rules, from the IANA database compiled into the binary (UTC's for a name it
    /// does not know, which `parse` never lets in).
    pub fn rules(&self) -> Zone {
        Zone(jiff::tz::TimeZone::get(&self.0).unwrap_or(jiff::tz::TimeZone::UTC))
    }
}

/// A time zone's rules: instants to local times and back, across DST changes.
///
/// jiff's bundled database rather than chrono-tz's: chrono-tz compiles every zone into
/// pointer-rich static tables that cost each binary about 1.7 MiB (and their relocations
/// memory at every cold start); jiff keeps the compact TZif data (about 0.3 MiB) and reads
/// a zone when it is first asked for. The rest of the code stays on chrono's types.
#[derive(Clone, Debug)]
pub struct Zone(jiff::tz::TimeZone);

impl Zone {
    /// `at` on the zone's clock, with the zone's offset at that instant.
    pub fn local(&self, at: DateTime<Utc>) -> DateTime<FixedOffset> {
        let offset = jiff::Timestamp::from_second(at.timestamp())
            .map(|t| self.0.to_offset(t).seconds())
            .unwrap_or(0);
        let offset = FixedOffset::east_opt(offset).unwrap_or(FixedOffset::east_opt(0).unwrap());
        at.with_timezone(&offset)
    }

    /// The instant a local time names: the first of a local time a DST change repeats, none
    /// for one it skips.
    pub fn instant(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        use chrono::{Datelike, Timelike};
        use jiff::tz::AmbiguousOffset;
        let civil = jiff::civil::DateTime::new(
            i16::try_from(local.year()).ok()?,
            i8::try_from(local.month()).ok()?,
            i8::try_from(local.day()).ok()?,
            i8::try_from(local.hour()).ok()?,
            i8::try_from(local.minute()).ok()?,
            i8::try_from(local.second()).ok()?,
            0,
        )
        .ok()?;
        let offset = match self.0.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset,
            // The earlier of the two instants is the one before the change.
            AmbiguousOffset::Fold { before, .. } => before,
            AmbiguousOffset::Gap { .. } => return None,
        };
        let utc = local - chrono::Duration::seconds(i64::from(offset.seconds()));
        Some(DateTime::from_naive_utc_and_offset(utc, Utc))
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self("UTC".into())
    }
}

/// A BCP 47 language tag (`pt-BR`), canonicalised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct Locale(String);

impl Locale {
    /// Parses and canonicalises a language tag.
    pub fn parse(raw: &str, field: &str) -> Result<Self, Error> {
        raw.parse::<unic_langid::LanguageIdentifier>()
            .ok()
            .filter(|id| id.language.as_str() != "und")
            .map(|id| Self(id.to_string()))
            .ok_or_else(|| Error::field(field, "not a BCP 47 language tag, e.g. pt-BR"))
    }

    /// The canonical tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Locale {
    fn default() -> Self {
        Self("en".into())
    }
}

/// A user's profile, as stored and as returned by `GET /me`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Id (ULID).
    pub id: UserId,
    /// Sign-in address, lower case.
    #[schema(value_type = String)]
    pub email: Email,
    /// Name shown to the other side of the marketplace.
    pub display_name: Option<String>,
    /// Roles, sorted.
    pub roles: BTreeSet<Role>,
    /// Phone for SMS, E.164.
    #[schema(value_type = Option<String>)]
    pub phone: Option<Phone>,
    /// IANA time zone.
    #[schema(value_type = String)]
    pub time_zone: TimeZone,
    /// BCP 47 language tag.
    #[schema(value_type = String)]
    pub locale: Locale,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the profile last changed.
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// A new account, created by its first successful sign-in. Everyone starts as a customer
    /// and may add the provider role themselves.
    pub fn new(email: Email, now: DateTime<Utc>) -> Self {
        Self {
            id: UserId::new(),
            email,
            display_name: None,
            roles: BTreeSet::from([Role::Customer]),
            phone: None,
            time_zone: TimeZone::default(),
            locale: Locale::default(),
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether the user holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest display name accepted, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 80;

/// The body of `PATCH /me`: every field optional; `null` clears the phone.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProfilePatch {
    /// 1–80 printable characters, trimmed.
    #[schema(
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$",
        max_length = 80
    )]
    pub display_name: Option<String>,
    /// The full new set of roles; `admin` only when the caller is an admin (403 otherwise).
    #[schema(min_items = 1)]
    pub roles: Option<Vec<Role>>,
    /// Phone number in E.164 form that is valid in its country's numbering plan, or `null` to
    /// remove it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = "e164", pattern = "^\\+[1-9][0-9 ().-]{5,22}$", example = "+14155550123")]
    pub phone: Option<Option<String>>,
    /// IANA time zone name.
    #[schema(format = "iana-time-zone", example = "Europe/Lisbon")]
    pub time_zone: Option<String>,
    /// BCP 47 language tag.
    #[schema(
        format = "bcp47",
        pattern = "^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$",
        example = "pt-BR"
    )]
    pub locale: Option<String>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A validated profile change; only the fields that change are `Some`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileChanges {
    /// New display name.
    pub display_name: Option<String>,
    /// New role set.
    pub roles: Option<BTreeSet<Role>>,
    /// New phone; `Some(None)` removes it.
    pub phone: Option<Option<Phone>>,
    /// New time zone.
    pub time_zone: Option<TimeZone>,
    /// New locale.
    pub locale: Option<Locale>,
}

impl ProfileChanges {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl ProfilePatch {
    /// Checks every field. `current` is the caller as stored now: only an admin may grant
    /// admin, and nobody may drop to zero roles.
    pub fn validate(self, current: &User) -> Result<ProfileChanges, Error> {
        let display_name = self
            .display_name
            .map(|name| {
                let name = name.trim().to_owned();
                let len = name.chars().count();
                if len == 0 || len > MAX_DISPLAY_NAME_CHARS || name.chars().any(char::is_control) {
                    Err(Error::field(
                        "displayName",
                        "must be 1 to 80 printable characters",
                    ))
                } else {
                    Ok(name)
                }
            })
            .transpose()?;
        let roles = self
            .roles
            .map(|roles| {
                let roles: BTreeSet<Role> = roles.into_iter().collect();
                if roles.is_empty() {
                    return Err(Error::field("roles", "at least one role is required"));
                }
                if roles.contains(&Role::Admin) && !current.has_role(Role::Admin) {
                    return Err(Error::Forbidden(
                        "only an admin may grant the admin role".into(),
                    ));
                }
                Ok(roles)
            })
            .transpose()?;
        let phone = self
            .phone
            .map(|phone| phone.map(|raw| Phone::parse(&raw, "phone")).transpose())
            .transpose()?;
        let time_zone = self
            .time_zone
            .map(|raw| TimeZone::parse(&raw, "timeZone"))
            .transpose()?;
        let locale = self
            .locale
            .map(|raw| Locale::parse(&raw, "locale"))
            .transpose()?;
        Ok(ProfileChanges {
            display_name,
            roles,
            phone,
            time_zone,
            locale,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_resolves_local_times_across_dst_changes() {
        let berlin = TimeZone::parse("europe/berlin", "tz").unwrap();
        assert_eq!(berlin.as_str(), "Europe/Berlin");
        assert!(TimeZone::parse("Mars/Base", "tz").is_err());
        let rules = berlin.rules();
        let local = |s: &str| s.parse::<NaiveDateTime>().unwrap();
        let instant = |s: &str| rules.instant(local(s)).map(|t| t.to_rfc3339());
        // Spring 2027: 02:00–03:00 does not happen on 28 March.
        assert_eq!(instant("2027-03-28T02:30:00"), None);
        assert_eq!(
            instant("2027-03-28T03:00:00").as_deref(),
            Some("2027-03-28T01:00:00+00:00")
        );
        // Autumn 2027: 02:00–03:00 happens twice on 31 October; the first (summer time).
        assert_eq!(
            instant("2027-10-31T02:30:00").as_deref(),
            Some("2027-10-31T00:30:00+00:00")
        );
        let second = "2027-10-31T01:30:00Z".parse().unwrap();
        assert_eq!(
            rules.local(second).to_rfc3339(),
            "2027-10-31T02:30:00+01:00"
        );
    }

    fn user() -> User {
        User::new(
            Email::parse("ana@example.com", "email").unwrap(),
            Utc::now(),
        )
    }

    fn patch(json: &str) -> ProfilePatch {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn phone_numbers_are_normalised_to_e164() {
        assert_eq!(
            Phone::parse("+1 415-555-0123", "phone").unwrap().as_str(),
            "+14155550123"
        );
        assert_eq!(
            Phone::parse("+351 912 345 678", "phone").unwrap().as_str(),
            "+351912345678"
        );
    }

    #[test]
    fn national_or_impossible_numbers_are_refused() {
        let shapes = [
            "+14155550123*",
            " +14155550123",
            "+1 415 555 0123 ext 4",
            "+0123456789",
        ];
        for bad in ["4155550123", "+1 555", "+999 123456", "call me"]
            .into_iter()
            .chain(shapes)
        {
            assert!(Phone::parse(bad, "phone").is_err(), "{bad}");
        }
    }

    #[test]
    fn time_zones_and_locales_are_checked() {
        assert_eq!(
            TimeZone::parse("Europe/Lisbon", "tz").unwrap().as_str(),
            "Europe/Lisbon"
        );
        assert!(TimeZone::parse("Mars/Olympus", "tz").is_err());
        assert_eq!(Locale::parse("pt-br", "locale").unwrap().as_str(), "pt-BR");
        assert!(Locale::parse("not a tag", "locale").is_err());
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(serde_json::from_str::<ProfilePatch>(r#"{"nickname":"x"}"#).is_err());
    }

    #[test]
    fn an_explicit_null_phone_clears_it_and_an_absent_one_keeps_it() {
        let cleared = patch(r#"{"phone":null}"#).validate(&user()).unwrap();
        assert_eq!(cleared.phone, Some(None));
        let kept = patch(r#"{"displayName":"Ana"}"#).validate(&user()).unwrap();
        assert_eq!(kept.phone, None);
    }

    #[test]
    fn admin_emails_are_a_comma_list_of_addresses_and_a_typo_is_an_error() {
        let admins = AdminEmails::parse(" Ops@Example.com, ,second@example.org ").unwrap();
        assert!(admins.contains(&Email::parse("ops@example.com", "e").unwrap()));
        assert!(admins.contains(&Email::parse("second@example.org", "e").unwrap()));
        assert!(!admins.contains(&Email::parse("third@example.org", "e").unwrap()));
        assert_eq!(AdminEmails::parse("").unwrap(), AdminEmails::default());
        assert!(AdminEmails::parse("ops@example.com;second@example.org").is_err());
    }

    #[test]
    fn only_an_admin_grants_admin() {
        let err = patch(r#"{"roles":["admin"]}"#)
            .validate(&user())
            .unwrap_err();
        assert_eq!(err.status(), 403);
        let mut admin = user();
        admin.roles.insert(Role::Admin);
        assert!(
            patch(r#"{"roles":["admin","provider"]}"#)
                .validate(&admin)
                .is_ok()
        );
    }

    #[test]
    fn empty_roles_and_blank_names_are_validation_errors() {
        let err = patch(r#"{"roles":[]}"#).validate(&user()).unwrap_err();
        assert!(matches!(err, Error::Validation { field: Some(ref f), .. } if f == "roles"));
        let err = patch(r#"{"displayName":"   "}"#)
            .validate(&user())
            .unwrap_err();
        assert!(matches!(err, Error::Validation { field: Some(ref f), .. } if f == "displayName"));
    }
}
