//! The web console on the API's server: every path outside `/api/` and
//! `/metrics` is one of the console's files (hubkeep-console), or its page
//! for a client-side route. The console's responses carry a
//! Content-Security-Policy that allows only the server's own files, so no
//! inline script and nothing from elsewhere can run in it.

use axum::http::{header, Uri};
use axum::response::{IntoResponse, Response};

const CSP: &str = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The router's fallback: a console file, or the API's 404 document.
pub async fn console_or_not_found(uri: Uri) -> Response {
    let path = uri.path();
    let asset = if path.starts_with("/api/") || path == "/metrics" {
        None
    } else {
        hubkeep_console::asset(path)
    };
    match asset {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CONTENT_SECURITY_POLICY, CSP),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::REFERRER_POLICY, "no-referrer"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            a.body,
        )
            .into_response(),
        None => crate::routes::not_found().await.into_response(),
    }
}
