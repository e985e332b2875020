//! Number-to-text without allocating.
//!
//! `Micros`' `Display` is the definition of an amount's text, but it builds a
//! `String` for the decimals; an export writes millions of amounts, so these
//! write the same bytes into a stack buffer instead. The integration tests
//! compare the two.

use creditd_core::Micros;

/// Large enough for `-9223372036854.775808` and for any `u64`.
pub(crate) type NumBuf = [u8; 24];

/// Writes `n`'s digits right-aligned ending at `end`; returns the start.
fn digits_back(buf: &mut NumBuf, mut end: usize, mut n: u64) -> usize {
    loop {
        end -= 1;
        buf[end] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return end;
        }
    }
}

pub(crate) fn fmt_u64(buf: &mut NumBuf, n: u64) -> &[u8] {
    let start = digits_back(buf, buf.len(), n);
    &buf[start..]
}

/// The same text as `Micros`' `Display`: `12`, `-12.5`, `0.000001`.
pub(crate) fn fmt_micros(buf: &mut NumBuf, m: Micros) -> &[u8] {
    let v = m.micros();
    // unsigned_abs so i64::MIN works too.
    let abs = v.unsigned_abs();
    let whole = abs / 1_000_000;
    let mut frac = abs % 1_000_000;
    let mut pos = buf.len();
    if frac != 0 {
        let mut width = 6;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        // Zero-padded to `width` digits: 0.000001 keeps its five zeros.
        for _ in 0..width {
            pos -= 1;
            buf[pos] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        pos -= 1;
        buf[pos] = b'.';
    }
    pos = digits_back(buf, pos, whole);
    if v < 0 {
        pos -= 1;
        buf[pos] = b'-';
    }
    &buf[pos..]
}

/// An amount as Excel's number: credits as the nearest `f64`. Dividing two
/// exactly representable values rounds once, so every amount below 2^53
/// micro-credits (9 billion credits) becomes the double nearest its decimal.
pub(crate) fn micros_f64(m: Micros) -> f64 {
    m.micros() as f64 / 1_000_000.0
}
