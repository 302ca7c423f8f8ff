//! Click tracking for links in notification emails. A link points at the API's public
//! redirect with a signed token naming the recipient, the notification and the channel;
//! opening it records the click (and the read) on that notification, counts it for the
//! channel, and leads on to the notification's place in the app. The token is signed, so
//! nobody can mark someone else's notification by guessing ids, and it expires, so an old
//! forwarded email stops counting (it still leads to the app).

use chrono::{DateTime, Duration, Utc};
use tracing::info;

use crate::cursor::{CursorCodec, Position};
use crate::domain::{NotificationId, UserId};
use crate::error::{Error, Result};
use crate::notifications::model::{Channel, Notification};
use crate::notifications::service::Notifications;

/// How long a link records clicks.
const LINK_LIFETIME: Duration = Duration::days(30);
/// Signature scope of link tokens (the codec's key is shared with cursors; scopes keep a
/// cursor from ever passing as a link and the other way round).
const SCOPE: &str = "notification-link";

/// Builds and verifies tracked links.
#[derive(Clone)]
pub struct ClickLinks {
    codec: CursorCodec,
    api_url: Option<String>,
    app_url: String,
}

impl ClickLinks {
    /// Links into the app at `app_url`, tracked through the API at `api_url` when given.
    pub fn new(secret: &[u8], api_url: Option<&str>, app_url: &str) -> Self {
        Self {
            codec: CursorCodec::new(secret),
            api_url: api_url.map(|u| u.trim_end_matches('/').to_owned()),
            app_url: app_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Where a notification opens in the app.
    pub fn destination(&self, notification: &Notification) -> String {
        let app = &self.app_url;
        match notification.room_id {
            Some(room) => format!("{app}/rooms/{room}?n={}", notification.id),
            None => format!("{app}/notifications?n={}", notification.id),
        }
    }

    /// The link to put in a message sent on `channel`.
    pub fn link(
        &self,
        notification: &Notification,
        channel: Channel,
        now: DateTime<Utc>,
    ) -> String {
        let Some(api) = &self.api_url else {
            return self.destination(notification);
        };
        let claims = Position::from([
            ("u".to_owned(), notification.user_id.to_string()),
            ("n".to_owned(), notification.id.to_string()),
            ("c".to_owned(), channel.as_str().to_owned()),
            (
                "e".to_owned(),
                (now + LINK_LIFETIME).timestamp().to_string(),
            ),
        ]);
        format!("{api}/n/{}", self.codec.encode(SCOPE, &claims))
    }

    /// The recipient, notification and channel of a token, and whether it is still live.
    fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(UserId, NotificationId, Channel, bool)> {
        let invalid = || Error::field("token", "not a valid link");
        let claims = self.codec.decode(SCOPE, token).map_err(|_| invalid())?;
        let get = |name: &str| claims.get(name).map(String::as_str).ok_or_else(invalid);
        let user = UserId::parse(get("u")?, "token").map_err(|_| invalid())?;
        let id = NotificationId::parse(get("n")?, "token").map_err(|_| invalid())?;
        let channel: Channel =
            serde_json::from_value(serde_json::Value::String(get("c")?.to_owned()))
                .map_err(|_| invalid())?;
        let expires: i64 = get("e")?.parse().map_err(|_| invalid())?;
        Ok((user, id, channel, now.timestamp() < expires))
    }
}

impl Notifications<'_> {
    /// `GET /n/{token}` (public): records the click of a tracked link and answers where to
    /// go. An expired link, or one whose notification was deleted, still leads to the app
    /// but records nothing.
    pub async fn open_link(
        &self,
        links: &ClickLinks,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let (user, id, channel, live) = links.verify(token, now)?;
        let Some(notification) = self.store.get_notification(&user, &id).await? else {
            return Ok(format!("{}/notifications", links.app_url));
        };
        if live {
            let day = now.format("%Y-%m-%d").to_string();
            let kind = notification.kind;
            if self.store.mark_read(&user, &id, now, true).await? {
                self.count_channel(&day, kind, Channel::InApp, "read", 1)
                    .await;
            }
            if notification.clicked_at.is_none() {
                self.count_channel(&day, kind, channel, "clicked", 1).await;
            }
            info!(notification_id = %id, channel = channel.as_str(), "link opened");
        }
        Ok(links.destination(&notification))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifications::model::Kind;

    fn notification() -> Notification {
        serde_json::from_value(serde_json::json!({
            "id": NotificationId::new().to_string(), "userId": UserId::new().to_string(),
            "kind": Kind::System, "group": "kind:system", "title": "t", "body": "b",
            "createdAt": "2026-11-22T10:00:00Z"
        }))
        .unwrap()
    }

    fn links() -> ClickLinks {
        ClickLinks::new(
            b"0123456789abcdef0123456789abcdef",
            Some("https://api.example/"),
            "https://app.example",
        )
    }

    #[test]
    fn a_link_names_its_notification_and_expires() {
        let n = notification();
        let now = Utc::now();
        let link = links().link(&n, Channel::Email, now);
        let token = link.strip_prefix("https://api.example/n/").unwrap();
        let (user, id, channel, live) = links().verify(token, now).unwrap();
        assert_eq!(
            (user, id, channel, live),
            (n.user_id, n.id, Channel::Email, true)
        );
        let (.., live) = links().verify(token, now + Duration::days(31)).unwrap();
        assert!(!live);
        assert_eq!(
            links().destination(&n),
            format!("https://app.example/notifications?n={}", n.id)
        );
    }

    #[test]
    fn a_tampered_or_foreign_token_is_refused() {
        let n = notification();
        let link = links().link(&n, Channel::Email, Utc::now());
        let token = link.rsplit('/').next().unwrap();
        let mut tampered = token.to_owned();
        tampered.insert(3, 'x');
        assert!(links().verify(&tampered, Utc::now()).is_err());
        let other = ClickLinks::new(b"another-secret-another-secret-xx", None, "x");
        assert!(other.verify(token, Utc::now()).is_err());
        // A pagination cursor signed with the same secret is not a link.
        let cursor = CursorCodec::new(b"0123456789abcdef0123456789abcdef")
            .encode("notifications:x", &Position::new());
        assert!(links().verify(&cursor, Utc::now()).is_err());
    }

    #[test]
    fn without_an_api_url_links_go_straight_to_the_app() {
        let n = notification();
        let direct = ClickLinks::new(
            b"0123456789abcdef0123456789abcdef",
            None,
            "https://app.example",
        );
        assert_eq!(
            direct.link(&n, Channel::Email, Utc::now()),
            direct.destination(&n)
        );
    }
}
