//! The escalation sweep (see `gigwire::notifications::routes::ESCALATIONS`): the one
//! notification function that sends email, so the only one whose binary links SES.

use gigwire::lambda::BoxError;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    gigwire::routes::run(&gigwire::notifications::routes::ESCALATIONS).await
}
