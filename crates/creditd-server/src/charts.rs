//! Hand-made SVG charts for the dashboard: the geometry of bar, line and
//! pie charts, computed here and drawn by the templates.
//!
//! Values arrive exact (`Micros`, counts) and are shown exact: every mark
//! carries its exact value as text (`value`) for its tooltip, its label and
//! the page's data attributes. Floats are used only for pixel positions.

use creditd_core::Micros;
use creditd_core::locale::Locale;

/// Colours for series and slices: the Okabe–Ito palette (told apart with
/// the common colour-vision deficiencies), each darkened where needed so a
/// slice keeps 3:1 contrast against the white page.
pub const PALETTE: [&str; 8] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7A6A00", "#555555"];

/// Formats an exact amount for people: thousands grouped with commas, the
/// decimals `Micros` shows (`14,931.25`).
pub fn credits(m: Micros) -> String {
    let s = m.to_string();
    let (sign, body) = match s.strip_prefix('-') {
        Some(b) => ("-", b),
        None => ("", s.as_str()),
    };
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (body, None),
    };
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// An amount rounded for people to `decimals` (0–6) places, half away from
/// zero (`206.297872` to one place is `206.3`, `-0.25` to one is `-0.3`),
/// then formatted as [`credits`]. Exact amounts stay exact elsewhere; this
/// is for averages and other derived figures.
pub fn rounded(m: Micros, decimals: u32) -> String {
    let step = 10i64.pow(6 - decimals.min(6));
    let v = m.micros();
    let half = step / 2;
    let q = if v >= 0 { v.saturating_add(half) / step } else { v.saturating_sub(half) / step };
    credits(Micros::from_micros(q.saturating_mul(step)))
}

/// A whole number with thousands grouped.
pub fn count(n: i64) -> String {
    credits(Micros::from_micros(n.saturating_mul(1_000_000)))
}

/// An amount rounded to whole credits for axis labels (`10k`, `2.5k`).
pub fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1_000_000.0 {
        trim(format!("{:.1}", v / 1_000_000.0)) + "M"
    } else if a >= 1_000.0 {
        trim(format!("{:.1}", v / 1_000.0)) + "k"
    } else if a >= 10.0 || a == 0.0 {
        format!("{v:.0}")
    } else {
        trim(format!("{v:.1}"))
    }
}

fn trim(s: String) -> String {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

fn as_f64(m: Micros) -> f64 {
    m.micros() as f64 / 1_000_000.0
}

/// A "nice" axis: a step of 1, 2 or 5 × 10ⁿ so that about `ticks` steps
/// cover `max`. Returns (step, top).
pub fn nice_axis(max: f64, ticks: usize) -> (f64, f64) {
    if max <= 0.0 || !max.is_finite() {
        return (1.0, ticks.max(1) as f64);
    }
    let raw = max / ticks.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let top = (max / step).ceil() * step;
    (step, top)
}

/// A point on an axis with its label.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub pos: f64,
    pub label: String,
}

/// One bar (or point) of a time chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    /// Centre of the bar's top, for a line chart's point.
    pub cx: f64,
    pub key: String,
    /// The exact value, machine-readable (`12.5`, `3`).
    pub value: String,
    /// What the tooltip and screen readers say.
    pub title: String,
    /// A day still to come: drawn empty, with no value.
    pub future: bool,
}

/// A time chart: bars or a line over days.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeChart {
    pub width: f64,
    pub height: f64,
    /// The plot area.
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    pub bars: Vec<Bar>,
    pub y_ticks: Vec<Tick>,
    pub x_ticks: Vec<Tick>,
    /// The line through the points (`M x y L …`), for a line chart.
    pub line: String,
    /// The area under the line, closed along the x axis.
    pub area: String,
    pub empty: bool,
    /// A level drawn across the plot (the plan's allocation under the
    /// cumulative use), when given.
    pub limit: Option<Limit>,
}

