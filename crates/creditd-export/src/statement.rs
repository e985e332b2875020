//! A statement (`creditd_core::statement::Statement`) as a CSV or an Excel
//! file: one row per figure, in the order a statement is read (period,
//! opening balance, credits in by kind, credits out by kind, closing
//! balance). The CSV's amounts are the exact decimals; the workbook's are
//! number cells (display cells, as in the history export).

use creditd_core::Micros;
use creditd_core::statement::{Statement, StatementBalance, StatementLine};
use rust_xlsxwriter::{DocProperties, Format, Workbook};

use crate::ExportError;
use crate::num::micros_f64;

/// The statement file's columns.
pub const STATEMENT_HEADERS: [&str; 5] = ["section", "kind", "title", "credits", "events"];

/// One row: section, kind, title, credits, events.
type Row = (&'static str, String, String, Option<Micros>, Option<i64>);

fn rows(s: &Statement) -> Vec<Row> {
    let mut out: Vec<Row> =
        vec![("period", String::new(), format!("{} to {} ({})", s.date_from, s.date_to, s.time_zone), None, None)];
    let ends = |out: &mut Vec<Row>, section: &'static str, title: &str, b: &StatementBalance| {
        out.push((section, "balance".into(), title.to_string(), Some(b.balance), None));
        out.push((section, "available".into(), "of which available".into(), Some(b.available), None));
        out.push((section, "held".into(), "of which held".into(), Some(b.held), None));
    };
    let lines = |out: &mut Vec<Row>, section: &'static str, lines: &[StatementLine]| {
        for l in lines {
            out.push((section, l.kind.clone(), l.title.clone(), Some(l.amount), Some(l.count)));
        }
    };
    ends(&mut out, "opening", "Opening balance", &s.opening);
    lines(&mut out, "in", &s.credits_in);
    out.push(("total_in", String::new(), "Total in".into(), Some(s.total_in), None));
    lines(&mut out, "out", &s.credits_out);
    out.push(("total_out", String::new(), "Total out".into(), Some(s.total_out), None));
    ends(&mut out, "closing", "Closing balance", &s.closing);
    out
}

/// The statement as CSV (a header row, then one row per figure).
pub fn statement_csv(s: &Statement) -> Result<Vec<u8>, ExportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(STATEMENT_HEADERS)?;
    for (section, kind, title, amount, count) in rows(s) {
        w.write_record([
            section.to_string(),
            kind,
            crate::neutralise(&title).into_owned(),
            amount.map(|m| m.to_string()).unwrap_or_default(),
            count.map(|c| c.to_string()).unwrap_or_default(),
        ])?;
    }
    w.into_inner().map_err(|e| ExportError::Io(e.into_error()))
}

/// The statement as an Excel workbook of one sheet.
pub fn statement_xlsx(s: &Statement) -> Result<Vec<u8>, ExportError> {
    let mut workbook = Workbook::new();
    workbook.set_properties(
        &DocProperties::new()
            .set_title("Credit statement")
            .set_comment(format!("Days are local to {}. Amounts are in credits.", s.time_zone)),
    );
    let bold = Format::new().set_bold();
    let whole = Format::new().set_num_format("#,##0");
    let fraction = Format::new().set_num_format("#,##0.######");
    let sheet = workbook.add_worksheet();
    sheet.set_name("Statement")?;
    for (col, h) in STATEMENT_HEADERS.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *h, &bold)?;
    }
    for (i, (section, kind, title, amount, count)) in rows(s).into_iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_string(row, 0, section)?;
        sheet.write_string(row, 1, kind)?;
        sheet.write_string(row, 2, title)?;
        if let Some(m) = amount {
            let format = if m.micros() % 1_000_000 == 0 { &whole } else { &fraction };
            sheet.write_number_with_format(row, 3, micros_f64(m), format)?;
        }
        if let Some(c) = count {
            sheet.write_number(row, 4, c as f64)?;
        }
    }
    Ok(workbook.save_to_buffer()?)
}

/// The download's file name: `statement_acme_2026-03-01_2026-03-31.csv`.
pub fn statement_filename(s: &Statement, ext: &str) -> String {
    crate::filename(&s.org_id, s.date_from, s.date_to, ext).replacen("credit-history_", "statement_", 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use creditd_core::statement::StatementBuilder;
    use jiff::Timestamp;
    use jiff::civil::Date;

    #[test]
    fn csv_rows_read_like_a_statement() {
        let zero = StatementBalance::after(None).unwrap();
        let closing = StatementBalance {
            balance: Micros::from_micros(7_500_000),
            available: Micros::from_micros(5_500_000),
            held: Micros::from_micros(2_000_000),
            seq: 9,
        };
        let day = Date::constant(2026, 3, 1);
        let s = StatementBuilder::new()
            .finish(
                "acme",
                "UTC",
                (day, day),
                (Timestamp::UNIX_EPOCH, Timestamp::UNIX_EPOCH),
                zero,
                closing,
                Micros::ZERO,
                0,
            )
            .unwrap();
        let text = String::from_utf8(statement_csv(&s).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "section,kind,title,credits,events");
        assert_eq!(lines[1], "period,,2026-03-01 to 2026-03-01 (UTC),,");
        assert!(lines.contains(&"closing,held,of which held,2,"), "{text}");
        assert!(lines.contains(&"closing,balance,Closing balance,7.5,"), "{text}");
        assert!(!statement_xlsx(&s).unwrap().is_empty());
        assert_eq!(statement_filename(&s, "csv"), "statement_acme_2026-03-01_2026-03-01.csv");
    }
}
