//! Chat on the single table. A room's partition holds the room, its members and its messages;
//! members are also on `GSI1` under their user, messages under their room by sequence.
//! Sending is one transaction: the idempotency claim, the message, the room's preview and next
//! sequence number (conditioned on the number read before, so commit order is sequence order),
//! the sender's read marker, the attachments' and the reply's checks — so a message is never
//! half-sent, numbers have no gaps, and the cost does not grow with the room. Unread counts
//! are the room's counter minus the member's marker, worked out when read. The transaction's
//! cancellation reasons, read by position, say which rule failed.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, KeysAndAttributes, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use tracing::instrument;

use super::store::*;
use crate::chat::model::{
    Emoji, MAX_MEMBERS, Member, Message, Room, group_reactions, reaction_key,
};
use crate::cursor::Position;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::keys::{self, Key};
use crate::store::dynamo::*;
use crate::store::*;

const ENTITY_ROOM: &str = "room";
const ENTITY_ROOM_CLAIM: &str = "room_claim";
const ENTITY_MEMBER: &str = "member";
/// Entity type of chat messages: the first-response measure's stream filter.
pub const ENTITY_MESSAGE: &str = "message";
const ENTITY_CLIENT_MESSAGE: &str = "client_message";
const ENTITY_PIN: &str = "pin";
const ENTITY_PRESENCE: &str = "presence";

/// A message as stored: reactions are a map `{userId}{emoji}` → time, so one user's reaction
/// is added or removed by one `SET`/`REMOVE` on its own key, without reading the message.
#[derive(serde::Deserialize)]
struct MessageRow {
    #[serde(flatten)]
    message: Message,
    #[serde(default)]
    reactions: HashMap<String, DateTime<Utc>>,
}

fn message_from(item: Item) -> Result<Message> {
    let row: MessageRow = from_item(item)?;
    let mut message = row.message;
    message.reactions = group_reactions(&row.reactions);
    Ok(message)
}

fn claim_key(claim: &RoomClaim) -> Key {
    match claim {
        RoomClaim::Direct(a, b) => crate::chat::keys::direct_room(a, b),
        RoomClaim::Subject(subject) => crate::chat::keys::subject_room(subject),
    }
}

fn member_item(member: &Member, activity_ms: i64) -> Result<Item> {
    let mut item = to_item(
        &crate::chat::keys::member(&member.room_id, &member.user_id),
        ENTITY_MEMBER,
        Some(&crate::chat::keys::member_by_user(
            &member.user_id,
            activity_ms,
            &member.room_id,
        )),
        member,
    )?;
    // Worked out from the room's counters whenever read; a stored copy would only go stale.
    item.remove("unread");
    Ok(item)
}

impl DynamoStore {
    /// The writes that create a room: its claim (if any) and the room, both only if absent,
    /// and its members. Bookings add them to the transaction of the transition that opens
    /// the room.
    pub(crate) fn room_actions(
        &self,
        room: &Room,
        members: &[Member],
        claim: Option<&RoomClaim>,
    ) -> Result<Vec<TransactWriteItem>> {
        let activity = room.last_activity_at.timestamp_millis();
        let mut actions = Vec::new();
        if let Some(claim) = claim {
            let item = to_item(
                &claim_key(claim),
                ENTITY_ROOM_CLAIM,
                None,
                &serde_json::json!({ "roomId": room.id }),
            )?;
            actions.push(self.put_action(item, Some("attribute_not_exists(PK)"))?);
        }
        let item = to_item(&crate::chat::keys::room(&room.id), ENTITY_ROOM, None, room)?;
        actions.push(self.put_action(item, Some("attribute_not_exists(PK)"))?);
        for member in members {
            actions.push(self.put_action(member_item(member, activity)?, None)?);
        }
        Ok(actions)
    }
    /// Reads items by key in batches of 100, retrying unprocessed keys.
    pub(super) async fn batch_get(&self, wanted: Vec<Key>) -> Result<Vec<Item>> {
        let mut found = Vec::new();
        for chunk in wanted.chunks(100) {
            let mut request = KeysAndAttributes::builder()
                .set_keys(Some(chunk.iter().map(key_item).collect()))
                .build()
                .map_err(Error::unexpected)?;
            loop {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(Error::unexpected)?;
                if let Some(mut responses) = out.responses {
                    found.extend(responses.remove(&self.table).unwrap_or_default());
                }
                match out
                    .unprocessed_keys
                    .and_then(|mut rest| rest.remove(&self.table))
                {
                    Some(rest) if !rest.keys.is_empty() => request = rest,
                    _ => break,
                }
            }
        }
        Ok(found)
    }