/// A level across a time chart: its height, its exact value and its label.
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    pub pos: f64,
    /// Where its label sits: above the level, or under it when the level
    /// is the top of the plot.
    pub label_y: f64,
    pub value: String,
    pub label: String,
}

/// One point of a time series: its day (`YYYY-MM-DD`), value, exact text
/// and tooltip.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub key: String,
    /// The key for people: a day as the locale writes it, else the key.
    pub label: String,
    pub value: f64,
    pub exact: String,
    pub title: String,
    /// A day still to come (after today in the org's zone).
    pub future: bool,
}

/// A key for people: a `YYYY-MM-DD` day as `loc` writes it, else as is.
fn key_text(key: &str, loc: Locale) -> String {
    match key.parse::<jiff::civil::Date>() {
        Ok(d) if key.len() == 10 => loc.date(d),
        _ => key.to_string(),
    }
}

impl Point {
    pub fn credits(key: String, m: Micros, ops: i64) -> Point {
        Point::credits_in(Locale::EnUs, key, m, ops)
    }

    /// Credits used on `key` and its operations, written as `loc` writes them.
    pub fn credits_in(loc: Locale, key: String, m: Micros, ops: i64) -> Point {
        let label = key_text(&key, loc);
        let title = format!("{label}: {} credits, {} operations", loc.number(m), loc.count(ops));
        Point { key, label, value: as_f64(m), exact: m.to_string(), title, future: false }
    }

    pub fn count(key: String, n: u64, what: &str) -> Point {
        Point::count_in(Locale::EnUs, key, n, what)
    }

    /// A count on `key`, written as `loc` writes it.
    pub fn count_in(loc: Locale, key: String, n: u64, what: &str) -> Point {
        let label = key_text(&key, loc);
        let title = format!("{label}: {} {what}", loc.count(n.min(i64::MAX as u64) as i64));
        Point { key, label, value: n as f64, exact: n.to_string(), title, future: false }
    }

    /// Marks the point a day still to come when its day is after `today`:
    /// it has no value yet (not zero).
    pub fn after(mut self, today: jiff::civil::Date) -> Point {
        if self.key.parse::<jiff::civil::Date>().is_ok_and(|d| d > today) {
            self.future = true;
            self.value = 0.0;
            self.exact = String::new();
            self.title = format!("{}: still to come", self.label);
        }
        self
    }
}

/// Short day label: `Mar 2` (`2 mar` in es-ES) for a `YYYY-MM-DD` key.
fn day_label(key: &str, loc: Locale) -> String {
    match key.parse::<jiff::civil::Date>() {
        Ok(d) => loc.short_day(d),
        Err(_) => key.to_string(),
    }
}

/// Lays out `points` in a `width × height` chart.
pub fn time_chart(points: &[Point], width: f64, height: f64, loc: Locale) -> TimeChart {
    time_chart_with_limit(points, None, width, height, loc)
}

