//! Drawing `top`: a pure function from two snapshots (and the address, a notice and a scroll
//! offset) to a ratatui frame, so tests render it into a `TestBackend` and read the cells.
//!
//! ```text
//! moose top  127.0.0.1:4000  up 3m04s  moose 0.1.0  embedded log
//! ClickHouse 18.16.1 at http://127.0.0.1:38123 (database local)
//! ready
//!
//! NAME                                IN    IN/s    OUT   OUT/s    LAG   ERR   DLQ
//! ingest routes
//! /ingest/raw_data                   500   250/s                           0
//! streams
//! raw_data                           500   250/s
//! ...
//! intermediate_stream->final_str…    500   250/s    500   250/s      0     0     0
//! ```
//!
//! Built for 80 columns: the numbers keep fixed widths (counts as `99999`, `123k`, `1.2M`;
//! rates as `250/s`, `12.3k/s`) and the name column takes what is left, cut with `…` when
//! it is too long. A column that does not apply to a row (OUT for a stream) stays blank;
//! a rate that cannot be computed yet (a first snapshot) shows `-`.

use ratatui::Frame;
use ratatui::backend::TestBackend;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row as TableRow, Table};

use super::rows::{Kind, Row, interval_secs, rows};
use super::snapshot::Snapshot;

/// Everything one frame shows.
#[derive(Debug, Clone, Copy)]
pub struct Screen<'a> {
    /// The app's address, as asked.
    pub address: &'a str,
    /// The snapshot before `current`, for rates.
    pub previous: Option<&'a Snapshot>,
    /// The latest snapshot.
    pub current: &'a Snapshot,
    /// A line about `top` itself, e.g. why the latest refresh failed.
    pub notice: Option<&'a str>,
    /// Whether keys work (the footer then says which).
    pub interactive: bool,
    /// Table lines scrolled past.
    pub scroll: usize,
}

/// Widths of the number columns after NAME: IN, IN/s, OUT, OUT/s, LAG, ERR, DLQ.
const NUMBER_WIDTHS: [u16; 7] = [6, 7, 6, 7, 6, 5, 5];
const HEADINGS: [&str; 8] = ["NAME", "IN", "IN/s", "OUT", "OUT/s", "LAG", "ERR", "DLQ"];
/// Space between columns.
const SPACING: u16 = 1;
/// The name column never gets narrower than this.
const MIN_NAME: u16 = 10;

/// Width of the name column in a table `width` wide.
fn name_width(width: u16) -> u16 {
    let fixed: u16 = NUMBER_WIDTHS.iter().sum::<u16>() + SPACING * NUMBER_WIDTHS.len() as u16;
    width.saturating_sub(fixed).max(MIN_NAME)
}

/// The header of a frame `height` lines tall: the table keeps at least half the screen,
/// the header gives way.
fn capped_header(screen: &Screen, width: u16, height: u16) -> Vec<Line<'static>> {
    let mut header = header_lines(screen, width);
    let max_header = (height / 2).max(3) as usize;
    if header.len() > max_header {
        header.truncate(max_header);
        if let Some(last) = header.last_mut() {
            *last = Line::from("  … (more reasons: see GET /ready)").yellow();
        }
    }
    header
}

/// How far the table of `screen` scrolls on a `width` x `height` terminal.
pub fn max_scroll(screen: &Screen, width: u16, height: u16) -> usize {
    let header = capped_header(screen, width, height).len();
    // header, blank, headings, footer
    let visible = (height as usize).saturating_sub(header + 3);
    let items = table_items(screen.current, screen.previous, name_width(width)).len();
    items.saturating_sub(visible)
}

