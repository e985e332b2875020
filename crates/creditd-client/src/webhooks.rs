//! Checking a webhook message creditd sent: the scheme of the server's
//! `webhooks.rs`.
//!
//! Each delivery is a POST with the headers `Creditd-Webhook-Id` (the
//! message id; deliveries are at least once, so deduplicate by it) and
//! `Creditd-Signature: t=<unix seconds>,v1=<hex>`, where the hex is the
//! HMAC-SHA256, under the endpoint's secret (`whsec_…`), of
//! `"<id>.<t>.<raw body>"`. A message is genuine when one `v1` matches (in
//! constant time) and `t` is within the tolerance of now, which bounds
//! replays. Check the raw body bytes, before any JSON parsing.

use hmac::{Hmac, KeyInit, Mac};
use sha2_hmac::Sha256;

use crate::error::Error;

/// The header with the message id.
pub const ID_HEADER: &str = "creditd-webhook-id";
/// The header with the signature.
pub const SIGNATURE_HEADER: &str = "creditd-signature";
/// The header with the message type (`credit_event`, `low_balance`, …).
pub const TYPE_HEADER: &str = "creditd-webhook-type";
/// The default tolerance between the signature's time and now, seconds.
pub const DEFAULT_TOLERANCE_S: i64 = 300;

/// Checks a message against its endpoint's `secret` at `now_unix` (seconds)
/// and returns its JSON body. `signature` is the `Creditd-Signature`
/// header, `message_id` the `Creditd-Webhook-Id` header.
pub fn verify_at(
    secret: &str,
    signature: &str,
    message_id: &str,
    body: &[u8],
    now_unix: i64,
    tolerance_s: i64,
) -> Result<serde_json::Value, Error> {
    if message_id.is_empty() {
        return Err(Error::Webhook("missing Creditd-Webhook-Id".into()));
    }
    let mut t = None;
    let mut sigs = Vec::new();
    for part in signature.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => {
                t = Some(v.parse::<i64>().map_err(|_| Error::Webhook(format!("bad timestamp {v:?}")))?);
            }
            Some(("v1", v)) => sigs.push(v),
            _ => {}
        }
    }
    let (Some(t), false) = (t, sigs.is_empty()) else {
        return Err(Error::Webhook("Creditd-Signature lacks t= or v1=".into()));
    };
    if now_unix.abs_diff(t) > tolerance_s.unsigned_abs() {
        return Err(Error::Webhook(format!("timestamp {t} is more than {tolerance_s} s from now ({now_unix})")));
    }
    let good = sigs.iter().any(|s| {
        let Ok(given) = hex::decode(s) else { return false };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
        mac.update(message_id.as_bytes());
        mac.update(format!(".{t}.").as_bytes());
        mac.update(body);
        mac.verify_slice(&given).is_ok()
    });
    if !good {
        return Err(Error::Webhook("signature does not match".into()));
    }
    serde_json::from_slice(body).map_err(|e| Error::Webhook(format!("the body is not JSON: {e}")))
}

/// [`verify_at`] now, with [`DEFAULT_TOLERANCE_S`].
pub fn verify(secret: &str, signature: &str, message_id: &str, body: &[u8]) -> Result<serde_json::Value, Error> {
    verify_at(secret, signature, message_id, body, jiff::Timestamp::now().as_second(), DEFAULT_TOLERANCE_S)
}

/// The `Creditd-Signature` header creditd would send for a message: for a
/// receiver's own tests.
pub fn sign(secret: &str, message_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(message_id.as_bytes());
    mac.update(format!(".{timestamp}.").as_bytes());
    mac.update(body);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}