/// [`time_chart`] with a level drawn across it (`limit`: its exact amount
/// and label); the axis reaches the level when it is above every point.
pub fn time_chart_with_limit(
    points: &[Point],
    limit: Option<(Micros, String)>,
    width: f64,
    height: f64,
    loc: Locale,
) -> TimeChart {
    let (left, right, top, bottom) = (48.0, width - 8.0, 10.0, height - 26.0);
    let max = points.iter().map(|p| p.value).fold(0.0, f64::max);
    let empty = max <= 0.0;
    let limit_value = limit.as_ref().map_or(0.0, |(m, _)| as_f64(*m).max(0.0));
    let (step, top_value) = nice_axis(max.max(limit_value), 4);
    let plot_h = bottom - top;
    let plot_w = (right - left).max(1.0);
    let n = points.len().max(1) as f64;
    let slot = plot_w / n;
    let gap = if slot > 6.0 { slot * 0.2 } else { 0.0 };
    let scale = |v: f64| bottom - (v / top_value) * plot_h;
    let mut bars = Vec::with_capacity(points.len());
    for (i, p) in points.iter().enumerate() {
        let x = left + slot * i as f64 + gap / 2.0;
        let w = (slot - gap).max(1.0);
        let y = scale(p.value.max(0.0));
        // A zero still gets a hairline so a keyboard focus ring has a
        // target; a day still to come gets nothing.
        let h = if p.future { 0.0 } else { (bottom - y).max(1.0) };
        bars.push(Bar {
            x: r(x),
            y: r(bottom - h),
            w: r(w),
            h: r(h),
            cx: r(x + w / 2.0),
            key: p.key.clone(),
            value: p.exact.clone(),
            title: p.title.clone(),
            future: p.future,
        });
    }
    let y_ticks = y_axis(top_value, step, scale);
    let x_ticks = day_axis(bars.iter().map(|b| (b.cx, b.key.as_str())), loc);
    // The line stops at the last day that has happened.
    let mut line = String::new();
    let past: Vec<&Bar> = bars.iter().filter(|b| !b.future).collect();
    for (i, (b, p)) in bars.iter().zip(points).filter(|(b, _)| !b.future).enumerate() {
        let y = r(scale(p.value.max(0.0)));
        line.push_str(&format!("{}{} {}", if i == 0 { "M" } else { " L" }, b.cx, y));
    }
    let area = match (past.first(), past.last()) {
        (Some(f), Some(l)) => format!("{line} L {} {} L {} {} Z", l.cx, r(bottom), f.cx, r(bottom)),
        _ => String::new(),
    };
    let limit = limit.map(|(m, label)| {
        let pos = r(scale(as_f64(m).max(0.0)));
        let label_y = if pos - top < 24.0 { r(pos + 22.0) } else { r(pos - 8.0) };
        Limit { pos, label_y, value: m.to_string(), label }
    });
    TimeChart { width, height, left, right, top, bottom: r(bottom), bars, y_ticks, x_ticks, line, area, empty, limit }
}

/// The change from `before` to `now` in percent of `before`, to one
/// decimal, rounded half away from zero, with its sign (`+12.5%`,
/// `-3.0%`, `0.0%`); `None` when `before` is not positive (no base to
/// compare with). Exact: integer arithmetic on micro-credits.
pub fn percent_change(now: Micros, before: Micros) -> Option<String> {
    let (n, b) = (i128::from(now.micros()), i128::from(before.micros()));
    if b <= 0 {
        return None;
    }
    // Tenths of a percent: (n - b) / b × 1000, rounded half away from zero.
    let num = (n - b) * 1000;
    let tenths = if num >= 0 { (num * 2 + b) / (2 * b) } else { -((-num * 2 + b) / (2 * b)) };
    let sign = match tenths.signum() {
        1 => "+",
        -1 => "-",
        _ => "",
    };
    let a = tenths.unsigned_abs();
    Some(format!("{sign}{}.{}%", count(i64::try_from(a / 10).unwrap_or(i64::MAX)), a % 10))
}

/// One series of a stacked chart (an action, or "Other").
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub key: String,
    pub label: String,
    pub color: &'static str,
    /// Its total over the chart, exact and formatted.
    pub value: String,
    pub shown: String,
}

/// One series' part of a day's bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub y: f64,
    pub h: f64,
    pub series: String,
    pub color: &'static str,
    /// The exact amount.
    pub value: String,
}

/// One day's stacked bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Stack {
    pub x: f64,
    pub w: f64,
    pub key: String,
    /// The day's total, exact.
    pub value: String,
    /// The day and each series' amount, in words.
    pub title: String,
    pub future: bool,
    pub segments: Vec<Segment>,
}

/// Bars by day, each stacked by series (seed 004's usage by action over
/// time).
#[derive(Clone, Debug, PartialEq)]
pub struct StackChart {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    pub stacks: Vec<Stack>,
    pub series: Vec<Series>,
    pub y_ticks: Vec<Tick>,
    pub x_ticks: Vec<Tick>,
    pub empty: bool,
}

