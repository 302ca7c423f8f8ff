//! The HTTP API's `$default` route: every request that no declared route matches. API Gateway
//! would answer those itself with `{"message":"Not Found"}`, for an unknown path and for a known
//! path asked with another method alike; here they get the API's own error body: 405 with
//! `Allow` when the path exists under other methods, 404 otherwise.

use crate::error::{Error, Result};
use crate::lambda::http::{HttpRequest, HttpResponse};

/// Every route of the HTTP API (a test keeps this equal to template.yaml's routes).
pub const ROUTES: &[&str] = &[
    "DELETE /files/{id}",
    "DELETE /me/devices/{id}",
    "DELETE /me/subscriptions/{target}",
    "DELETE /notifications/{id}",
    "DELETE /rooms/{id}/members/{userId}",
    "DELETE /rooms/{id}/messages/{messageId}",
    "DELETE /rooms/{id}/messages/{messageId}/reactions/{emoji}",
    "GET /admin/notification-stats",
    "GET /files/{id}",
    "GET /me",
    "GET /me/notification-preferences",
    "GET /me/sessions",
    "GET /me/subscriptions",
    "GET /me/unread",
    "GET /n/{token}",
    "GET /notifications",
    "GET /notifications/unread-count",
    "GET /rooms",
    "GET /rooms/{id}",
    "GET /rooms/{id}/messages",
    "PATCH /me",
    "PATCH /me/notification-preferences",
    "PATCH /rooms/{id}",
    "PATCH /rooms/{id}/membership",
    "PATCH /rooms/{id}/messages/{messageId}",
    "POST /admin/notifications",
    "POST /auth/logout",
    "POST /auth/otp",
    "POST /auth/otp/verify",
    "POST /auth/refresh",
    "POST /files",
    "POST /files/{id}/complete",
    "POST /me/devices",
    "POST /notifications/read",
    "POST /notifications/seen",
    "POST /notifications/{id}/click",
    "POST /rooms",
    "POST /rooms/{id}/members",
    "POST /rooms/{id}/messages",
    "POST /rooms/{id}/read",
    "PUT /me/subscriptions/{target}",
    "PUT /rooms/{id}/messages/{messageId}/reactions/{emoji}",
];

/// The methods under which `path` exists, sorted.
pub fn methods_of(path: &str) -> Vec<&'static str> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut methods: Vec<&str> = ROUTES
        .iter()
        .filter_map(|route| {
            let (method, template) = route.split_once(' ')?;
            let parts: Vec<&str> = template.split('/').collect();
            let matches = parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(part, seg)| part == seg || (part.starts_with('{') && !seg.is_empty()));
            matches.then_some(method)
        })
        .collect();
    methods.sort_unstable();
    methods.dedup();
    methods
}

/// Answers a request no route matched.
pub async fn unmatched(req: HttpRequest) -> Result<HttpResponse> {
    let methods = methods_of(&req.raw_path);
    if methods.is_empty() || methods.contains(&req.method.as_str()) {
        return Err(Error::NotFound("route"));
    }
    Err(Error::MethodNotAllowed {
        allow: methods.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_route_list_is_the_templates() {
        let template =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
                .unwrap();
        let declared: BTreeSet<String> = template
            .lines()
            .filter_map(|line| line.trim().strip_prefix("RouteKey:"))
            .map(|key| {
                key.trim()
                    .trim_matches(|c| c == '"' || c == '\'')
                    .to_owned()
            })
            .filter(|key| !key.starts_with('$'))
            .collect();
        let listed: BTreeSet<String> = ROUTES.iter().map(|r| (*r).to_owned()).collect();
        assert_eq!(declared, listed);
    }

    #[test]
    fn a_known_path_lists_its_methods_and_an_unknown_one_none() {
        assert_eq!(methods_of("/auth/logout"), ["POST"]);
        assert_eq!(methods_of("/me"), ["GET", "PATCH"]);
        assert_eq!(
            methods_of("/rooms/01JD0000000000000000000001/messages"),
            ["GET", "POST"]
        );
        assert_eq!(
            methods_of("/rooms/x/messages/y/reactions/z"),
            ["DELETE", "PUT"]
        );
        assert!(methods_of("/nowhere").is_empty());
        assert!(methods_of("/rooms//messages").is_empty());
    }

    #[tokio::test]
    async fn another_method_is_405_with_allow_and_an_unknown_path_404() {
        let req = |method: &str, path: &str| HttpRequest {
            method: method.into(),
            raw_path: path.into(),
            ..Default::default()
        };
        let err = unmatched(req("TRACE", "/auth/logout")).await.unwrap_err();
        assert!(
            matches!(err, Error::MethodNotAllowed { ref allow } if allow == "POST"),
            "{err:?}"
        );
        assert_eq!(err.status(), 405);
        let err = unmatched(req("GET", "/nowhere")).await.unwrap_err();
        assert_eq!(err.status(), 404);
    }
}
