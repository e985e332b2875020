//! Limits on what a caller may store: free text and free JSON (`metadata`).
//!
//! It exists because whatever the write path accepts, every read path must
//! read back, on both engines, after a restart. A value stored in a bigger
//! JSON document (a record body, an idempotency row's first answer, a
//! webhook message) sits a few levels deeper there than in the request, so
//! a depth the request parser allowed could exceed the reader's limit
//! (issue 14: a 126-deep array made an organisation unwritable). The bounds
//! here are far below every reader's, and [`STORED_JSON_MAX_DEPTH`] is what
//! readers of stored JSON allow, with room for the wrappers.
//!
//! Text rules are here, not in an engine, so that SQLite and PostgreSQL
//! accept the same requests: PostgreSQL refuses NUL in `TEXT`, so NUL is
//! refused in every text field on both (it is allowed inside metadata
//! strings, where JSON writes it escaped as `\u0000`).

use crate::error::{LedgerError, invalid};

/// Longest free text we keep in one field, in bytes of UTF-8.
pub const MAX_TEXT_LEN: usize = 1024;
/// Largest `metadata`, in bytes of its compact JSON.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// Deepest `metadata`: objects and arrays nested at most this many levels
/// (`{}` is depth 1, `{"a": [1]}` depth 2; scalars add none).
pub const MAX_METADATA_DEPTH: usize = 32;
/// Most object keys in one `metadata`, counted over every level.
pub const MAX_METADATA_KEYS: usize = 256;
/// Deepest JSON any reader of stored rows accepts. Everything creditd writes
/// nests metadata at most a few levels inside its own wrappers; releases
/// before the metadata bounds stored request JSON up to serde_json's default
/// limit of 128 levels, which this still reads.
pub const STORED_JSON_MAX_DEPTH: usize = 192;

/// Refuses text over [`MAX_TEXT_LEN`] bytes or containing NUL.
pub fn check_text(field: &str, value: &str) -> Result<(), LedgerError> {
    if value.len() > MAX_TEXT_LEN {
        return Err(invalid(format!("{field} is longer than {MAX_TEXT_LEN} bytes")));
    }
    check_no_nul(field, value)
}

/// Refuses text containing NUL (U+0000), which PostgreSQL cannot store.
pub fn check_no_nul(field: &str, value: &str) -> Result<(), LedgerError> {
    if value.contains('\0') {
        return Err(invalid(format!("{field} contains a NUL character (U+0000), which cannot be stored")));
    }
    Ok(())
}

/// Checks `metadata` against its size, depth and key-count bounds.
pub fn check_metadata(value: &serde_json::Value) -> Result<(), LedgerError> {
    let mut keys = 0usize;
    let depth = shape(value, 0, &mut keys)?;
    if depth > MAX_METADATA_DEPTH {
        return Err(invalid(format!("metadata nests {depth} levels deep; at most {MAX_METADATA_DEPTH} are allowed")));
    }
    if keys > MAX_METADATA_KEYS {
        return Err(invalid(format!("metadata has {keys} keys; at most {MAX_METADATA_KEYS} are allowed")));
    }
    let bytes = serde_json::to_string(value).map(|s| s.len()).unwrap_or(usize::MAX);
    if bytes > MAX_METADATA_BYTES {
        return Err(invalid(format!("metadata is {bytes} bytes as JSON; at most {MAX_METADATA_BYTES} are allowed")));
    }
    Ok(())
}

/// The nesting depth of `v` (containers only), counting keys on the way.
/// Stops early (with an error) past the depth bound, so the walk itself is
/// bounded whatever was parsed.
fn shape(v: &serde_json::Value, level: usize, keys: &mut usize) -> Result<usize, LedgerError> {
    use serde_json::Value;
    if level > MAX_METADATA_DEPTH {
        return Err(invalid(format!("metadata nests more than {MAX_METADATA_DEPTH} levels deep")));
    }
    Ok(match v {
        Value::Array(items) => {
            let mut d = level + 1;
            for item in items {
                d = d.max(shape(item, level + 1, keys)?);
            }
            d
        }
        Value::Object(map) => {
            *keys += map.len();
            let mut d = level + 1;
            for item in map.values() {
                d = d.max(shape(item, level + 1, keys)?);
            }
            d
        }
        _ => level,
    })
}

/// How deeply the JSON text nests (objects and arrays), reading only its
/// brackets and strings: a cheap check before a parser that would recurse.
pub fn json_depth(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Parses JSON that creditd stored itself (state rows, record bodies, first
/// answers). Allows [`STORED_JSON_MAX_DEPTH`] levels instead of
/// serde_json's 128, so that anything the write path accepted reads back.
pub fn parse_stored<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    let depth = json_depth(text);
    if depth > STORED_JSON_MAX_DEPTH {
        return Err(serde::de::Error::custom(format!(
            "stored JSON nests {depth} levels deep, past the {STORED_JSON_MAX_DEPTH} any reader allows"
        )));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    // Bounded by the scan above: recursion stays within a few hundred frames.
    de.disable_recursion_limit();
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(depth: usize) -> serde_json::Value {
        let mut v = json!(1);
        for _ in 0..depth {
            v = json!([v]);
        }
        v
    }

    #[test]
    fn depth_bound() {
        assert!(check_metadata(&nested(MAX_METADATA_DEPTH)).is_ok());
        let err = check_metadata(&nested(MAX_METADATA_DEPTH + 1)).unwrap_err();
        assert!(err.to_string().contains("levels deep"), "{err}");
        assert!(check_metadata(&nested(126)).is_err());
        assert!(check_metadata(&json!({})).is_ok());
        assert!(check_metadata(&json!("scalar")).is_ok());
    }

    #[test]
    fn key_and_size_bounds() {
        let many: serde_json::Map<String, serde_json::Value> =
            (0..=MAX_METADATA_KEYS).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(check_metadata(&serde_json::Value::Object(many)).unwrap_err().to_string().contains("keys"));
        let exact: serde_json::Map<String, serde_json::Value> =
            (0..MAX_METADATA_KEYS).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(check_metadata(&serde_json::Value::Object(exact)).is_ok());
        // Exactly the byte bound: a string whose JSON (with quotes) is 16 KiB.
        let s = "x".repeat(MAX_METADATA_BYTES - 2);
        assert!(check_metadata(&json!(s)).is_ok());
        let s = "x".repeat(MAX_METADATA_BYTES - 1);
        assert!(check_metadata(&json!(s)).unwrap_err().to_string().contains("bytes"));
    }

    #[test]
    fn text_rules() {
        assert!(check_text("description", "").is_ok());
        assert!(check_text("description", &"é".repeat(512)).is_ok());
        assert!(check_text("description", &"é".repeat(513)).is_err());
        assert!(check_text("description", "a\0b").unwrap_err().to_string().contains("NUL"));
    }

    #[test]
    fn stored_json_reads_past_serde_default_depth() {
        // What releases before the bounds could store: 126 deep inside a wrapper.
        let text = format!("{{\"m\":{}}}", serde_json::to_string(&nested(130)).unwrap());
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
        let v: serde_json::Value = parse_stored(&text).unwrap();
        assert_eq!(v["m"], nested(130));
        // Past the stored bound: an error, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_stored::<serde_json::Value>(&deep).unwrap_err().to_string().contains("levels deep"));
        // Brackets inside strings do not count.
        assert_eq!(json_depth(r#"{"a":"[[[[\"]]"}"#), 1);
    }
}
