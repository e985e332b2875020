//! Buy more: the amounts an organisation is offered and the checkout URL
//! template it is sent to, as values (a leaf: no state, no rule file).
//!
//! It exists so that the settings check ([`crate::OrgSettings::validate`])
//! and the server, which fills the template after the purchase exists, read
//! one definition of a valid template and of how it is filled.
//!
//! A template is an `https://` URL with placeholders in braces:
//! `{purchase_id}` and `{signature}` are required, `{amount}` and
//! `{org_id}` are allowed; nothing else may stand in braces. The filled
//! values are the purchase id (`pur_<seq>`), the exact decimal amount, the
//! organisation id (all made of URL-safe characters) and the signature the
//! server computes (lower-case hex).

use crate::error::{LedgerError, invalid};
use crate::money::Micros;

/// Most amounts an organisation may be offered.
pub const MAX_BUY_MORE_AMOUNTS: usize = 10;
/// Longest checkout URL template, in bytes.
pub const MAX_TEMPLATE_LEN: usize = 2048;
/// The placeholders a template may hold.
pub const PLACEHOLDERS: [&str; 4] = ["purchase_id", "signature", "amount", "org_id"];
/// The placeholders a template must hold.
pub const REQUIRED_PLACEHOLDERS: [&str; 2] = ["purchase_id", "signature"];

/// Checks the amounts offered: at most [`MAX_BUY_MORE_AMOUNTS`], each
/// positive, none twice. An empty list offers nothing (Buy more is not
/// shown).
pub fn check_amounts(amounts: &[Micros]) -> Result<(), LedgerError> {
    if amounts.len() > MAX_BUY_MORE_AMOUNTS {
        return Err(invalid(format!("buy_more_amounts offers at most {MAX_BUY_MORE_AMOUNTS} amounts")));
    }
    for (i, a) in amounts.iter().enumerate() {
        if !a.is_positive() {
            return Err(invalid(format!("buy_more_amounts: {a} is not a positive amount")));
        }
        if amounts[..i].contains(a) {
            return Err(invalid(format!("buy_more_amounts: {a} is offered twice")));
        }
    }
    Ok(())
}

/// The placeholder names in `template`, in order, or why its braces do not
/// pair up.
fn placeholders(template: &str) -> Result<Vec<&str>, LedgerError> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err(invalid("checkout_url_template has a '}' without its '{'"));
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| invalid("checkout_url_template has a '{' without its '}'"))?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(invalid(format!(
                "checkout_url_template: unknown placeholder {{{name}}}; use {}",
                PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
            )));
        }
        out.push(name);
        rest = &after[close + 1..];
    }
    Ok(out)
}

/// Checks a checkout URL template: an `https://` URL with a host, at most
/// [`MAX_TEMPLATE_LEN`] bytes, no spaces or control characters, only the
/// known placeholders and both required ones.
pub fn check_template(template: &str) -> Result<(), LedgerError> {
    if template.len() > MAX_TEMPLATE_LEN {
        return Err(invalid(format!("checkout_url_template is longer than {MAX_TEMPLATE_LEN} bytes")));
    }
    let Some(rest) = template.strip_prefix("https://") else {
        return Err(invalid("checkout_url_template must be an https:// URL"));
    };
    if template.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("checkout_url_template must not contain spaces or control characters"));
    }
    if !template.is_ascii() {
        return Err(invalid("checkout_url_template must be ASCII (percent-encode other characters)"));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains(['{', '}', '@']) {
        return Err(invalid("checkout_url_template must name its host plainly (https://pay.example.com/...)"));
    }
    let found = placeholders(template)?;
    for p in REQUIRED_PLACEHOLDERS {
        if !found.contains(&p) {
            return Err(invalid(format!("checkout_url_template must contain {{{p}}}")));
        }
    }
    Ok(())
}

/// What a purchase's checkout URL is filled with.
#[derive(Clone, Copy, Debug)]
pub struct CheckoutValues<'a> {
    /// The organisation.
    pub org_id: &'a str,
    /// The processing purchase (`pur_<seq>`).
    pub purchase_id: &'a str,
    /// Its amount.
    pub amount: Micros,
    /// The signature (lower-case hex).
    pub signature: &'a str,
}

/// The message the checkout signature is computed over:
/// `<org_id>.<purchase_id>.<amount>` (the amount as an exact decimal,
/// `100` or `12.5`).
pub fn signed_message(org_id: &str, purchase_id: &str, amount: Micros) -> String {
    format!("{org_id}.{purchase_id}.{amount}")
}

/// `template` (checked by [`check_template`]) with each placeholder
/// replaced by its value.
pub fn fill(template: &str, v: CheckoutValues<'_>) -> String {
    let amount = v.amount.to_string();
    let mut out = String::with_capacity(template.len() + 80);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        match &after[..close] {
            "purchase_id" => out.push_str(v.purchase_id),
            "signature" => out.push_str(v.signature),
            "amount" => out.push_str(&amount),
            "org_id" => out.push_str(v.org_id),
            other => {
                out.push('{');
                out.push_str(other);
                out.push('}');
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Micros {
        s.parse().unwrap()
    }

    #[test]
    fn templates() {
        let ok = "https://pay.example.com/checkout?purchase={purchase_id}&amount={amount}&sig={signature}";
        check_template(ok).unwrap();
        for (bad, why) in [
            ("http://pay.example.com/{purchase_id}/{signature}", "https://"),
            ("pay.example.com/{purchase_id}/{signature}", "https://"),
            ("https:///{purchase_id}/{signature}", "host"),
            ("https://{org_id}.example.com/{purchase_id}/{signature}", "host"),
            ("https://pay.example.com/{purchase_id}", "{signature}"),
            ("https://pay.example.com/{signature}", "{purchase_id}"),
            ("https://pay.example.com/{purchase_id}/{signature}/{secret}", "unknown placeholder"),
            ("https://pay.example.com/{purchase_id}/{signature", "without its '}'"),
            ("https://pay.example.com/}{purchase_id}/{signature}", "without its '{'"),
            ("https://pay.example.com/a b/{purchase_id}/{signature}", "spaces"),
            ("https://pay.example.com/caf\u{e9}/{purchase_id}/{signature}", "ASCII"),
        ] {
            let e = check_template(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let long = format!("https://pay.example.com/{{purchase_id}}/{{signature}}/{}", "a".repeat(MAX_TEMPLATE_LEN));
        assert!(check_template(&long).is_err());
    }

    #[test]
    fn filling() {
        let t = "https://pay.example.com/c/{org_id}/{purchase_id}?a={amount}&s={signature}";
        let v = CheckoutValues { org_id: "acme", purchase_id: "pur_7", amount: m("12.5"), signature: "ab01" };
        assert_eq!(fill(t, v), "https://pay.example.com/c/acme/pur_7?a=12.5&s=ab01");
        assert_eq!(signed_message("acme", "pur_7", m("100")), "acme.pur_7.100");
    }

    #[test]
    fn amounts() {
        check_amounts(&[]).unwrap();
        check_amounts(&[m("10"), m("0.5")]).unwrap();
        assert!(check_amounts(&[m("0")]).is_err());
        assert!(check_amounts(&[m("-1")]).is_err());
        assert!(check_amounts(&[m("5"), m("5")]).is_err());
        let many: Vec<Micros> = (1..=11).map(|i| m(&i.to_string())).collect();
        assert!(check_amounts(&many[..10]).is_ok());
        assert!(check_amounts(&many).is_err());
    }
}
