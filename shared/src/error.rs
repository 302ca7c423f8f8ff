//! The one error type of the API and its single mapping to an HTTP status and JSON body
//! `{"error": {"code", "message", "field"?}}`. Client errors say what to fix; internal errors
//! are logged with their whole cause chain and answered with a generic body, so nothing about
//! tables, SDKs or stack traces ever reaches a client.

use serde::Serialize;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: a field is missing, malformed or out of range.
    #[error("{message}")]
    Validation {
        /// JSON path of the offending field, when one is to blame.
        field: Option<String>,
        /// What is wrong, for the developer calling the API.
        message: String,
    },
    /// 400: the request as a whole cannot be read (bad JSON, bad cursor).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 404: nothing the caller may see exists here.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 405: the path exists, but not with this method; `allow` lists the methods it has.
    #[error("this path answers only {allow}")]
    MethodNotAllowed {
        /// The path's methods, as the `Allow` header lists them.
        allow: String,
    },
    /// 409: the write lost against a concurrent one or a uniqueness rule.
    #[error("{0}")]
    Conflict(String),
    /// 409 with `Retry-After`: the write kept losing against concurrent ones until its
    /// deadline (a busy room); nothing was written, and the same request may be retried
    /// after the given number of seconds.
    #[error("{message}; retry in {retry_after_secs} s")]
    Busy {
        /// What was busy, and how to retry.
        message: &'static str,
        /// Seconds to wait before the retry.
        retry_after_secs: u64,
    },
    /// 413: the body is larger than the route accepts.
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 429: too many requests; retry after the given number of seconds.
    #[error("too many requests, retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the current window ends.
        retry_after_secs: u64,
    },
    /// 502: the payment provider could not be reached; the request changed nothing it cannot
    /// finish on a retry. Logged in full, answered with a generic message.
    #[error("the payment provider is unavailable, retry later")]
    PaymentUnavailable(String),
    /// 500: anything else. Logged in full, never shown.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<gigwire_payments::PaymentError> for Error {
    /// Stripe refusing our request is our bug (500); not reaching it is a 502 to retry.
    fn from(err: gigwire_payments::PaymentError) -> Self {
        match err {
            // A decline reaches a flow only where it reads the payment again instead.
            gigwire_payments::PaymentError::Refused(_)
            | gigwire_payments::PaymentError::Declined(_) => Self::unexpected(err),
            gigwire_payments::PaymentError::Unavailable(cause) => Self::PaymentUnavailable(cause),
        }
    }
}

impl Error {
    /// A validation error on one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// Wraps any internal failure (SDK, serialization) as [`Error::Unexpected`].
    pub fn unexpected(err: impl Into<anyhow::Error>) -> Self {
        Self::Unexpected(err.into())
    }

    /// HTTP status code of this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::Validation { .. } | Self::BadRequest(_) => 400,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::Conflict(_) | Self::Busy { .. } => 409,
            Self::PayloadTooLarge { .. } => 413,
            Self::RateLimited { .. } => 429,
            Self::Unexpected(_) => 500,
            Self::PaymentUnavailable(_) => 502,
        }
    }

    /// Stable machine-readable code, the part of the body clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "validation",
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Conflict(_) | Self::Busy { .. } => "conflict",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unexpected(_) => "internal",
            Self::PaymentUnavailable(_) => "payment_unavailable",
        }
    }

    /// Whether a retry of the same event may succeed (used for non-HTTP invocations).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Unexpected(_)
                | Self::Conflict(_)
                | Self::Busy { .. }
                | Self::RateLimited { .. }
                | Self::PaymentUnavailable(_)
        )
    }

    /// The client-facing body. Internal errors are logged here with their cause chain and
    /// replaced by a generic message.
    pub fn body(&self) -> ErrorBody {
        let message = match self {
            Self::Unexpected(err) => {
                tracing::error!(error = ?err, "internal error");
                "internal error".to_owned()
            }
            Self::PaymentUnavailable(cause) => {
                tracing::error!(%cause, "payment provider unavailable");
                self.to_string()
            }
            other => other.to_string(),
        };
        let field = match self {
            Self::Validation { field, .. } => field.clone(),
            _ => None,
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message,
                field,
            },
        }
    }
}

/// `{"error": {...}}`, the body of every error response and WebSocket `error` event.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable code: validation, bad_request, unauthorized, forbidden, not_found,
    /// method_not_allowed, conflict, payload_too_large, rate_limited, internal.
    #[schema(value_type = String)]
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// The offending field, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_error_maps_to_its_status() {
        assert_eq!(Error::field("email", "bad").status(), 400);
        assert_eq!(Error::Unauthorized("x".into()).status(), 401);
        assert_eq!(Error::Forbidden("x".into()).status(), 403);
        assert_eq!(Error::NotFound("user").status(), 404);
        assert_eq!(Error::Conflict("x".into()).status(), 409);
        let busy = Error::Busy {
            message: "the room is busy",
            retry_after_secs: 1,
        };
        assert_eq!((busy.status(), busy.code()), (409, "conflict"));
        assert_eq!(Error::PayloadTooLarge { limit: 1 }.status(), 413);
        assert_eq!(
            Error::RateLimited {
                retry_after_secs: 3
            }
            .status(),
            429
        );
    }

    #[test]
    fn internal_errors_never_leak_their_cause() {
        let err = Error::unexpected(anyhow::anyhow!(
            "ResourceNotFoundException: table gigwire-dev"
        ));
        let body = serde_json::to_value(err.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "internal", "message": "internal error"}})
        );
    }

    #[test]
    fn validation_errors_name_their_field() {
        let body = serde_json::to_value(Error::field("phone", "not E.164").body()).unwrap();
        assert_eq!(body["error"]["field"], "phone");
        assert_eq!(body["error"]["code"], "validation");
    }
}
