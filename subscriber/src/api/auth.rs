//! Who may call `/callback` and `/cleanup` (GET and POST): with `--api-token`, a bearer
//! token in the `Authorization` header or as `?token=` (Marathon cannot send headers); with
//! `--api-credentials`, HTTP Basic. Secrets are compared in constant time. One layer,
//! [`require`], guards those routes; without either flag, everything passes.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use subtle::ConstantTimeEq;

use super::{error, query_param};

/// The configured secrets.
#[derive(Clone, Default)]
pub struct ApiAuth {
    token: Option<String>,
    basic: Option<String>,
}

impl ApiAuth {
    /// No auth when both are `None`.
    pub fn new(token: Option<String>, credentials: Option<String>) -> Self {
        ApiAuth {
            token: token.filter(|t| !t.is_empty()),
            basic: credentials.filter(|c| !c.is_empty()).map(|c| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(c)
                )
            }),
        }
    }

    fn enabled(&self) -> bool {
        self.token.is_some() || self.basic.is_some()
    }

    /// True when the request's `headers` or its `?token=` carry a configured secret (or
    /// when none is configured).
    pub fn allows(&self, headers: &HeaderMap, query_token: Option<&str>) -> bool {
        if !self.enabled() {
            return true;
        }
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Some(token) = &self.token {
            if let Some(bearer) = given.strip_prefix("Bearer ")
                && secret_eq(bearer.trim(), token)
            {
                return true;
            }
            if let Some(q) = query_token
                && secret_eq(q, token)
            {
                return true;
            }
        }
        if let Some(basic) = &self.basic
            && secret_eq(given.trim(), basic)
        {
            return true;
        }
        false
    }
}

/// Compares a secret in constant time (for equal lengths; a length differs at once).
fn secret_eq(given: &str, secret: &str) -> bool {
    given.as_bytes().ct_eq(secret.as_bytes()).into()
}

/// The layer of the guarded routes: 401 (with `WWW-Authenticate`) unless [`ApiAuth::allows`]
/// the request.
pub(super) async fn require(State(auth): State<ApiAuth>, request: Request, next: Next) -> Response {
    let token = query_param(request.uri().query(), "token");
    if auth.allows(request.headers(), token.as_deref()) {
        return next.run(request).await;
    }
    let mut r = error(StatusCode::UNAUTHORIZED, "missing or wrong credentials");
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer, Basic realm=\"herald\""),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_accepts_bearer_query_token_and_basic() {
        let auth = ApiAuth::new(Some("s3cret".into()), Some("u:p".into()));
        let mut h = HeaderMap::new();
        assert!(!auth.allows(&h, None));
        assert!(auth.allows(&h, Some("s3cret")));
        assert!(!auth.allows(&h, Some("s3cre")));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(auth.allows(&h, None));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dTpw"),
        );
        assert!(auth.allows(&h, None));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dTpx"),
        );
        assert!(!auth.allows(&h, None));
        assert!(ApiAuth::default().allows(&HeaderMap::new(), None));
    }
}
