//! Notification routes (inbox and preferences) and the scheduled escalation sweep.

use chrono::{DateTime, Utc};

use crate::adapters::{ApiGatewayPusher, PushSender, SesMailer, SnsPush, SnsSms};
use crate::chat::store::MissedMessages;
use crate::cursor::CursorCodec;
use crate::domain::NotificationId;
use crate::error::{Error, Result};
use crate::lambda::Init;
use crate::lambda::http::{HttpRequest, HttpResponse};
use crate::lambda::now;
use crate::me::service::page_size;
use crate::notifications::click::ClickLinks;
use crate::notifications::escalation::Escalations;
use crate::notifications::missed::ChatNotifier;
use crate::notifications::model::{PreferencesPatch, RegisterDevice, Subscribe};
use crate::notifications::service::{InboxQuery, MarkRead, Notifications};
use crate::notifications::store::Notifier;
use crate::notifications::subscriptions::{Broadcast, Subscriptions};
use crate::store::dynamo::DynamoStore;
use crate::templates::EmailTemplates;

/// What the inbox and preference functions build once.
pub struct NotificationsApi {
    store: DynamoStore,
    pusher: ApiGatewayPusher,
    cursors: CursorCodec,
    push: Option<SnsPush>,
    links: Option<ClickLinks>,
}

fn id(req: &HttpRequest) -> Result<NotificationId> {
    NotificationId::parse(req.path_param("id"), "id")
}

/// The notification service over the table, as every notification function wires it (tests
/// wire it the same way through here).
pub fn notifications_over<'a>(
    store: &'a DynamoStore,
    pusher: &'a ApiGatewayPusher,
    push: Option<&'a SnsPush>,
) -> Notifications<'a> {
    Notifications {
        store,
        users: store,
        connections: store,
        pusher,
        push: push.map(|p| p as &dyn PushSender),
        rooms: store,
    }
}

/// Tracked email links, when the app's URL is configured.
fn click_links(init: &Init) -> Option<ClickLinks> {
    let config = &init.config;
    let app = config.app_url.as_deref()?;
    Some(ClickLinks::new(
        &config.app_secret,
        config.public_api_url.as_deref(),
        app,
    ))
}

/// The `{target}` path parameter; the gateway may hand it over percent-encoded
/// (`room%3A…`). Anything that does not decode fails the target's own validation.
fn target(req: &HttpRequest) -> String {
    percent_encoding::percent_decode_str(req.path_param("target"))
        .decode_utf8_lossy()
        .into_owned()
}

