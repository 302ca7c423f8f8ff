//! Chat messages that reached none of a member's devices become notifications.

use crate::chat::store::OfflineMessage;
use crate::error::Result;
use crate::notifications::model::Kind;
use crate::notifications::store::Notifier;

use super::service::*;

/// Chat's notifier: a message none of a member's devices received becomes a `chat_message`
/// notification, grouped per room so a burst becomes one digest.
pub struct ChatNotifier<'a> {
    /// The notification service.
    pub notifications: Notifications<'a>,
}

#[async_trait::async_trait]
impl Notifier for ChatNotifier<'_> {
    async fn messages_missed(&self, due: &[OfflineMessage]) -> Result<()> {
        let Some(first) = due.first() else {
            return Ok(());
        };
        let (room, sender) = futures::try_join!(
            self.notifications.rooms.get_room(&first.room_id),
            self.notifications.users.get_user(&first.sender_id)
        )?;
        let room_name = room
            .and_then(|r| r.name)
            .unwrap_or_else(|| "your conversation".to_owned());
        let actor = sender
            .and_then(|s| s.display_name)
            .unwrap_or_else(|| "someone".to_owned());
        let request = NotifyRequest {
            recipients: Recipients::Users(due.iter().map(|d| d.user_id).collect()),
            kind: Kind::ChatMessage,
            actor: Some(first.sender_id),
            room: Some(first.room_id),
            data: serde_json::json!({
                "actor": actor,
                "room": room_name,
                "roomId": first.room_id,
                "messageId": first.message_id,
                "preview": first.preview.clone().unwrap_or_else(|| "sent an attachment".to_owned()),
            }),
            idempotency_key: format!("chat:{}", first.message_id),
        };
        self.notifications
            .notify(&request, first.created_at)
            .await
            .map(drop)
    }
}
