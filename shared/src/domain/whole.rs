//! Whole numbers in request bodies. JSON Schema's `integer` is any number with a zero
//! fraction, so `138.0` is the integer 138: a client (or a JSON library that writes every
//! number as a float) may send it so, and it must not be refused as a type error.

use serde::de::{Deserialize, Deserializer, Error};

/// A `u32` written as `138` or `138.0`; a fraction or a negative number is refused.
pub fn u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let number = f64::deserialize(deserializer)?;
    if number.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&number) {
        // Whole and in range: the cast is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(number as u32)
    } else {
        Err(D::Error::custom(format!(
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

    fn read(text: &str) -> Result<u32, serde_json::Error> {
        serde_json::from_str::<Minutes>(text).map(|v| v.m)
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
