//! DynamoDB stream invocations. The records' new images a consumer's [`Stream`] names (one
//! entity type, inserted or also changed, optionally with one attribute's value) are handed
//! to the handler as typed values; everything else on the stream (the template also filters
//! it at the source) is skipped. A failure fails the batch, which Lambda retries, so handlers
//! must be idempotent.

use std::future::Future;

use lambda_runtime::{LambdaEvent, service_fn};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tracing::{error, info};

use super::BoxError;
use super::schedule::EventFailure;
use crate::error::{Error, Result};
use crate::routes::Stream;

/// A batch of stream records (the fields we read).
#[derive(Debug, Default, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    records: Vec<StreamRecord>,
}

#[derive(Debug, Default, Deserialize)]
struct StreamRecord {
    #[serde(rename = "eventName", default)]
    event_name: String,
    #[serde(default)]
    dynamodb: Change,
}

#[derive(Debug, Default, Deserialize)]
struct Change {
    #[serde(rename = "NewImage", default)]
    new_image: Option<serde_dynamo::Item>,
}

/// The items of type `entity` the batch inserted.
pub fn inserted<T: DeserializeOwned>(event: StreamEvent, entity: &'static str) -> Result<Vec<T>> {
    written(event, &Stream::inserted(entity))
}

/// The new images of the batch's records that `stream` names, in order.
pub fn written<T: DeserializeOwned>(event: StreamEvent, stream: &Stream) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for record in event.records {
        let Some(image) = record.dynamodb.new_image else {
            continue;
        };
        if !stream.events().contains(&record.event_name.as_str()) {
            continue;
        }
        let value: serde_json::Value = serde_dynamo::from_item(image).map_err(Error::unexpected)?;
        let holds = |attribute: &str, wanted: &str| {
            value.get(attribute).and_then(|v| v.as_str()) == Some(wanted)
        };
        if holds(crate::keys::ENTITY_TYPE, stream.entity)
            && stream
                .only
                .is_none_or(|(attribute, wanted)| holds(attribute, wanted))
        {
            out.push(serde_json::from_value(value).map_err(Error::unexpected)?);
        }
    }
    Ok(out)
}

/// Serves a stream-triggered function for the items `stream` names until the runtime stops.
pub async fn run<T, F, Fut>(stream: Stream, handler: F) -> Result<(), BoxError>
where
    T: DeserializeOwned,
    F: Fn(Vec<T>) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<StreamEvent>| async move {
            let entity = stream.entity;
            let items = written::<T>(event.payload, &stream).map_err(EventFailure)?;
            if items.is_empty() {
                return Ok(());
            }
            let count = items.len();
            match handler(items).await {
                Ok(()) => {
                    info!(count, entity, "stream batch handled");
                    Ok(())
                }
                Err(err) => {
                    error!(error = ?err, entity, "stream batch failed");
                    Err(EventFailure(err))
                }
            }
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Thing {
        name: String,
        size: u32,
    }

    #[test]
    fn only_inserted_items_of_the_entity_are_handed_over() {
        let path = format!(
            "{}/../events/notify-missed-messages/stream.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let fixture: StreamEvent =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let missed: Vec<serde_json::Value> = inserted(fixture, "missed_messages").unwrap();
        assert_eq!(
            missed.len(),
            1,
            "the MODIFY and the other entity are skipped"
        );
        assert_eq!(
            missed[0]["messages"][0]["preview"],
            "Are you free on Tuesday?"
        );

        let event: StreamEvent = serde_json::from_value(serde_json::json!({ "Records": [
            { "eventName": "INSERT", "dynamodb": { "NewImage": {
                "entity_type": { "S": "thing" }, "name": { "S": "tap" }, "size": { "N": "3" } } } },
            { "eventName": "REMOVE", "dynamodb": {} }
        ]}))
        .unwrap();
        let things: Vec<Thing> = inserted(event, "thing").unwrap();
        assert_eq!(
            things,
            vec![Thing {
                name: "tap".into(),
                size: 3
            }]
        );
    }

    #[test]
    fn a_consumer_of_changes_gets_inserts_and_modifies_with_the_wanted_value_only() {
        let record = |event: &str, name: &str, size: u32| {
            serde_json::json!({ "eventName": event, "dynamodb": { "NewImage": {
                "entity_type": { "S": "thing" }, "name": { "S": name }, "size": { "N": size.to_string() } } } })
        };
        let batch = || -> StreamEvent {
            serde_json::from_value(serde_json::json!({ "Records": [
                record("INSERT", "tap", 1),
                record("MODIFY", "tap", 2),
                record("MODIFY", "pipe", 3),
                record("REMOVE", "tap", 4),
            ]}))
            .unwrap()
        };
        let sizes = |stream: Stream| -> Vec<u32> {
            written::<Thing>(batch(), &stream)
                .unwrap()
                .into_iter()
                .map(|t| t.size)
                .collect()
        };
        assert_eq!(sizes(Stream::inserted("thing")), [1]);
        assert_eq!(sizes(Stream::written("thing")), [1, 2, 3]);
        assert_eq!(sizes(Stream::written("thing").only("name", "tap")), [1, 2]);
        assert!(sizes(Stream::written("other")).is_empty());
    }
}