/// One day of a stacked chart: its `YYYY-MM-DD` key, whether it is still
/// to come, and each series' amount (in the order of the series).
#[derive(Clone, Debug, PartialEq)]
pub struct StackDay {
    pub key: String,
    pub future: bool,
    pub amounts: Vec<Micros>,
}

/// Lays out `days` stacked by `series` (`(key, label)`, in drawing order
/// from the axis up) in a `width × height` chart. A negative amount (more
/// refunded than used that day) is drawn as nothing and told exactly.
pub fn stacked_chart(
    days: &[StackDay],
    series: &[(String, String)],
    width: f64,
    height: f64,
    loc: Locale,
) -> StackChart {
    let (left, right, top, bottom) = (48.0, width - 8.0, 10.0, height - 26.0);
    let day_total = |d: &StackDay| d.amounts.iter().map(|m| as_f64(*m).max(0.0)).sum::<f64>();
    let max = days.iter().filter(|d| !d.future).map(day_total).fold(0.0, f64::max);
    let empty = max <= 0.0;
    let (step, top_value) = nice_axis(max, 4);
    let plot_h = bottom - top;
    let plot_w = (right - left).max(1.0);
    let slot = plot_w / days.len().max(1) as f64;
    let gap = if slot > 6.0 { slot * 0.2 } else { 0.0 };
    let scale = |v: f64| bottom - (v / top_value) * plot_h;
    let mut totals = vec![Micros::ZERO; series.len()];
    let mut stacks = Vec::with_capacity(days.len());
    for (i, d) in days.iter().enumerate() {
        let x = left + slot * i as f64 + gap / 2.0;
        let w = (slot - gap).max(1.0);
        let mut segments = Vec::new();
        let mut sum = Micros::ZERO;
        let mut parts = Vec::new();
        let mut base = 0.0;
        for (j, ((key, label), m)) in series.iter().zip(&d.amounts).enumerate() {
            if d.future || m.is_zero() {
                continue;
            }
            sum = sum.checked_add(*m).unwrap_or(sum);
            totals[j] = totals[j].checked_add(*m).unwrap_or(totals[j]);
            parts.push(format!("{label} {}", loc.number(*m)));
            let v = as_f64(*m).max(0.0);
            let (y0, y1) = (scale(base), scale(base + v));
            base += v;
            segments.push(Segment {
                y: r(y1),
                h: r((y0 - y1).max(0.0)),
                series: key.clone(),
                color: PALETTE[j % PALETTE.len()],
                value: m.to_string(),
            });
        }
        let day = key_text(&d.key, loc);
        let title = if d.future {
            format!("{day}: still to come")
        } else if parts.is_empty() {
            format!("{day}: 0 credits")
        } else {
            format!("{day}: {} credits ({})", loc.number(sum), parts.join(", "))
        };
        stacks.push(Stack {
            x: r(x),
            w: r(w),
            key: d.key.clone(),
            value: if d.future { String::new() } else { sum.to_string() },
            title,
            future: d.future,
            segments,
        });
    }
    let y_ticks = y_axis(top_value, step, scale);
    let x_ticks = day_axis(stacks.iter().map(|s| (r(s.x + s.w / 2.0), s.key.as_str())), loc);
    let series = series
        .iter()
        .zip(&totals)
        .enumerate()
        .map(|(j, ((key, label), t))| Series {
            key: key.clone(),
            label: label.clone(),
            color: PALETTE[j % PALETTE.len()],
            value: t.to_string(),
            shown: loc.number(*t),
        })
        .collect();
    StackChart { width, height, left, right, top, bottom: r(bottom), stacks, series, y_ticks, x_ticks, empty }
}

