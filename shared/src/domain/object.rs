//! Nested JSON objects, read as objects only. serde's derived `Deserialize` for a struct also
//! accepts a JSON array and maps it onto the fields by position, so `"quietHours": ["22:00",
//! "07:00"]` would pass as `{"start", "end"}` although the documented schema allows only an
//! object. The body glue refuses a non-object at the top level; the nested fields of request
//! bodies use these helpers (`#[serde(deserialize_with = …)]`), so an array anywhere is a
//! 400 naming its field.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A `T` that was a JSON object on the wire.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Only<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Only<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Only(PhantomData)).map(Object)
    }
}

/// A required nested object.
pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Object::deserialize(d).map(|o| o.0)
}

/// An optional nested object (`null` or absent is `None`).
pub fn optional_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Option::<Object<T>>::deserialize(d).map(|o| o.map(|o| o.0))
}

/// A nested object a patch may set or clear: absent is `None` (with `#[serde(default)]`),
/// `null` is `Some(None)`.
pub fn patched_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    optional_object(d).map(Some)
}

/// An optional map whose values are objects.
pub fn optional_object_values<'de, D, K, T>(d: D) -> Result<Option<BTreeMap<K, T>>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord,
    T: Deserialize<'de>,
{
    let map = Option::<BTreeMap<K, Object<T>>>::deserialize(d)?;
    Ok(map.map(|m| m.into_iter().map(|(k, v)| (k, v.0)).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        a: u8,
        b: u8,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        #[serde(default, deserialize_with = "optional_object")]
        one: Option<Inner>,
        #[serde(default, deserialize_with = "patched_object")]
        clear: Option<Option<Inner>>,
        #[serde(default, deserialize_with = "optional_object_values")]
        many: Option<BTreeMap<String, Inner>>,
    }

    fn parse(json: &str) -> Result<Outer, String> {
        let mut de = serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(&mut de).map_err(|e| format!("{} {}", e.path(), e.inner()))
    }

    #[test]
    fn objects_pass_and_arrays_are_refused_naming_the_field() {
        let ok = parse(r#"{"one":{"a":1,"b":2},"clear":null,"many":{"x":{"a":3,"b":4}}}"#);
        assert_eq!(
            ok.unwrap(),
            Outer {
                one: Some(Inner { a: 1, b: 2 }),
                clear: Some(None),
                many: Some(BTreeMap::from([("x".into(), Inner { a: 3, b: 4 })])),
            }
        );
        assert_eq!(
            parse("{}").unwrap(),
            Outer {
                one: None,
                clear: None,
                many: None
            }
        );
        for (json, field) in [
            (r#"{"one":[1,2]}"#, "one"),
            (r#"{"clear":[1,2]}"#, "clear"),
            (r#"{"many":{"x":[3,4]}}"#, "many.x"),
        ] {
            let err = parse(json).unwrap_err();
            assert!(
                err.starts_with(field) && err.contains("expected a JSON object"),
                "{json}: {err}"
            );
        }
        // Still the struct's own rules inside.
        assert!(
            parse(r#"{"one":{"a":1}}"#)
                .unwrap_err()
                .contains("missing field")
        );
    }
}
