//! Chat routes: rooms, members, messages, reactions and read markers over HTTP. The WebSocket
//! routes in [`crate::realtime`] share the same dependencies and service. Messages a member missed
//! are recorded in the table for the stream-triggered notifier, so chat functions link only
//! DynamoDB and the Management API.

use percent_encoding::percent_decode_str;

use crate::adapters::ApiGatewayPusher;
use crate::chat::model::{
    AddMembers, CreateRoom, EditMessage, Emoji, MembershipPatch, ReadUpTo, RoomPatch, SendMessage,
};
use crate::chat::service::{Chat, HistoryQuery};
use crate::cursor::CursorCodec;
use crate::domain::{MessageId, RoomId, UserId};
use crate::error::{Error, Result};
use crate::lambda::Init;
use crate::lambda::http::{HttpRequest, HttpResponse};
use crate::lambda::now;
use crate::me::service::page_size;
use crate::store::dynamo::DynamoStore;

/// What every chat function builds once: the table (every storage port), the Management
/// API client and the cursor codec.
pub struct ChatApi {
    store: DynamoStore,
    pusher: ApiGatewayPusher,
    cursors: CursorCodec,
}

/// The chat service over the table, as every chat function wires it (tests wire it the same
/// way through here).
pub fn chat_over<'a>(store: &'a DynamoStore, pusher: &'a ApiGatewayPusher) -> Chat<'a> {
    Chat {
        store,
        connections: store,
        limiter: store,
        files: store,
        users: store,
        pusher,
        // Missed messages are recorded in the table; a stream-triggered function notifies.
        notifier: store,
    }
}

fn room_id(req: &HttpRequest) -> Result<RoomId> {
    RoomId::parse(req.path_param("id"), "id")
}

fn message_id(req: &HttpRequest) -> Result<MessageId> {
    MessageId::parse(req.path_param("messageId"), "messageId")
}

fn created_or_ok(created: bool) -> u16 {
    if created { 201 } else { 200 }
}

impl ChatApi {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            pusher: ApiGatewayPusher::from_sdk(&init.sdk, &init.config.ws_management_endpoint),
            cursors: CursorCodec::new(&init.config.app_secret),
        }
    }

    /// The chat service over these dependencies.
    pub fn chat(&self) -> Chat<'_> {
        chat_over(&self.store, &self.pusher)
    }

    /// `POST /rooms`: 201 when created, 200 with the existing direct or subject room.
    pub async fn create_room(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: CreateRoom = req.json()?;
        let (detail, created) = self.chat().create_room(req.caller()?, body, now()).await?;
        HttpResponse::json(created_or_ok(created), &detail)
    }

    /// `GET /rooms?limit&cursor`.
    pub async fn list_rooms(&self, req: HttpRequest) -> Result<HttpResponse> {
        let limit = page_size(req.query("limit"))?;
        let page = self
            .chat()
            .list_rooms(&self.cursors, req.caller()?, limit, req.cursor())
            .await?;
        HttpResponse::ok(&page)
    }

    /// `GET /me/unread`.
    pub async fn unread(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&self.chat().unread_total(req.caller()?).await?)
    }

    /// `GET /rooms/{id}`.
    pub async fn get_room(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&self.chat().get_room(req.caller()?, &room_id(&req)?).await?)
    }

    /// `PATCH /rooms/{id}`.
    pub async fn update_room(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: RoomPatch = req.json()?;
        let room = self
            .chat()
            .update_room(req.caller()?, &room_id(&req)?, body, now())
            .await?;
        HttpResponse::ok(&room)
    }

    /// `POST /rooms/{id}/members`.
    pub async fn add_members(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: AddMembers = req.json()?;
        let detail = self
            .chat()
            .add_members(req.caller()?, &room_id(&req)?, body, now())
            .await?;
        HttpResponse::ok(&detail)
    }

    /// `DELETE /rooms/{id}/members/{userId}`.
    pub async fn remove_member(&self, req: HttpRequest) -> Result<HttpResponse> {
        let user = UserId::parse(req.path_param("userId"), "userId")?;
        self.chat()
            .remove_member(req.caller()?, &room_id(&req)?, &user, now())
            .await?;
        Ok(HttpResponse::no_content())
    }

    /// `PATCH /rooms/{id}/membership`.
    pub async fn update_membership(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: MembershipPatch = req.json()?;
        let member = self
            .chat()
            .update_membership(req.caller()?, &room_id(&req)?, body)
            .await?;
        HttpResponse::ok(&member)
    }

    /// `POST /rooms/{id}/read`.
    pub async fn mark_read(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: ReadUpTo = req.json()?;
        let member = self
            .chat()
            .mark_read(req.caller()?, &room_id(&req)?, &body.message_id, now())
            .await?;
        HttpResponse::ok(&member)
    }

    /// `GET /rooms/{id}/messages?before|after|afterSeq&limit`.
    pub async fn history(&self, req: HttpRequest) -> Result<HttpResponse> {
        let limit = page_size(req.query("limit"))?;
        let query = HistoryQuery {
            before: req.query("before").map(str::to_owned),
            after: req.query("after").map(str::to_owned),
            after_seq: req.query("afterSeq").map(str::to_owned),
        };
        let page = self
            .chat()
            .history(req.caller()?, &room_id(&req)?, query, limit)
            .await?;
        HttpResponse::ok(&page)
    }

    /// `POST /rooms/{id}/messages`: 201, or 200 with the first message for a reused
    /// `clientMessageId`.
    pub async fn send(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: SendMessage = req.json()?;
        let (message, created) = self
            .chat()
            .send(req.caller()?, &room_id(&req)?, body, now(), req.deadline)
            .await?;
        HttpResponse::json(created_or_ok(created), &message)
    }

    /// `PATCH /rooms/{id}/messages/{messageId}`.
    pub async fn edit(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: EditMessage = req.json()?;
        let message = self
            .chat()
            .edit(
                req.caller()?,
                &room_id(&req)?,
                &message_id(&req)?,
                body,
                now(),
            )
            .await?;
        HttpResponse::ok(&message)
    }

    /// `DELETE /rooms/{id}/messages/{messageId}`: answers the tombstone.
    pub async fn delete(&self, req: HttpRequest) -> Result<HttpResponse> {
        let message = self
            .chat()
            .delete(req.caller()?, &room_id(&req)?, &message_id(&req)?, now())
            .await?;
        HttpResponse::ok(&message)
    }

    /// `PUT` (add) and `DELETE` (remove) `/rooms/{id}/messages/{messageId}/reactions/{emoji}`.
    pub async fn react(&self, req: HttpRequest) -> Result<HttpResponse> {
        let add = match req.route.split(' ').next() {
            Some("PUT") => true,
            Some("DELETE") => false,
            _ => return Err(Error::BadRequest("use PUT or DELETE".into())),
        };
        // The gateway may hand the segment over percent-encoded.
        let raw = percent_decode_str(req.path_param("emoji"))
            .decode_utf8()
            .map_err(|_| Error::field("emoji", "must be one emoji"))?;
        let emoji = Emoji::parse(&raw)?;
        let message = self
            .chat()
            .react(
                req.caller()?,
                &room_id(&req)?,
                &message_id(&req)?,
                &emoji,
                add,
                now(),
            )
            .await?;
        HttpResponse::ok(&message)
    }
}