fn r(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// One row of a horizontal bar list (usage by action, user, project).
#[derive(Clone, Debug, PartialEq)]
pub struct HBar {
    pub key: String,
    pub label: String,
    /// A second line: a user's email, a project's id.
    pub detail: String,
    pub value: String,
    pub shown: String,
    pub operations: String,
    /// Bar length in percent of the largest row (0–100).
    pub pct: f64,
    /// Share of the total, for the text (`42.1%`).
    pub share: String,
    pub title: String,
}

/// Rows `(key, label, detail, amount, operations)`, largest first, into
/// bars scaled to the largest; shares of `total`.
pub fn hbars(rows: &[(String, String, String, Micros, i64)], total: Micros, loc: Locale) -> Vec<HBar> {
    let max = rows.iter().map(|r| as_f64(r.3)).fold(0.0, f64::max);
    let total_f = as_f64(total);
    rows.iter()
        .map(|(key, label, detail, amount, ops)| {
            let v = as_f64(*amount);
            let pct = if max > 0.0 { (v.max(0.0) / max * 100.0).clamp(0.0, 100.0) } else { 0.0 };
            let share =
                if total_f > 0.0 { loc.percent(&format!("{:.1}", v / total_f * 100.0)) } else { "—".to_string() };
            HBar {
                key: key.clone(),
                label: label.clone(),
                detail: detail.clone(),
                value: amount.to_string(),
                shown: loc.number(*amount),
                operations: loc.count(*ops),
                pct: r(pct),
                share: share.clone(),
                title: format!("{label}: {} credits ({share}), {} operations", loc.number(*amount), loc.count(*ops)),
            }
        })
        .collect()
}

/// One slice of a pie.
#[derive(Clone, Debug, PartialEq)]
pub struct Slice {
    pub key: String,
    pub label: String,
    pub value: String,
    pub share: String,
    pub color: &'static str,
    /// The slice's path; empty when it is the whole pie (see `full`).
    pub path: String,
    pub full: bool,
    pub title: String,
}

/// A pie of `(key, label, count)` in a circle of radius 90 centred at
/// (100, 100); past seven slices the rest are summed into "Other".
pub fn pie(rows: &[(String, String, u64)], what: &str, loc: Locale) -> Vec<Slice> {
    let mut rows: Vec<(String, String, u64)> = rows.iter().filter(|r| r.2 > 0).cloned().collect();
    if rows.len() > 8 {
        let rest: u64 = rows[7..].iter().map(|r| r.2).sum();
        rows.truncate(7);
        rows.push(("".into(), format!("Other ({})", rows.len()), rest));
    }
    let total: u64 = rows.iter().map(|r| r.2).sum();
    let (cx, cy, rad) = (100.0f64, 100.0f64, 90.0f64);
    let mut angle = -std::f64::consts::FRAC_PI_2;
    let mut out = Vec::with_capacity(rows.len());
    for (i, (key, label, n)) in rows.iter().enumerate() {
        let frac = if total > 0 { *n as f64 / total as f64 } else { 0.0 };
        let sweep = frac * std::f64::consts::TAU;
        let (x1, y1) = (cx + rad * angle.cos(), cy + rad * angle.sin());
        let end = angle + sweep;
        let (x2, y2) = (cx + rad * end.cos(), cy + rad * end.sin());
        let large = if sweep > std::f64::consts::PI { 1 } else { 0 };
        let full = rows.len() == 1;
        let path = if full {
            String::new()
        } else {
            format!("M {cx} {cy} L {} {} A {rad} {rad} 0 {large} 1 {} {} Z", r(x1), r(y1), r(x2), r(y2))
        };
        let share = loc.percent(&format!("{:.1}", frac * 100.0));
        out.push(Slice {
            key: key.clone(),
            label: label.clone(),
            value: n.to_string(),
            share: share.clone(),
            color: PALETTE[i % PALETTE.len()],
            path,
            full,
            title: format!("{label}: {} {what} ({share})", loc.count(*n as i64)),
        });
        angle = end;
    }
    out
}

/// The value axis: a tick every `step` from 0 to `top_value`, placed by
/// `scale` (value to y).
fn y_axis(top_value: f64, step: f64, scale: impl Fn(f64) -> f64) -> Vec<Tick> {
    let mut ticks = Vec::new();
    let mut v = 0.0;
    while v <= top_value + step / 2.0 {
        ticks.push(Tick { pos: r(scale(v)), label: short(v) });
        v += step;
    }
    ticks
}

/// The day axis under `marks` (x, day key): about six labels, never
/// overlapping.
fn day_axis<'k>(marks: impl ExactSizeIterator<Item = (f64, &'k str)>, loc: Locale) -> Vec<Tick> {
    let every = (marks.len() as f64 / 6.0).ceil().max(1.0) as usize;
    marks
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(_, (pos, key))| Tick { pos, label: day_label(key, loc) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_are_grouped_and_exact() {
        for (micros, shown) in [
            (0, "0"),
            (14_931_000_000, "14,931"),
            (1_234_567_250_000, "1,234,567.25"),
            (-1_000_500_000, "-1,000.5"),
            (999_000_001, "999.000001"),
        ] {
            assert_eq!(credits(Micros::from_micros(micros)), shown);
        }
    }

    #[test]
    fn rounding_for_people_is_half_away_from_zero() {
        for (micros, decimals, shown) in [
            (206_297_872, 1, "206.3"),
            (206_250_000, 1, "206.3"),
            (206_249_999, 1, "206.2"),
            (-250_000, 1, "-0.3"),
            (1_234_567_890_000, 0, "1,234,568"),
            (999_950_000, 1, "1,000"),
            (5, 6, "0.000005"),
            (0, 1, "0"),
        ] {
            assert_eq!(rounded(Micros::from_micros(micros), decimals), shown, "{micros} to {decimals}");
        }
    }

    #[test]
    fn days_to_come_are_empty_not_zero() {
        let today: jiff::civil::Date = "2026-03-02".parse().unwrap();
        let points: Vec<Point> = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
            .iter()
            .map(|d| Point::count((*d).into(), 4, "conversations").after(today))
            .collect();
        assert_eq!(points.iter().map(|p| p.future).collect::<Vec<_>>(), [false, false, true, true]);
        assert_eq!(points[2].exact, "");
        let c = time_chart(&points, 600.0, 200.0, Locale::EnUs);
        assert_eq!(c.bars[3].h, 0.0);
        assert!(c.bars[1].h > 0.0);
        // The line has two points, the last at today.
        assert_eq!(c.line.matches('L').count(), 1, "{}", c.line);
        assert!(c.area.starts_with(&c.line));
    }

    #[test]
    fn changes_are_exact_percentages() {
        let m = |c: i64| Micros::from_micros(c * 1_000_000);
        for (now, before, want) in [
            (m(150), m(100), Some("+50.0%")),
            (m(50), m(100), Some("-50.0%")),
            (m(100), m(100), Some("0.0%")),
            (m(0), m(100), Some("-100.0%")),
            (m(100), m(0), None),
            (m(100), m(-5), None),
            // 1/3 more: 33.333…% to 33.3%; 2/3: 66.666…% to 66.7%.
            (m(4), m(3), Some("+33.3%")),
            (m(5), m(3), Some("+66.7%")),
            (m(1), m(3), Some("-66.7%")),
            // Half a tenth rounds away from zero.
            (Micros::from_micros(1_000_500), Micros::from_micros(1_000_000), Some("+0.1%")),
            (Micros::from_micros(999_500), Micros::from_micros(1_000_000), Some("-0.1%")),
            (Micros::from_micros(1_000_499), Micros::from_micros(1_000_000), Some("0.0%")),
            (m(12_345), m(1), Some("+1,234,400.0%")),
        ] {
            assert_eq!(percent_change(now, before).as_deref(), want, "{now} against {before}");
        }
    }

    #[test]
    fn stacks_add_up_and_days_to_come_are_empty() {
        let m = |c: i64| Micros::from_micros(c * 1_000_000);
        let series = vec![("a".to_string(), "A".to_string()), ("b".to_string(), "B".to_string())];
        let days = vec![
            StackDay { key: "2026-03-01".into(), future: false, amounts: vec![m(30), m(10)] },
            StackDay { key: "2026-03-02".into(), future: false, amounts: vec![m(0), m(20)] },
            StackDay { key: "2026-03-03".into(), future: true, amounts: vec![m(0), m(0)] },
        ];
        let c = stacked_chart(&days, &series, 600.0, 200.0, Locale::EnUs);
        assert!(!c.empty);
        assert_eq!(c.stacks.len(), 3);
        assert_eq!(c.stacks[0].value, "40");
        assert_eq!(c.stacks[0].segments.len(), 2);
        // Stacked: the second segment sits on the first.
        let (s0, s1) = (&c.stacks[0].segments[0], &c.stacks[0].segments[1]);
        assert!((s1.y + s1.h - s0.y).abs() < 0.2, "{s0:?} {s1:?}");
        assert!(s0.h > s1.h);
        assert_eq!(c.stacks[0].title, "March 1, 2026: 40 credits (A 30, B 10)");
        let es = stacked_chart(&days, &series, 600.0, 200.0, Locale::EsEs);
        assert_eq!(es.stacks[0].title, "1 de marzo de 2026: 40 credits (A 30, B 10)");
        assert_eq!(es.x_ticks[0].label, "1 mar");
        assert_eq!(c.stacks[1].segments.len(), 1);
        assert!(c.stacks[2].future && c.stacks[2].segments.is_empty() && c.stacks[2].value.is_empty());
        assert_eq!(c.series.iter().map(|s| s.value.as_str()).collect::<Vec<_>>(), ["30", "30"]);
        let none = stacked_chart(&days[2..], &series, 600.0, 200.0, Locale::EnUs);
        assert!(none.empty);
    }

    #[test]
    fn a_limit_raises_the_axis() {
        let m = |c: i64| Micros::from_micros(c * 1_000_000);
        let points = [Point::credits("2026-03-01".into(), m(40), 1), Point::credits("2026-03-02".into(), m(90), 2)];
        let c = time_chart_with_limit(&points, Some((m(1_000), "Plan allocation".into())), 600.0, 200.0, Locale::EnUs);
        let l = c.limit.clone().unwrap();
        assert_eq!(l.value, "1000");
        assert_eq!(c.y_ticks.last().unwrap().label, "1k");
        // The level is above both points.
        assert!(c.bars.iter().all(|b| b.y > l.pos), "{c:?}");
        assert!(time_chart(&points, 600.0, 200.0, Locale::EnUs).limit.is_none());
    }

    #[test]
    fn axes_are_nice() {
        assert_eq!(nice_axis(0.0, 4), (1.0, 4.0));
        assert_eq!(nice_axis(95.0, 4), (50.0, 100.0));
        assert_eq!(nice_axis(1234.0, 4), (500.0, 1500.0));
        assert_eq!(short(10_000.0), "10k");
        assert_eq!(short(2_500.0), "2.5k");
    }

    #[test]
    fn pies_close_and_bars_scale() {
        let s = pie(&[("a".into(), "A".into(), 3), ("b".into(), "B".into(), 1)], "conversations", Locale::EnUs);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].share, "75.0%");
        assert!(s[0].path.contains(" 0 1 1 ") || s[0].path.contains(" 0 1 1"), "{}", s[0].path);
        let one = pie(&[("a".into(), "A".into(), 3)], "conversations", Locale::EnUs);
        assert!(one[0].full);
        let c = time_chart(
            &[
                Point::credits("2026-03-01".into(), Micros::from_micros(0), 0),
                Point::credits("2026-03-02".into(), Micros::from_micros(50_000_000), 2),
            ],
            600.0,
            200.0,
            Locale::EnUs,
        );
        assert_eq!(c.bars.len(), 2);
        assert_eq!(c.bars[1].value, "50");
        assert!(c.bars[1].h > c.bars[0].h);
    }
}
