//! The OpenAPI document (`/openapi.json`) and Swagger UI (`/docs`).
//!
//! Which routes the server serves is read from the source (every `.route("...", ...)` of the
//! server and of the sandbox controls), since axum cannot list its routes; the PG simulators'
//! own routes (`vbank-sandbox/src/<pg>.rs`) are the PGs' protocols, not vbank's API, and are
//! documented in `spec/pg.md` instead. Every documented operation is then asked on the live
//! server, which must not answer "no such API".

mod common;

use common::TestApp;
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// `(METHOD, path)` of every `.route(...)` in these files.
fn routes_in_source(files: &[&Path]) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        for (index, _) in source.match_indices(".route(") {
            let call = &source[index + ".route(".len()..];
            // The call's arguments, up to its closing parenthesis.
            let mut depth = 1;
            let end = call
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(call.len(), |(at, _)| at);
            let call = &call[..end];
            let path = call
                .trim_start()
                .strip_prefix('"')
                .and_then(|rest| rest.split_once('"'))
                .map(|(path, _)| path.to_owned())
                .unwrap_or_else(|| {
                    panic!(
                        "{}: a route whose path is not a literal; this test cannot see it: {}",
                        file.display(),
                        &call[..call.len().min(80)]
                    )
                });
            let mut methods = 0;
            for method in ["get", "post", "put", "delete", "patch"] {
                for (at, _) in call.match_indices(&format!("{method}(")) {
                    let before = call[..at].chars().last().unwrap_or(' ');
                    if !before.is_alphanumeric() && before != '_' {
                        routes.insert((method.to_uppercase(), path.clone()));
                        methods += 1;
                    }
                }
            }
            assert!(methods > 0, "{}: no method found for route {path}", file.display());
        }
        // Swagger UI's page, mounted as a router of its own.
        for (index, _) in source.match_indices("SwaggerUi::new(\"") {
            let rest = &source[index + "SwaggerUi::new(\"".len()..];
            routes.insert(("GET".to_owned(), rest[..rest.find('"').unwrap()].to_owned()));
        }
    }
    routes
}

fn documented_operations(document: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

async fn document(app: &TestApp) -> Value {
    let response = app.http.get(format!("{}/openapi.json", app.url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.expect("the document is JSON")
}

#[tokio::test]
async fn openapi_document_lists_every_served_route() {
    let app = TestApp::start().await;
    let document = document(&app).await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("src/routes"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.push(root.join("src/openapi.rs"));
    files.push(root.join("../vbank-sandbox/src/lib.rs"));
    let files: Vec<&Path> = files.iter().map(|path| path.as_path()).collect();
    let served = routes_in_source(&files);
    assert!(served.len() >= 25, "the source scan found too few routes: {served:?}");
    let documented = documented_operations(&document);
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in /openapi.json (add a #[utoipa::path] and list it in openapi.rs): {undocumented:?}"
    );
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(unserved.is_empty(), "documented but not served: {unserved:?}");
}

#[tokio::test]
async fn every_documented_operation_is_answered_by_a_route() {
    let app = TestApp::start().await;
    let document = document(&app).await;
    for (method, path) in documented_operations(&document) {
        let concrete = path
            .replace("{pg_provider}", "tosspayments")
            .replace("{imp_uid}", "imp_000000000000")
            .replace("{merchant_uid}", "order-1")
            .replace("{status}", "paid")
            .replace("{id}", "1")
            .replace("{account_number}", "0000");
        assert!(
            !concrete.contains('{'),
            "a path parameter this test does not fill: {path}"
        );
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .request(method.clone(), &concrete)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_ne!(status, 405, "{method} {concrete}: method not allowed");
        assert!(
            !(status == 404 && body.contains("존재하지 않는 API")),
            "{method} {concrete} is documented but no route answers it"
        );
    }
}

#[tokio::test]
async fn openapi_document_is_openapi_3_1_with_resolvable_references_and_errors() {
    let app = TestApp::start().await;
    let document = document(&app).await;
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["info"]["title"].is_string() && document["info"]["version"].is_string());
    // Every $ref points at a component that exists.
    let text = document.to_string();
    for (index, _) in text.match_indices("\"$ref\":\"") {
        let rest = &text[index + "\"$ref\":\"".len()..];
        let reference = &rest[..rest.find('"').unwrap()];
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {reference}"));
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "dangling reference {reference}"
        );
    }
    // Every path parameter is declared, and every i'mport operation documents its errors.
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let declared: BTreeSet<&str> = operation["parameters"]
                .as_array()
                .map(|parameters| {
                    parameters
                        .iter()
                        .filter(|parameter| parameter["in"] == "path")
                        .map(|parameter| parameter["name"].as_str().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            for segment in path.split('/').filter(|segment| segment.starts_with('{')) {
                let name = segment.trim_matches(|c| c == '{' || c == '}');
                assert!(
                    declared.contains(name),
                    "{method} {path}: path parameter {name} undeclared"
                );
            }
            let responses = operation["responses"].as_object().expect("responses");
            assert!(!responses.is_empty(), "{method} {path} has no responses");
            if operation["tags"][0] == "i'mport" && !path.starts_with("/notifications") {
                for status in ["400", "500"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} does not document {status}"
                    );
                }
                if operation["security"].is_array() || path == "/users/getToken" {
                    assert!(responses.contains_key("401"), "{method} {path} does not document 401");
                }
            }
        }
    }
    // i'mport's field descriptions reach the document.
    let payment = &document["components"]["schemas"]["PaymentJson"]["properties"];
    assert!(payment["vbank_num"]["description"]
        .as_str()
        .unwrap()
        .contains("account"));
    assert!(payment["status"]["description"].as_str().unwrap().contains("ready"));
}

#[tokio::test]
async fn docs_serves_swagger_ui_from_the_server_itself() {
    let app = TestApp::start().await;
    let response = app.http.get(format!("{}/docs", app.url)).send().await.unwrap();
    assert_eq!(
        response.status(),
        200,
        "/docs redirects to /docs/, which serves the page"
    );
    assert_eq!(response.url().path(), "/docs/");
    let page = response.text().await.unwrap();
    assert!(page.contains("swagger-ui"), "{page}");
    // No asset comes from elsewhere: every script and stylesheet is under /docs/.
    assert!(
        !page.contains("https://"),
        "the page loads something from the network: {page}"
    );
    for asset in ["swagger-ui.css", "swagger-ui-bundle.js", "swagger-initializer.js"] {
        let response = app.http.get(format!("{}/docs/{asset}", app.url)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        let text = response.text().await.unwrap();
        assert!(text.len() > 100, "{asset} is empty");
        if asset == "swagger-initializer.js" {
            assert!(
                text.contains("/openapi.json"),
                "Swagger UI is not pointed at our document: {text}"
            );
        }
    }
}
