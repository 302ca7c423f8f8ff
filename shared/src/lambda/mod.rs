//! Runtime glue: everything between the Lambda Runtime API and an entrypoint. A function's
//! `main` calls [`init`] once (tracing, configuration, AWS configuration), builds its
//! dependencies, and hands its entrypoint to one of the `run` functions here, which parse the
//! event, establish the caller, and map the one error type to the event's answer.

pub mod authorizer;
pub mod http;
pub mod schedule;
pub mod ws;

pub use lambda_runtime::Error as BoxError;

use crate::config::Config;

/// What a cold start builds once and every invocation shares.
pub struct Init {
    /// The deployment's configuration.
    pub config: Config,
    /// AWS configuration from the SDK's standard environment.
    pub sdk: aws_config::SdkConfig,
}

/// Sets up logging and reads the configuration, without AWS configuration (for functions
/// that call no AWS service, such as the authorizers).
pub fn init_config() -> Result<Config, BoxError> {
    lambda_runtime::tracing::init_default_subscriber();
    Ok(Config::from_env()?)
}

/// Sets up logging and reads the configuration and the AWS configuration.
pub async fn init() -> Result<Init, BoxError> {
    let config = init_config()?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    Ok(Init { config, sdk })
}