    pub(crate) fn update(&self, key: &Key) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
    }

    /// Queries a room's partition for one sort-key prefix, all pages, strongly consistent.
    async fn room_items(&self, room: &RoomId, prefix: &str) -> Result<Vec<Item>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(crate::chat::keys::room_partition(room)))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true);
        self.query_all(query).await
    }

    /// Runs an update that returns the new item, `None` when its condition failed.
    pub(super) async fn update_returning(
        &self,
        builder: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> Result<Option<Item>> {
        match builder.return_values(ReturnValue::AllNew).send().await {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(err) if condition_failed(&err) => Ok(None),
            Err(err) => Err(Error::unexpected(err)),
        }
    }

    /// Applies an edit or delete and, when the message is its room's latest, the room's
    /// preview too — a deleted text must not live on in room lists.
    async fn changed_message(
        &self,
        builder: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> Result<Option<Message>> {
        let Some(item) = self.update_returning(builder).await? else {
            return Ok(None);
        };
        let message = message_from(item)?;
        let preview =
            serde_dynamo::to_attribute_value(message.preview()).map_err(Error::unexpected)?;
        let refreshed = self
            .update_item(&crate::chat::keys::room(&message.room_id))
            .update_expression("SET lastMessage = :preview")
            .condition_expression("lastMessage.id = :id")
            .expression_attribute_values(":preview", preview)
            .expression_attribute_values(":id", s(message.id.to_string()))
            .send()
            .await;
        // A failed condition means a newer message is the preview: nothing to refresh.
        conditional(refreshed).await?;
        Ok(Some(message))
    }

    /// Messages after sequence `after`, in sequence order, from `GSI1`. The index is
    /// eventually consistent, so a number may be missing for a moment: the page stops before
    /// the first gap and says there is more, so a reader never skips a message.
    async fn messages_after(
        &self,
        room: &RoomId,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<Message>, bool)> {
        let first = after.saturating_add(1);
        let found = self.by_seq(room, first, u64::MAX, true, limit).await?;
        Ok(contiguous(found, first.., limit))
    }

    /// A page of history newest first by sequence number: before `before`, or from the
    /// newest. Like resuming, a page never skips a number: it stops before a number the index
    /// has not caught up with (and says there is more), so paging on finds it.
    async fn messages_before(
        &self,
        room: &RoomId,
        before: Option<u64>,
        limit: u32,
    ) -> Result<(Vec<Message>, bool)> {
        let high = match before {
            Some(0 | 1) => return Ok((Vec::new(), false)),
            Some(before) => before - 1,
            None => u64::MAX,
        };
        let found = self.by_seq(room, 1, high, false, limit).await?;
        // From right below the anchor (or the newest the index has), one number at a time.
        let Some(newest) = found.first().map(|m| m.seq) else {
            return Ok((Vec::new(), before.is_some()));
        };
        let start = if before.is_some() { high } else { newest };
        let (messages, more) = contiguous(found, (1..=start).rev(), limit);
        // Number 1 is the first message: nothing is older.
        let more = more && messages_end_above_one(&messages);
        Ok((messages, more))
    }

    /// Up to `limit + 1` messages numbered `low..=high` from `GSI1`, ascending or not.
    async fn by_seq(
        &self,
        room: &RoomId,
        low: u64,
        high: u64,
        ascending: bool,
        limit: u32,
    ) -> Result<Vec<Message>> {
        let (low, high) = (
            crate::chat::keys::message_by_seq(room, low),
            crate::chat::keys::message_by_seq(room, high),
        );
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_names("#sk", keys::GSI1SK)
            .expression_attribute_values(":pk", s(low.pk))
            .expression_attribute_values(":low", s(low.sk))
            .expression_attribute_values(":high", s(high.sk))
            .scan_index_forward(ascending)
            .limit(limit as i32 + 1)
            .send()
            .await
            .map_err(Error::unexpected)?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(message_from)
            .collect()
    }

    pub(crate) fn update_item(
        &self,
        key: &Key,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
    }
}

/// The condition that the room's sequence is still `value`, bound to `placeholder`. Rooms from
/// before sequences have no `seq` attribute: that reads as 0.
fn sequence_is(value: u64, placeholder: &str) -> String {
    if value == 0 {
        format!("(attribute_not_exists(seq) OR seq = {placeholder})")
    } else {
        format!("seq = {placeholder}")
    }
}

/// The longest run of `found` (at most `limit`) numbered as `expected` says, and whether
/// there is more: beyond the limit, or a number the index has not caught up with yet.
fn contiguous(
    found: Vec<Message>,
    expected: impl Iterator<Item = u64>,
    limit: u32,
) -> (Vec<Message>, bool) {
    let mut more = found.len() > limit as usize;
    let mut messages = Vec::with_capacity(found.len().min(limit as usize));
    for (expected, message) in expected.zip(found) {
        if messages.len() == limit as usize {
            break;
        }
        if message.seq != expected {
            more = true;
            break;
        }
        messages.push(message);
    }
    (messages, more)
}

/// Whether a newest-first page stops above message 1 (so older ones exist).
fn messages_end_above_one(messages: &[Message]) -> bool {
    messages.last().is_none_or(|m| m.seq > 1)
}

/// A member who has not left.
const ACTIVE_MEMBER: &str = "attribute_exists(PK) AND attribute_not_exists(leftAt)";

#[async_trait]
impl ChatStore for DynamoStore {
    #[instrument(skip_all, fields(room_id = %room.id))]
    async fn create_room(
        &self,
        room: &Room,
        members: &[Member],
        claim: Option<&RoomClaim>,
    ) -> Result<bool> {
        // Only the claim's condition can fail: another request created the room first.
        self.transact_conditional(self.room_actions(room, members, claim)?)
            .await
    }

    async fn claimed_room(&self, claim: &RoomClaim) -> Result<Option<RoomId>> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Claim {
            room_id: RoomId,
        }
        Ok(self
            .get::<Claim>(&claim_key(claim))
            .await?
            .map(|c| c.room_id))
    }

    async fn get_room(&self, id: &RoomId) -> Result<Option<Room>> {
        self.get(&crate::chat::keys::room(id)).await
    }

    async fn rooms(&self, ids: &[RoomId]) -> Result<Vec<Room>> {
        let items = self
            .batch_get(ids.iter().map(crate::chat::keys::room).collect())
            .await?;
        items.into_iter().map(from_item).collect()
    }

    #[instrument(skip_all, fields(room_id = %id))]
    async fn update_room(
        &self,
        id: &RoomId,
        name: Option<&str>,
        avatar: Option<Option<FileId>>,
    ) -> Result<Room> {
        let mut set = vec!["#id = #id".to_owned()];
        let mut remove = Vec::new();
        let mut builder = self
            .update_item(&crate::chat::keys::room(id))
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#id", "id");
        if let Some(name) = name {
            set.push("#name = :name".into());
            builder = builder
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", s(name));
        }
        match avatar {
            Some(Some(file)) => {
                set.push("avatarFileId = :avatar".into());
                builder = builder.expression_attribute_values(":avatar", s(file.to_string()));
            }
            Some(None) => remove.push("avatarFileId"),
            None => {}
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        match self
            .update_returning(builder.update_expression(expression))
            .await?
        {
            Some(item) => from_item(item),
            None => Err(Error::NotFound("room")),
        }
    }

    async fn get_member(&self, room: &RoomId, user: &UserId) -> Result<Option<Member>> {
        self.get(&crate::chat::keys::member(room, user)).await
    }

    async fn members(&self, room: &RoomId) -> Result<Vec<Member>> {
        self.room_items(room, crate::chat::keys::MEMBER_PREFIX)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    async fn memberships(
        &self,
        user: &UserId,
        limit: Option<u32>,
        after: Option<Position>,
    ) -> Result<Page<Member>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_names("#sk", keys::GSI1SK)
            .expression_attribute_values(":pk", s(keys::user_partition(user)))
            .expression_attribute_values(":prefix", s(crate::chat::keys::ROOM_ACTIVITY_PREFIX))
            .scan_index_forward(false)
            .set_limit(limit.map(|l| l as i32))
            .set_exclusive_start_key(after.map(position_to_item))
            .send()
            .await
            .map_err(Error::unexpected)?;
        let next = out.last_evaluated_key.map(item_to_position).transpose()?;
        Ok(Page {
            items: out
                .items
                .unwrap_or_default()
                .into_iter()
                .map(from_item)
                .collect::<Result<_>>()?,
            next,
        })
    }

    async fn memberships_of(&self, user: &UserId, rooms: &[RoomId]) -> Result<Vec<Member>> {
        let wanted = rooms
            .iter()
            .map(|room| crate::chat::keys::member(room, user))
            .collect();
        self.batch_get(wanted)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    #[instrument(skip_all, fields(room_id = %room, added = members.len()))]
    async fn add_members(
        &self,
        room: &RoomId,
        members: &[Member],
        activity_ms: i64,
    ) -> Result<bool> {
        // The count and the members change together: concurrent adds cannot overfill a room.
        // And no message may have committed since the newcomers' read markers were set to
        // the room's newest: they must not count one sent before they joined.
        let limit = MAX_MEMBERS.saturating_sub(members.len()) as u32;
        let seq = members.first().map_or(0, |m| m.read_seq);
        let sequence_free = sequence_is(seq, ":seq");
        let count = self
            .update(&crate::chat::keys::room(room))
            .update_expression("ADD memberCount :n")
            .condition_expression(format!(
                "attribute_exists(PK) AND memberCount <= :limit AND {sequence_free}"
            ))
            .expression_attribute_values(":n", n(members.len()))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":seq", n(seq))
            .build()
            .map_err(Error::unexpected)?;
        let mut actions = vec![TransactWriteItem::builder().update(count).build()];
        for member in members {
            actions.push(self.put_action(member_item(member, activity_ms)?, None)?);
        }
        self.transact_conditional(actions).await
    }

    #[instrument(skip_all, fields(room_id = %room, user_id = %user))]
    async fn leave_room(
        &self,
        room: &RoomId,
        user: &UserId,
        now: DateTime<Utc>,
        new_owner: Option<&UserId>,
    ) -> Result<bool> {
        let leave = self
            .update(&crate::chat::keys::member(room, user))
            .update_expression(
                "SET leftAt = :now, #role = :member, pinned = :false REMOVE #gpk, #gsk",
            )
            .condition_expression(ACTIVE_MEMBER)
            .expression_attribute_names("#role", "role")
            .expression_attribute_names("#gpk", keys::GSI1PK)
            .expression_attribute_names("#gsk", keys::GSI1SK)
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .expression_attribute_values(":member", s("member"))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .build()
            .map_err(Error::unexpected)?;
        let unpin = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&crate::chat::keys::pin(user, room))))
            .build()
            .map_err(Error::unexpected)?;
        let count = self
            .update(&crate::chat::keys::room(room))
            .update_expression("ADD memberCount :minus")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":minus", n(-1))
            .build()
            .map_err(Error::unexpected)?;
        let mut actions = vec![
            TransactWriteItem::builder().update(leave).build(),
            TransactWriteItem::builder().delete(unpin).build(),
            TransactWriteItem::builder().update(count).build(),
        ];
        if let Some(owner) = new_owner {
            let promote = self
                .update(&crate::chat::keys::member(room, owner))
                .update_expression("SET #role = :owner")
                .condition_expression(ACTIVE_MEMBER)
                .expression_attribute_names("#role", "role")
                .expression_attribute_values(":owner", s("owner"))
                .build()
                .map_err(Error::unexpected)?;
            actions.push(TransactWriteItem::builder().update(promote).build());
        }
        self.transact_conditional(actions).await
    }

    #[instrument(skip_all, fields(room_id = %room, user_id = %user))]
    async fn set_membership(
        &self,
        room: &RoomId,
        user: &UserId,
        muted: Option<bool>,
        pinned: Option<bool>,
    ) -> Result<Option<Member>> {
        let mut set = Vec::new();
        let mut builder = self
            .update_item(&crate::chat::keys::member(room, user))
            .condition_expression(ACTIVE_MEMBER);
        if let Some(muted) = muted {
            set.push("muted = :muted");
            builder = builder.expression_attribute_values(":muted", AttributeValue::Bool(muted));
        }
        if let Some(pinned) = pinned {
            set.push("pinned = :pinned");
            builder = builder.expression_attribute_values(":pinned", AttributeValue::Bool(pinned));
        }
        if set.is_empty() {
            return self.get_member(room, user).await;
        }
        let Some(item) = self
            .update_returning(builder.update_expression(format!("SET {}", set.join(", "))))
            .await?
        else {
            return Ok(None);
        };
        // The pin marker follows the member's flag; both are idempotent, so a retry after a
        // failure between the two writes converges.
        match pinned {
            Some(true) => {
                let marker = to_item(
                    &crate::chat::keys::pin(user, room),
                    ENTITY_PIN,
                    None,
                    &serde_json::json!({ "roomId": room }),
                )?;
                self.put(marker).await?;
            }
            Some(false) => self.delete(&crate::chat::keys::pin(user, room)).await?,
            None => {}
        }
        from_item(item).map(Some)
    }

    async fn pinned_rooms(&self, user: &UserId) -> Result<Vec<RoomId>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(keys::user_partition(user)))
            .expression_attribute_values(":prefix", s(crate::chat::keys::PIN_PREFIX))
            .consistent_read(true)
            .send()
            .await
            .map_err(Error::unexpected)?;
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Pin {
            room_id: RoomId,
        }
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item::<Pin>(item).map(|p| p.room_id))
            .collect()
    }

    #[instrument(skip_all, fields(room_id = %append.message.room_id, message_id = %append.message.id))]
    async fn append_message(&self, append: &Append<'_>) -> Result<AppendOutcome> {
        let message = append.message;
        let room = &message.room_id;
        let at = s(message.created_at.to_rfc3339());
        let id = s(message.id.to_string());
        let mut actions = Vec::new();

        // 0: the idempotency claim.
        let client_id = message.client_message_id.as_deref().unwrap_or_default();
        let claim = to_item(
            &crate::chat::keys::client_message(room, &message.sender_id, client_id),
            ENTITY_CLIENT_MESSAGE,
            None,
            &serde_json::json!({ "messageId": message.id }),
        )?;
        actions.push(self.put_action(claim, Some("attribute_not_exists(PK)"))?);
        // 1: the message, with an empty reaction map so reactions can SET into it, listed on
        // `GSI1` by its sequence for resuming.
        let mut item = to_item(
            &crate::chat::keys::message(room, &message.id),
            ENTITY_MESSAGE,
            Some(&crate::chat::keys::message_by_seq(room, message.seq)),
            message,
        )?;
        item.insert("reactions".into(), AttributeValue::M(HashMap::new()));
        actions.push(self.put_action(item, Some("attribute_not_exists(PK)"))?);
        // 2: the room's preview, activity and sequence. The sequence is taken by this very
        // write, conditioned on the number read before: of two sends that read the same
        // number one commits and the other fails and retries with the next, so sequence
        // order is commit order and no number is ever skipped.
        let preview =
            serde_dynamo::to_attribute_value(message.preview()).map_err(Error::unexpected)?;
        let previous = message.seq.saturating_sub(1);
        let sequence_free = sequence_is(previous, ":previous");
        // The member list read before must still be the room's: someone who joined since
        // would miss the live event.
        let room_update = self
            .update(&crate::chat::keys::room(room))
            .update_expression(
                "SET lastMessage = :preview, lastActivityAt = :at, seq = :seq, counted = :counted",
            )
            .condition_expression(format!(
                "attribute_exists(PK) AND memberCount = :members AND {sequence_free}"
            ))
            .expression_attribute_values(":members", n(append.member_count))
            .expression_attribute_values(":preview", preview)
            .expression_attribute_values(":at", at.clone())
            .expression_attribute_values(":seq", n(message.seq))
            .expression_attribute_values(":counted", n(message.counted))
            .expression_attribute_values(":previous", n(previous))
            // A send that lost the number learns the room's head from its own failure, so
            // its retry costs one round trip instead of two.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(Error::unexpected)?;
        actions.push(TransactWriteItem::builder().update(room_update).build());
        // 3: sending reads up to one's own message (a system message reads nothing for its
        // actor). No other member's item is written: their unread counts are the room's
        // `counted` minus their own marker, so a send costs the same in any room size. The
        // marker needs no "only forward" condition here: this message is the room's newest,
        // so its sequence is above any marker.
        if message.counts_as_unread() {
            let update = self
                .update(&crate::chat::keys::member(room, &message.sender_id))
                .update_expression(
                    "SET lastReadMessageId = :id, lastReadAt = :at, readSeq = :seq, \
                     readCounted = :counted",
                )
                .condition_expression(ACTIVE_MEMBER)
                .expression_attribute_values(":id", id.clone())
                .expression_attribute_values(":at", at.clone())
                .expression_attribute_values(":seq", n(message.seq))
                .expression_attribute_values(":counted", n(message.counted))
                .build()
                .map_err(Error::unexpected)?;
            actions.push(TransactWriteItem::builder().update(update).build());
        }
        // Then: each attachment must be a ready file of the sender; it learns the room so
        // the room's members may download it.
        let first_file = actions.len();
        for file in append.files {
            actions.push(self.share_file_action(file, room, &message.sender_id, None)?);
        }
        // Last: the message replied to must exist in this room and not be deleted.
        let reply_at = actions.len();
        if let Some(parent) = &message.reply_to {
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key_item(&crate::chat::keys::message(room, parent))))
                .condition_expression("attribute_exists(PK) AND attribute_not_exists(deletedAt)")
                .build()
                .map_err(Error::unexpected)?;
            actions.push(TransactWriteItem::builder().condition_check(check).build());
        }

        // Once: under contention the service decides, within its deadline, when to retry.
        let Some(reasons) = self.transact_once(actions).await? else {
            return Ok(AppendOutcome::Created);
        };
        let failed =
            |i: usize| reasons.get(i).map(|r| r.code.as_str()) == Some("ConditionalCheckFailed");
        if reasons.iter().any(|r| r.code == "TransactionConflict") {
            return Ok(AppendOutcome::Contended);
        }
        if failed(0) {
            return Ok(AppendOutcome::Duplicate);
        }
        // The room alone moved on: another message took the number, or members changed
        // (the head tells the service which). The sender's marker failing means they left.
        if failed(2) && !(3..first_file).any(failed) {
            let head = reasons[2]
                .item
                .clone()
                .and_then(|item| serde_dynamo::from_item::<_, RoomHead>(item).ok());
            return Ok(AppendOutcome::Overtaken(head));
        }
        if (2..first_file).any(failed) {
            return Ok(AppendOutcome::RoomChanged);
        }
        if (first_file..reply_at).any(failed) {
            return Err(Error::field(
                "attachments",
                "every attachment must be a ready file you uploaded",
            ));
        }
        if message.reply_to.is_some() && failed(reply_at) {
            return Err(Error::field(
                "replyTo",
                "no such message in this room (or it was deleted)",
            ));
        }
        Err(Error::unexpected(anyhow::anyhow!(
            "send transaction cancelled: {reasons:?}"
        )))
    }

    async fn client_message(
        &self,
        room: &RoomId,
        sender: &UserId,
        client_id: &str,
    ) -> Result<Option<MessageId>> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Claim {
            message_id: MessageId,
        }
        Ok(self
            .get::<Claim>(&crate::chat::keys::client_message(room, sender, client_id))
            .await?
            .map(|c| c.message_id))
    }

    async fn get_message(&self, room: &RoomId, id: &MessageId) -> Result<Option<Message>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&crate::chat::keys::message(room, id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(Error::unexpected)?;
        out.item.map(message_from).transpose()
    }

    async fn messages(
        &self,
        room: &RoomId,
        anchor: HistoryAnchor,
        limit: u32,
    ) -> Result<(Vec<Message>, bool)> {
        match anchor {
            HistoryAnchor::AfterSeq(after) => self.messages_after(room, after, limit).await,
            HistoryAnchor::BeforeSeq(before) => {
                self.messages_before(room, Some(before), limit).await
            }
            HistoryAnchor::Latest => self.messages_before(room, None, limit).await,
        }
    }

    #[instrument(skip_all, fields(room_id = %room, message_id = %id))]
    async fn edit_message(
        &self,
        room: &RoomId,
        id: &MessageId,
        sender: &UserId,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Message>> {
        let builder = self
            .update_item(&crate::chat::keys::message(room, id))
            .update_expression("SET #text = :text, editedAt = :now")
            .condition_expression(
                "senderId = :sender AND attribute_not_exists(deletedAt) AND kind <> :system",
            )
            .expression_attribute_names("#text", "text")
            .expression_attribute_values(":system", s("system"))
            .expression_attribute_values(":text", s(text))
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .expression_attribute_values(":sender", s(sender.to_string()));
        self.changed_message(builder).await
    }

    #[instrument(skip_all, fields(room_id = %room, message_id = %id))]
    async fn delete_message(
        &self,
        room: &RoomId,
        id: &MessageId,
        sender: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<Message>> {
        let builder = self
            .update_item(&crate::chat::keys::message(room, id))
            .update_expression(
                "SET deletedAt = :now, reactions = :none, attachments = :empty REMOVE #text",
            )
            .condition_expression(
                "senderId = :sender AND attribute_not_exists(deletedAt) AND kind <> :system",
            )
            .expression_attribute_names("#text", "text")
            .expression_attribute_values(":system", s("system"))
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .expression_attribute_values(":none", AttributeValue::M(HashMap::new()))
            .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":sender", s(sender.to_string()));
        self.changed_message(builder).await
    }

    async fn react(
        &self,
        room: &RoomId,
        id: &MessageId,
        user: &UserId,
        emoji: &Emoji,
        add: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<Message>> {
        let live = "attribute_exists(PK) AND attribute_not_exists(deletedAt)";
        let builder = self
            .update_item(&crate::chat::keys::message(room, id))
            .expression_attribute_names("#key", reaction_key(user, emoji));
        // Only a real change writes: adding a reaction that is there, or removing one that is
        // not, fails the condition, and the service tells that no-op from an error.
        let builder = if add {
            builder
                .update_expression("SET reactions.#key = :now")
                .condition_expression(format!(
                    "{live} AND attribute_not_exists(reactions.#key) AND size(reactions) < :max"
                ))
                .expression_attribute_values(":now", s(now.to_rfc3339()))
                .expression_attribute_values(":max", n(crate::chat::model::MAX_REACTIONS))
        } else {
            builder
                .update_expression("REMOVE reactions.#key")
                .condition_expression(format!("{live} AND attribute_exists(reactions.#key)"))
        };
        self.update_returning(builder)
            .await?
            .map(message_from)
            .transpose()
    }

    #[instrument(skip_all, fields(room_id = %room, user_id = %user))]
    async fn mark_read(
        &self,
        room: &RoomId,
        user: &UserId,
        message: &Message,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let result = self
            .update_item(&crate::chat::keys::member(room, user))
            .update_expression(
                "SET lastReadMessageId = :id, lastReadAt = :at, readSeq = :seq, \
                 readCounted = :counted",
            )
            // Only forward: a marker that a send or another device moved further stays.
            .condition_expression(format!(
                "{ACTIVE_MEMBER} AND (attribute_not_exists(readSeq) OR readSeq < :seq)"
            ))
            .expression_attribute_values(":id", s(message.id.to_string()))
            .expression_attribute_values(":at", s(at.to_rfc3339()))
            .expression_attribute_values(":seq", n(message.seq))
            .expression_attribute_values(":counted", n(message.counted))
            .send()
            .await;
        conditional(result).await
    }

    async fn mark_delivered(
        &self,
        room: &RoomId,
        user: &UserId,
        message: &Message,
    ) -> Result<bool> {
        let result = self
            .update_item(&crate::chat::keys::member(room, user))
            .update_expression("SET lastDeliveredMessageId = :id, deliveredSeq = :seq")
            // Only forward, in sequence order like the read marker.
            .condition_expression(format!(
                "{ACTIVE_MEMBER} AND (attribute_not_exists(deliveredSeq) OR deliveredSeq < :seq)"
            ))
            .expression_attribute_values(":id", s(message.id.to_string()))
            .expression_attribute_values(":seq", n(message.seq))
            .send()
            .await;
        conditional(result).await
    }

    async fn set_last_seen(&self, user: &UserId, at: DateTime<Utc>) -> Result<()> {
        let item = to_item(
            &crate::chat::keys::presence(user),
            ENTITY_PRESENCE,
            None,
            &serde_json::json!({ "lastSeenAt": at }),
        )?;
        self.put(item).await
    }

    async fn last_seen(&self, user: &UserId) -> Result<Option<DateTime<Utc>>> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Presence {
            last_seen_at: DateTime<Utc>,
        }
        Ok(self
            .get::<Presence>(&crate::chat::keys::presence(user))
            .await?
            .map(|p| p.last_seen_at))
    }
}
