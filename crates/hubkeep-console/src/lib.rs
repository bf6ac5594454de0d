//! The web console's files, built into the binary so that `hubkeep serve`
//! needs nothing from outside the machine: one HTML page, one CSS file and
//! JavaScript modules, no framework and no build step.
//!
//! The HTTP API serves them for every path outside `/api/` and `/metrics`
//! through [`asset`]. The console's pages are client-side routes, so a path
//! that names no file (`/stacks/hub1`) gets `index.html`; a path that looks
//! like a file (`/js/nothing.js`) and is not one gets `None`, a 404.
#![deny(missing_docs)]

/// One file of the console, ready to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// The `Content-Type` header to send with it.
    pub content_type: &'static str,
    /// The file's bytes.
    pub body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// Every file, by the path it is served at.
const FILES: &[(&str, &str, &[u8])] = &[
    ("/index.html", HTML, include_bytes!("../web/index.html")),
    ("/console.css", CSS, include_bytes!("../web/console.css")),
    ("/favicon.svg", SVG, include_bytes!("../web/favicon.svg")),
    ("/js/app.js", JS, include_bytes!("../web/js/app.js")),
    ("/js/api.js", JS, include_bytes!("../web/js/api.js")),
    ("/js/ui.js", JS, include_bytes!("../web/js/ui.js")),
    (
        "/js/jobwatch.js",
        JS,
        include_bytes!("../web/js/jobwatch.js"),
    ),
    ("/js/signin.js", JS, include_bytes!("../web/js/signin.js")),
    ("/js/stacks.js", JS, include_bytes!("../web/js/stacks.js")),
    ("/js/stack.js", JS, include_bytes!("../web/js/stack.js")),
    (
        "/js/pictures.js",
        JS,
        include_bytes!("../web/js/pictures.js"),
    ),
    ("/js/jobs.js", JS, include_bytes!("../web/js/jobs.js")),
    ("/js/restore.js", JS, include_bytes!("../web/js/restore.js")),
    ("/js/secrets.js", JS, include_bytes!("../web/js/secrets.js")),
];

/// The console file served at `path` (the request path, without query).
///
/// `/` and client-side routes (paths whose last segment has no `.`) give
/// `index.html`; an unknown file gives `None`.
pub fn asset(path: &str) -> Option<Asset> {
    let path = path.split(['?', '#']).next().unwrap_or("/");
    if let Some((_, content_type, body)) = FILES.iter().find(|(p, _, _)| *p == path) {
        return Some(Asset { content_type, body });
    }
    let last = path.rsplit('/').next().unwrap_or("");
    if last.contains('.') {
        return None;
    }
    asset("/index.html")
}

/// The paths of every file the console has (for tests and listings).
pub fn paths() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(p, _, _)| *p)
}