/// Draws `screen` on the whole frame.
pub fn draw(frame: &mut Frame, screen: &Screen) {
    let area = frame.area();
    let header = capped_header(screen, area.width, area.height);
    let [head, _, table, foot] = Layout::vertical([
        Constraint::Length(header.len() as u16),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(header), head);
    let items = table_items(screen.current, screen.previous, name_width(area.width));
    let visible = table.height.saturating_sub(1) as usize;
    let scroll = screen.scroll.min(items.len().saturating_sub(visible));
    draw_table(frame, table, &items, scroll);
    frame.render_widget(
        Paragraph::new(footer(screen, scroll, visible, items.len())),
        foot,
    );
}

/// The lines a frame `width` wide needs to show everything without scrolling.
pub fn height(screen: &Screen, width: u16) -> u16 {
    let header = header_lines(screen, width).len();
    let items = table_items(screen.current, screen.previous, name_width(width)).len();
    // header, blank, headings, items, footer
    (header + 1 + 1 + items + 1) as u16
}

/// One frame as plain text, `width` columns wide and as tall as everything needs (what
/// `top --once` prints): no colours, trailing spaces trimmed.
pub fn text(screen: &Screen, width: u16) -> String {
    let mut terminal = ratatui::Terminal::new(TestBackend::new(width, height(screen, width)))
        .expect("a test backend always works");
    terminal
        .draw(|frame| draw(frame, screen))
        .expect("a test backend always works");
    buffer_text(terminal.backend().buffer())
}

/// The characters of `buffer`, one line per row, trailing spaces trimmed.
pub fn buffer_text(buffer: &ratatui::buffer::Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        for x in area.left()..area.right() {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn header_lines(screen: &Screen, width: u16) -> Vec<Line<'static>> {
    let s = screen.current;
    let width = width as usize;
    let mut lines = vec![
        fit(
            vec![
                Span::from("moose top").bold(),
                Span::from(format!(
                    "  {}  up {}  moose {}  {}",
                    screen.address,
                    uptime(s.uptime_secs),
                    s.version,
                    s.backend
                )),
            ],
            width,
        ),
        fit(
            vec![Span::from(format!(
                "ClickHouse {} at {} (database {})",
                s.clickhouse.version, s.clickhouse.url, s.clickhouse.database
            ))],
            width,
        ),
    ];
    if s.ready.ready {
        lines.push(Line::from(Span::from("ready").green().bold()));
    } else {
        lines.push(Line::from(Span::from("NOT READY").red().bold()));
        for reason in &s.ready.reasons {
            for (i, part) in wrap(reason, width.saturating_sub(4).max(10))
                .into_iter()
                .enumerate()
            {
                let prefix = if i == 0 { "  - " } else { "    " };
                lines.push(Line::from(format!("{prefix}{part}")).red());
            }
        }
    }
    if let Some(notice) = screen.notice {
        for (i, part) in wrap(notice, width.saturating_sub(2).max(10))
            .into_iter()
            .enumerate()
        {
            let prefix = if i == 0 { "! " } else { "  " };
            lines.push(Line::from(format!("{prefix}{part}")).yellow());
        }
    }
    lines
}

/// The table's body: a title line per non-empty section, then its rows.
fn table_items(
    current: &Snapshot,
    previous: Option<&Snapshot>,
    name_width: u16,
) -> Vec<TableRow<'static>> {
    let all = rows(previous, current);
    let mut items = Vec::new();
    for kind in Kind::ALL {
        let mut section = all.iter().filter(|r| r.kind == kind).peekable();
        if section.peek().is_none() {
            continue;
        }
        items.push(TableRow::new([Cell::from(kind.section())]).style(Style::new().cyan().bold()));
        for row in section {
            items.push(table_row(row, name_width as usize));
        }
    }
    if items.is_empty() {
        items.push(TableRow::new([Cell::from(
            "this app declares no routes, streams or tables",
        )]));
    }
    items
}

fn table_row(row: &Row, name_width: usize) -> TableRow<'static> {
    let name = match &row.table {
        Some(table) => table.clone(),
        None if row.dead_letter_queue => format!("{} (dlq)", row.name),
        None => row.name.clone(),
    };
    let number = |text: String| Cell::from(Line::from(text).right_aligned());
    let warn = |value: Option<u64>, color: Color| match value {
        None => number(String::new()),
        Some(0) => number(count(0)),
        Some(n) => number(count(n)).style(Style::new().fg(color).add_modifier(Modifier::BOLD)),
    };
    let out = |text: String| {
        if row.records_out.is_some() {
            text
        } else {
            String::new()
        }
    };
    TableRow::new([
        Cell::from(ellipsize(&name, name_width)),
        number(count(row.records_in)),
        number(rate(row.in_per_sec)),
        number(out(row.records_out.map(count).unwrap_or_default())),
        number(out(rate(row.out_per_sec))),
        warn(row.lag, Color::Yellow),
        warn(row.errors, Color::Red),
        warn(row.dead_letters, Color::Magenta),
    ])
}

