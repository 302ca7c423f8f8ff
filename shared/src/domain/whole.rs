//! Whole numbers in request bodies. JSON Schema's `integer` is any number with a zero
//! fraction, so `138.0` is the integer 138: a client (or a JSON library that writes every
//! number as a float) may send it so, and it must not be refused as a type error.

use serde::de::{Deserialize, Deserializer, Error};

/// A `u32` written as `138` or `138.0`; a fraction or a negative number is refused.
pub fn u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    whole(f64::deserialize(deserializer)?)
}

/// [`u32()`] of an optional field (with `#[serde(default)]`): absent or `null` is `None`.
pub fn option_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    Option::<f64>::deserialize(deserializer)?
        .map(whole)
        .transpose()
}

fn whole<E: Error>(number: f64) -> Result<u32, E> {
    if number.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&number) {
        // Whole and in range: the cast is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(number as u32)
    } else {
        Err(E::custom(format!(
            "expected a whole number from 0 to {}, got {number}",
            u32::MAX
        )))
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct Minutes {
        #[serde(deserialize_with = "super::u32")]
        m: u32,
    }

    #[derive(serde::Deserialize)]
    struct MaybeMinutes {
        #[serde(default, deserialize_with = "super::option_u32")]
        m: Option<u32>,
    }

    fn read(text: &str) -> Result<u32, serde_json::Error> {
        serde_json::from_str::<Minutes>(text).map(|v| v.m)
    }

    #[test]
    fn an_optional_integer_is_absent_null_or_whole() {
        let read = |text| serde_json::from_str::<MaybeMinutes>(text).map(|v| v.m);
        assert_eq!(read("{}").unwrap(), None);
        assert_eq!(read(r#"{"m": null}"#).unwrap(), None);
        assert_eq!(read(r#"{"m": 90.0}"#).unwrap(), Some(90));
        assert!(read(r#"{"m": 2.5}"#).is_err());
    }

    #[test]
    fn an_integer_is_read_with_or_without_a_zero_fraction_and_nothing_else() {
        assert_eq!(read(r#"{"m": 138}"#).unwrap(), 138);
        assert_eq!(read(r#"{"m": 138.0}"#).unwrap(), 138);
        for bad in [
            r#"{"m": 1.5}"#,
            r#"{"m": -1}"#,
            r#"{"m": "20"}"#,
            r#"{"m": 1e12}"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
