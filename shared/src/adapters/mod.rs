//! Outbound ports and their AWS adapters: email through SES v2, SMS and mobile push through
//! SNS, real-time pushes through the API Gateway Management API, file storage on S3, and the
//! token signing key from SSM. Services depend on the traits; each function builds only the
//! adapters it uses at cold start, and a feature's binary links only the SDK clients its
//! functions use.

pub mod apigw;
pub mod s3;
pub mod ses;
pub mod sns;
pub mod ssm;

pub use apigw::{ApiGatewayPusher, Delivery, Pusher};
pub use s3::{ObjectInfo, ObjectStore, PresignedPost, S3Files, S3PostSigner, UploadSigner};
pub use ses::{Mailer, OutgoingEmail, SesMailer};
pub use sns::{PushSender, Pushed, SmsSender, SnsPush, SnsSms};
pub use ssm::SsmParameters;
