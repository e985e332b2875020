//! The client's operation table against the API document: a route the
//! server documents that the client neither calls nor lists as not covered
//! fails here, as does an entry the document lacks or describes otherwise.

use std::collections::BTreeMap;

use creditd_client::operations::{NOT_COVERED, OPERATIONS};

/// (method, path, has an Idempotency-Key header) per operation id.
fn document() -> BTreeMap<String, (String, String, bool)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for (p, methods) in doc["paths"].as_object().unwrap() {
        for (m, op) in methods.as_object().unwrap() {
            let Some(id) = op.get("operationId").and_then(|v| v.as_str()) else { continue };
            let idempotent = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "header" && p["name"] == "Idempotency-Key"));
            let prev = out.insert(id.to_owned(), (m.to_uppercase(), p.clone(), idempotent));
            assert!(prev.is_none(), "operation id {id} twice in the document");
        }
    }
    out
}

#[test]
fn every_documented_operation_is_covered_or_listed() {
    let doc = document();
    let mut problems = Vec::new();
    for (id, (method, path, _)) in &doc {
        let covered = OPERATIONS.iter().any(|o| o.id == id);
        let listed = NOT_COVERED.iter().any(|(n, _)| n == id);
        match (covered, listed) {
            (false, false) => problems.push(format!("{method} {path} ({id}) is not in the client")),
            (true, true) => problems.push(format!("{id} is both covered and listed as not covered")),
            _ => {}
        }
    }
    for (id, _) in NOT_COVERED {
        if !doc.contains_key(*id) {
            problems.push(format!("{id} is listed as not covered but the document has no such operation"));
        }
    }
    assert!(problems.is_empty(), "the client and openapi.json differ:\n{}", problems.join("\n"));
}

#[test]
fn every_client_operation_matches_the_document() {
    let doc = document();
    let mut problems = Vec::new();
    for op in OPERATIONS {
        match doc.get(op.id) {
            None => problems.push(format!("{} is not in the document", op.id)),
            Some((method, path, idempotent)) => {
                if (method.as_str(), path.as_str()) != (op.method.as_str(), op.path) {
                    problems.push(format!(
                        "{}: client {} {}, document {method} {path}",
                        op.id,
                        op.method.as_str(),
                        op.path
                    ));
                }
                if *idempotent != op.idempotent {
                    problems.push(format!("{}: client idempotent={}, document {idempotent}", op.id, op.idempotent));
                }
            }
        }
    }
    let mut ids: Vec<_> = OPERATIONS.iter().map(|o| o.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), OPERATIONS.len(), "an operation listed twice");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The live tests' answer checker catches an answer that drifted.
#[test]
fn the_answer_checker_catches_drift() {
    use creditd_client::operations::GET_BALANCE;
    use creditd_client::transport::Answer;

    use crate::common::check_against_document;
    let good = br#"{"org_id": "a", "available": 1, "held": 0, "overdraft_used": 0, "overdraft_limit": 0,
        "pools": {"plan": 0, "prepaid": 0, "voucher": 0, "promotional": 1}, "period_start": null,
        "period_end": null, "period_usage": 0, "seq": 1, "caps": []}"#;
    let answer = |status, content_type, body| Answer { operation: &GET_BALANCE, status, content_type, body };
    check_against_document(&answer(200, "application/json", good)).unwrap();
    let error = br#"{"error": {"code": "not_found", "message": "no org"}}"#;
    check_against_document(&answer(404, "application/json", error)).unwrap();
    let bad = String::from_utf8_lossy(good).replace(r#""seq": 1"#, r#""seq": "1""#);
    assert!(check_against_document(&answer(200, "application/json", bad.as_bytes())).is_err());
    assert!(check_against_document(&answer(200, "text/html", good)).is_err());
    assert!(check_against_document(&answer(404, "application/json", good)).is_err(), "not the error shape");
    assert!(check_against_document(&answer(302, "application/json", good)).is_err(), "an undocumented status");
}