impl NotificationsApi {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            pusher: ApiGatewayPusher::from_sdk(&init.sdk, &init.config.ws_management_endpoint),
            cursors: CursorCodec::new(&init.config.app_secret),
            push: SnsPush::from_sdk(&init.sdk, init.config.push_application_arn.as_deref()),
            links: click_links(init),
        }
    }

    fn subscriptions(&self) -> Subscriptions<'_> {
        Subscriptions {
            notifications: self.service(),
        }
    }

    fn service(&self) -> Notifications<'_> {
        notifications_over(&self.store, &self.pusher, self.push.as_ref())
    }

    /// `POST /me/devices`.
    pub async fn register_device(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: RegisterDevice = req.json()?;
        let device = self
            .service()
            .register_device(req.caller()?, body, now())
            .await?;
        HttpResponse::json(201, &device)
    }

    /// `DELETE /me/devices/{id}`.
    pub async fn unregister_device(&self, req: HttpRequest) -> Result<HttpResponse> {
        let id = req.path_param("id");
        self.service().unregister_device(req.caller()?, id).await?;
        Ok(HttpResponse::no_content())
    }

    /// `GET /notifications?unreadOnly&kind&limit&cursor`.
    pub async fn list(&self, req: HttpRequest) -> Result<HttpResponse> {
        let query = InboxQuery {
            unread_only: req.query_flag("unreadOnly")?,
            kind: req.query("kind"),
            limit: page_size(req.query("limit"))?,
            cursor: req.cursor(),
        };
        let page = self
            .service()
            .inbox(&self.cursors, req.caller()?, query)
            .await?;
        HttpResponse::ok(&page)
    }

    /// `GET /notifications/unread-count`.
    pub async fn unread(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&self.service().unread(req.caller()?).await?)
    }

    /// `POST /notifications/read`.
    pub async fn mark_read(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: MarkRead = req.json()?;
        HttpResponse::ok(&self.service().mark_read(req.caller()?, body, now()).await?)
    }

    /// `POST /notifications/seen`.
    pub async fn mark_seen(&self, req: HttpRequest) -> Result<HttpResponse> {
        self.service().mark_seen(req.caller()?, now()).await?;
        Ok(HttpResponse::no_content())
    }

    /// `POST /notifications/{id}/click`.
    pub async fn click(&self, req: HttpRequest) -> Result<HttpResponse> {
        let clicked = self
            .service()
            .click(req.caller()?, &id(&req)?, now())
            .await?;
        HttpResponse::ok(&clicked)
    }

    /// `DELETE /notifications/{id}`.
    pub async fn delete(&self, req: HttpRequest) -> Result<HttpResponse> {
        self.service().delete(req.caller()?, &id(&req)?).await?;
        Ok(HttpResponse::no_content())
    }

    /// `GET /admin/notification-stats?from&to`.
    pub async fn stats(&self, req: HttpRequest) -> Result<HttpResponse> {
        let stats = self
            .service()
            .stats(req.caller()?, req.query("from"), req.query("to"), now())
            .await?;
        HttpResponse::ok(&stats)
    }

    /// `GET /me/notification-preferences`.
    pub async fn preferences(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&self.service().preferences(req.caller()?).await?)
    }

    /// `GET /n/{token}` (public): a tracked email link.
    pub async fn open_link(&self, req: HttpRequest) -> Result<HttpResponse> {
        let links = self.links.as_ref().ok_or(Error::NotFound("link"))?;
        let token = req.path_param("token");
        let location = self.service().open_link(links, token, now()).await?;
        Ok(HttpResponse::redirect(location))
    }

    /// `PUT /me/subscriptions/{target}` (an empty body keeps every channel on).
    pub async fn subscribe(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: Subscribe = req.json_or_default()?;
        let subscription = self
            .subscriptions()
            .subscribe(req.caller()?, &target(&req), body, now())
            .await?;
        HttpResponse::ok(&subscription)
    }

    /// `DELETE /me/subscriptions/{target}`.
    pub async fn unsubscribe(&self, req: HttpRequest) -> Result<HttpResponse> {
        self.subscriptions()
            .unsubscribe(req.caller()?, &target(&req))
            .await?;
        Ok(HttpResponse::no_content())
    }

    /// `GET /me/subscriptions?limit&cursor`.
    pub async fn subscriptions_of(&self, req: HttpRequest) -> Result<HttpResponse> {
        let page = self
            .subscriptions()
            .list(
                &self.cursors,
                req.caller()?,
                page_size(req.query("limit"))?,
                req.cursor(),
            )
            .await?;
        HttpResponse::ok(&page)
    }

    /// `POST /admin/notifications`.
    pub async fn broadcast(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: Broadcast = req.json()?;
        let report = self
            .subscriptions()
            .broadcast(req.caller()?, body, now())
            .await?;
        HttpResponse::ok(&report)
    }

    /// `PATCH /me/notification-preferences`.
    pub async fn update_preferences(&self, req: HttpRequest) -> Result<HttpResponse> {
        let patch: PreferencesPatch = req.json()?;
        let view = self
            .service()
            .update_preferences(req.caller()?, patch, now())
            .await?;
        HttpResponse::ok(&view)
    }
}

/// The scheduled escalation sweep.
pub struct EscalationSweep {
    store: DynamoStore,
    sms: SnsSms,
    mailer: SesMailer,
    templates: EmailTemplates,
    links: Option<ClickLinks>,
}

impl EscalationSweep {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            sms: SnsSms::from_sdk(&init.sdk),
            mailer: SesMailer::from_sdk(&init.sdk, &init.config.email_from),
            templates: EmailTemplates::new(),
            links: click_links(init),
        }
    }

    /// One run, at the schedule's firing time.
    pub async fn run(&self, fired_at: DateTime<Utc>) -> Result<()> {
        Escalations {
            store: &self.store,
            users: &self.store,
            sms: &self.sms,
            mailer: &self.mailer,
            templates: &self.templates,
            links: self.links.as_ref(),
        }
        .sweep(fired_at)
        .await
        .map(drop)
    }
}

/// The stream-triggered notifier of missed chat messages.
pub struct MissedMessagesNotifier {
    api: NotificationsApi,
}

impl MissedMessagesNotifier {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            api: NotificationsApi::new(init),
        }
    }

    /// Notifies the members who missed each recorded message (idempotent per message, so a
    /// retried batch notifies nobody twice).
    pub async fn handle(&self, batch: Vec<MissedMessages>) -> Result<()> {
        let notifier = ChatNotifier {
            notifications: self.api.service(),
        };
        for missed in batch {
            notifier.messages_missed(&missed.messages).await?;
        }
        Ok(())
    }
}
