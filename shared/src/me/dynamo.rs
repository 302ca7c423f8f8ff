//! User profiles and email claims on the table.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};
use tracing::instrument;

use super::store::*;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::store::dynamo::*;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

#[async_trait]
impl UserStore for DynamoStore {
    async fn get_user(&self, id: &UserId) -> Result<Option<User>> {
        self.get(&crate::me::keys::user(id)).await
    }

    async fn user_id_by_email(&self, email: &Email) -> Result<Option<UserId>> {
        #[derive(serde::Deserialize)]
        struct Claim {
            user_id: UserId,
        }
        Ok(self
            .get::<Claim>(&crate::me::keys::email_claim(email))
            .await?
            .map(|c| c.user_id))
    }

    #[instrument(skip_all, fields(user_id = %user.id))]
    async fn create_user(&self, user: &User) -> Result<bool> {
        let claim = to_item(
            &crate::me::keys::email_claim(&user.email),
            ENTITY_EMAIL,
            None,
            &serde_json::json!({"user_id": user.id}),
        )?;
        let profile = to_item(&crate::me::keys::user(&user.id), ENTITY_USER, None, user)?;
        let put = |item: Item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(Error::unexpected)
        };
        // Only a failed condition means "address already claimed"; anything else is an error
        // to retry, not an answer.
        self.transact_conditional(vec![put(claim)?, put(profile)?])
            .await
    }

    #[instrument(skip_all, fields(user_id = %id))]
    async fn update_profile(
        &self,
        id: &UserId,
        changes: &ProfileChanges,
        now: DateTime<Utc>,
    ) -> Result<User> {
        // Attribute names always go through placeholders: some (`roles`, `timeZone`) are
        // DynamoDB reserved words.
        let mut set = Vec::new();
        let mut remove = Vec::new();
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut assign = |name: &'static str, value: Option<AttributeValue>| {
            names.insert(format!("#{name}"), name.to_owned());
            match value {
                Some(value) => {
                    set.push(format!("#{name} = :{name}"));
                    values.insert(format!(":{name}"), value);
                }
                None => remove.push(format!("#{name}")),
            }
        };
        assign("updatedAt", Some(s(now.to_rfc3339())));
        if let Some(name) = &changes.display_name {
            assign("displayName", Some(s(name)));
        }
        if let Some(roles) = &changes.roles {
            assign(
                "roles",
                Some(serde_dynamo::to_attribute_value(roles).map_err(Error::unexpected)?),
            );
        }
        if let Some(tz) = &changes.time_zone {
            assign("timeZone", Some(s(tz.as_str())));
        }
        if let Some(locale) = &changes.locale {
            assign("locale", Some(s(locale.as_str())));
        }
        if let Some(phone) = &changes.phone {
            assign("phone", phone.as_ref().map(|p| s(p.as_str())));
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&crate::me::keys::user(id))))
            .update_expression(expression)
            .condition_expression("attribute_exists(PK)")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => from_item(out.attributes.unwrap_or_default()),
            Err(err) if condition_failed(&err) => Err(Error::NotFound("user")),
            Err(err) => Err(Error::unexpected(err)),
        }
    }
}
