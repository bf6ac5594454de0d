//! The console's files as the server hands them out: every page route gets
//! the one HTML page, every module it loads is there, and nothing needs an
//! inline script or style (the console runs under `default-src 'self'`).

use hubkeep_console::asset;

fn text(path: &str) -> String {
    let a = asset(path).unwrap_or_else(|| panic!("no asset at {path}"));
    String::from_utf8(a.body.to_vec()).expect("console files are UTF-8")
}

#[test]
fn client_routes_get_the_page_and_unknown_files_get_nothing() {
    let index = asset("/index.html").unwrap();
    assert!(index.content_type.starts_with("text/html"));
    for route in [
        "/",
        "/stacks/hub1",
        "/jobs",
        "/jobs/j-1",
        "/restore?backup=x",
        "/secrets",
        "/signin",
    ] {
        assert_eq!(
            asset(route),
            Some(index),
            "{route} is a page of the console"
        );
    }
    assert_eq!(
        asset("/js/nothing.js"),
        None,
        "a missing file is a 404, not the page"
    );
    assert_eq!(
        asset("/console.css").unwrap().content_type,
        "text/css; charset=utf-8"
    );
    assert_eq!(
        asset("/js/app.js").unwrap().content_type,
        "text/javascript; charset=utf-8"
    );
}

#[test]
fn the_page_has_no_inline_script_or_style_and_loads_only_its_own_files() {
    let html = text("/index.html");
    for tag in html.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap();
        assert!(!tag.contains(" style="), "inline style in <{tag}>");
        assert!(!tag.contains(" on"), "inline handler in <{tag}>");
        if tag.starts_with("script") {
            assert!(tag.contains("src=\"/"), "inline script: <{tag}>");
        }
        for attr in ["src=\"", "href=\""] {
            if let Some(rest) = tag.split(attr).nth(1) {
                let url = rest.split('"').next().unwrap();
                assert!(
                    url.starts_with('/') || url.starts_with('#'),
                    "<{tag}> loads {url} from elsewhere"
                );
            }
        }
    }
    assert!(
        !html.contains("<style"),
        "an inline <style> breaks under the CSP"
    );
}

#[test]
fn every_module_import_is_a_file_of_the_console() {
    for path in hubkeep_console::paths().filter(|p| p.ends_with(".js")) {
        let js = text(path);
        for line in js.lines().filter(|l| l.starts_with("import ")) {
            let from = line.rsplit("from '").next().unwrap().trim_end_matches("';");
            let target = format!("/js/{}", from.trim_start_matches("./"));
            let a = asset(&target).unwrap_or_else(|| {
                panic!("{path} imports {from}, which the console does not serve")
            });
            assert!(a.content_type.starts_with("text/javascript"));
        }
        // The SVG namespace is a name, never fetched.
        let js = js.replace("'http://www.w3.org/2000/svg'", "SVG_NS");
        for forbidden in ["innerHTML", "eval(", "new Function", "http://", "https://"] {
            assert!(!js.contains(forbidden), "{path} uses {forbidden}");
        }
    }
}

#[test]
fn the_controls_carry_the_words_of_the_api_contract() {
    let all: String = hubkeep_console::paths().map(text).collect();
    for words in [
        "Access token",
        "Sign in",
        "Sign out",
        "Stacks",
        "Back up now",
        "Take the hub offline",
        "'Restore'",
        "'Verify'",
        "Save plan",
        "Run drill",
        "Jobs",
        "Restore from Backup",
        "New stack name",
        "'Domain'",
        "Source stack name",
        "Database snapshot",
        "Database secret ARN",
        "Backup vault",
        "Recovery point ARN",
        "Create stack",
        "Secrets",
        "Cancel deletion",
        "RPO missed",
    ] {
        assert!(all.contains(words), "no control says {words}");
    }
}