fn draw_table(frame: &mut Frame, area: Rect, items: &[TableRow<'static>], scroll: usize) {
    let widths = std::iter::once(Constraint::Length(name_width(area.width)))
        .chain(NUMBER_WIDTHS.iter().map(|w| Constraint::Length(*w)));
    let headings = TableRow::new(HEADINGS.iter().enumerate().map(|(i, h)| {
        let line = Line::from(*h);
        Cell::from(if i == 0 { line } else { line.right_aligned() })
    }))
    .style(Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED));
    let table = Table::new(items.iter().skip(scroll).cloned(), widths)
        .header(headings)
        .column_spacing(SPACING);
    frame.render_widget(table, area);
}

fn footer(screen: &Screen, scroll: usize, visible: usize, total: usize) -> Line<'static> {
    let mut parts = vec![match screen
        .previous
        .and_then(|p| interval_secs(p, screen.current))
    {
        Some(secs) => format!("rates over the last {secs:.1} s"),
        None => "rates after the next refresh".to_owned(),
    }];
    if total > visible {
        parts.push(format!(
            "lines {}-{} of {total}",
            scroll + 1,
            (scroll + visible).min(total)
        ));
    }
    if screen.interactive {
        parts.push("q quit".to_owned());
        if total > visible {
            parts.push("up/down scroll".to_owned());
        }
    }
    Line::from(parts.join("  ·  ")).dim()
}

/// `spans` cut to `width` characters, the last one an ellipsis when something was cut.
fn fit(spans: Vec<Span<'static>>, width: usize) -> Line<'static> {
    let total: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    if total <= width {
        return Line::from(spans);
    }
    let mut left = width.saturating_sub(1);
    let mut out = Vec::new();
    for span in spans {
        if left == 0 {
            break;
        }
        let n = span.content.chars().count();
        if n <= left {
            left -= n;
            out.push(span);
        } else {
            let cut: String = span.content.chars().take(left).collect();
            out.push(Span::styled(cut, span.style));
            left = 0;
        }
    }
    out.push(Span::from("…"));
    Line::from(out)
}

/// `text` cut to `width` characters with an ellipsis when longer.
pub fn ellipsize(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `text` in lines of at most `width` characters, broken at spaces where possible.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_owned();
        loop {
            let used = line.chars().count();
            let need = word.chars().count() + usize::from(used > 0);
            if used + need <= width {
                if used > 0 {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word longer than a line: break it.
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A count in at most 6 characters: `99999`, `123.4k`, `12.3M`.
pub fn count(n: u64) -> String {
    if n < 100_000 {
        n.to_string()
    } else {
        si(n as f64)
    }
}

/// A rate in at most 7 characters: `-` when unknown, `0/s`, `2.5/s`, `250/s`, `12.3k/s`.
pub fn rate(per_sec: Option<f64>) -> String {
    match per_sec {
        None => "-".to_owned(),
        Some(r) if r <= 0.0 => "0/s".to_owned(),
        Some(r) if r < 9.95 => format!("{r:.1}/s"),
        Some(r) if r < 9999.5 => format!("{r:.0}/s"),
        Some(r) => format!("{}/s", si(r)),
    }
}

/// `v` (at least 10,000) with a k/M/G/T/P/E suffix: one decimal below 100 of the unit.
fn si(v: f64) -> String {
    let mut v = v / 1000.0;
    for unit in ["k", "M", "G", "T", "P"] {
        if v < 99.95 {
            return format!("{v:.1}{unit}");
        }
        if v < 999.5 {
            return format!("{v:.0}{unit}");
        }
        v /= 1000.0;
    }
    format!("{v:.1}E")
}

/// Uptime as `12s`, `3m04s`, `2h05m`, `3d04h`.
pub fn uptime(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}
