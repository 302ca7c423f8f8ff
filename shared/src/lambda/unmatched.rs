//! The HTTP API's `$default` route: every request that no declared route matches. API Gateway
//! would answer those itself with `{"message":"Not Found"}`, for an unknown path and for a known
//! path asked with another method alike; here they get the API's own error body: 405 with
//! `Allow` when the path exists under other methods (per the route declarations), 404
//! otherwise.

use crate::error::{Error, Result};
use crate::lambda::http::{HttpRequest, HttpResponse};
use crate::route_table::HTTP_ROUTES;

/// The methods under which `path` exists, sorted.
pub fn methods_of(path: &str) -> Vec<&'static str> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut methods: Vec<&str> = HTTP_ROUTES
        .iter()
        .filter_map(|(method, template)| {
            let parts: Vec<&str> = template.split('/').collect();
            let matches = parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(part, seg)| part == seg || (part.starts_with('{') && !seg.is_empty()));
            matches.then_some(*method)
        })
        .collect();
    methods.sort_unstable();
    methods.dedup();
    methods
}

/// The methods of the declared routes whose path is exactly `path`, without parameters: API
/// Gateway also matches `DELETE /notifications/read` to `DELETE /notifications/{id}`, but that
/// path names the literal resource, which has other methods (405), not a notification.
pub fn literal_methods(path: &str) -> Vec<&'static str> {
    HTTP_ROUTES
        .iter()
        .filter(|(_, template)| *template == path)
        .map(|(method, _)| *method)
        .collect()
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
