//! Outbound ports and their AWS adapters: email through SES v2 and real-time pushes through the
//! API Gateway Management API. Services depend on the traits; each function builds only the
//! adapters it uses, so a binary links only the SDK clients it needs.

pub mod apigw;
pub mod ses;

pub use apigw::{ApiGatewayPusher, Delivery, Pusher};
pub use ses::{Mailer, OutgoingEmail, SesMailer};
