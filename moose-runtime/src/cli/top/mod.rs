//! `top`: a live terminal view of a running app, refreshed every second from its `GET
//! /stats`, in the spirit of `vector top`.
//!
//! One row per ingest route, stream, transform, consumer and table sync with totals and
//! per-second rates (from two successive snapshots), consumer lag, errors and dead letters;
//! a header with uptime, backend, ClickHouse and readiness (with the reasons when not ready).
//! `q`, `Esc` or `Ctrl-C` quits. For scripts, `top --once` prints one frame as text and
//! `top --json` the computed rows, both from two snapshots one second apart.
//!
//! Fetching ([`fetch_stats`]), computing ([`rows`]) and drawing ([`view::draw`]) are
//! separate, and drawing is a pure function of two snapshots, so it is tested on a
//! `TestBackend` without a terminal or an app.

mod fetch;
mod rows;
mod snapshot;
pub mod view;

#[cfg(test)]
mod tests;

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};

pub use fetch::{FETCH_TIMEOUT, TopError, fetch_stats};
pub use rows::{Kind, Report, Row, interval_secs, rows};
pub use snapshot::{
    ClickHouseInfo, Readiness, RouteStats, Snapshot, StreamStats, SyncStats, TaskStats,
};
pub use view::Screen;

use crate::runtime::RuntimeConfig;

/// How often the view refreshes, and how far apart `--once` and `--json` take their two
/// snapshots.
pub const REFRESH: Duration = Duration::from_secs(1);

/// Columns of `top --once` when stdout is not a terminal.
pub const TEXT_WIDTH: u16 = 80;

/// `top` as the subcommand runs it, for the app at `config.http_addr` with its first ingest
/// token: the live view, or one frame as text (`once`), or the rows as JSON (`json`).
pub async fn run(config: &RuntimeConfig, once: bool, json: bool) -> Result<(), TopError> {
    let addr = config.http_addr;
    let token = config.ingest.tokens.first().map(String::as_str);
    let text = if json {
        let report = report(addr, token).await?;
        serde_json::to_string_pretty(&report).expect("a report always serializes") + "\n"
    } else if once {
        let width = if std::io::stdout().is_terminal() {
            ratatui::crossterm::terminal::size().map_or(TEXT_WIDTH, |(w, _)| w)
        } else {
            TEXT_WIDTH
        };
        once_text(addr, token, width).await?
    } else {
        return interactive(addr, token).await;
    };
    // A reader that stops early (`top --json | head`) is not an error.
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(TopError::Output(e)),
        _ => Ok(()),
    }
}

/// Two snapshots of the app at `addr`, [`REFRESH`] apart.
pub async fn two_snapshots(
    addr: SocketAddr,
    token: Option<&str>,
) -> Result<(Snapshot, Snapshot), TopError> {
    let first = fetch_stats(addr, token).await?;
    tokio::time::sleep(REFRESH).await;
    let second = fetch_stats(addr, token).await?;
    Ok((first, second))
}

/// What `top --json` prints: the rows of the app at `addr` with rates over one second.
pub async fn report(addr: SocketAddr, token: Option<&str>) -> Result<Report, TopError> {
    let (first, second) = two_snapshots(addr, token).await?;
    Ok(Report::new(&addr.to_string(), Some(&first), &second))
}

/// What `top --once` prints: one frame `width` columns wide as plain text, rates over one
/// second.
pub async fn once_text(
    addr: SocketAddr,
    token: Option<&str>,
    width: u16,
) -> Result<String, TopError> {
    let (first, second) = two_snapshots(addr, token).await?;
    let address = addr.to_string();
    let screen = Screen {
        address: &address,
        previous: Some(&first),
        current: &second,
        notice: None,
        interactive: false,
        scroll: 0,
    };
    Ok(view::text(&screen, width))
}

/// The live view on this terminal (alternate screen, raw mode) until `q`, `Esc` or
/// `Ctrl-C`; the terminal is restored however it ends. An app that stops answering is
/// shown with its last numbers and the reason, and picked up again when it returns.
pub async fn interactive(addr: SocketAddr, token: Option<&str>) -> Result<(), TopError> {
    if !std::io::stdout().is_terminal() {
        return Err(TopError::NotATerminal);
    }
    // A first snapshot before touching the terminal: an unreachable app is a plain error.
    let first = fetch_stats(addr, token).await?;
    let mut terminal = match ratatui::try_init() {
        Ok(terminal) => terminal,
        Err(e) => {
            ratatui::restore();
            return Err(TopError::Terminal(e));
        }
    };
    let (keys, mut events) = KeyReader::start();
    let result = live(&mut terminal, &mut events, addr, token, first).await;
    keys.stop();
    ratatui::restore();
    result
}

/// What a key does.
enum Action {
    Quit,
    Scroll(isize),
    Redraw,
}

async fn live(
    terminal: &mut ratatui::DefaultTerminal,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<Event>,
    addr: SocketAddr,
    token: Option<&str>,
    first: Snapshot,
) -> Result<(), TopError> {
    let address = addr.to_string();
    let mut previous: Option<Snapshot> = None;
    let mut current = first;
    let mut notice: Option<String> = None;
    let mut scroll = 0usize;
    let mut ticker = tokio::time::interval(REFRESH);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        let screen = Screen {
            address: &address,
            previous: previous.as_ref(),
            current: &current,
            notice: notice.as_deref(),
            interactive: true,
            scroll,
        };
        let size = terminal.size().map_err(TopError::Terminal)?;
        let limit = view::max_scroll(&screen, size.width, size.height);
        terminal
            .draw(|frame| view::draw(frame, &screen))
            .map_err(TopError::Terminal)?;
        tokio::select! {
            _ = ticker.tick() => match fetch_stats(addr, token).await {
                Ok(next) => {
                    previous = Some(std::mem::replace(&mut current, next));
                    notice = None;
                }
                Err(e) => notice = Some(format!("{e} (showing the last numbers; retrying every second)")),
            },
            event = events.recv() => match event.map(action) {
                None | Some(Some(Action::Quit)) => return Ok(()),
                Some(Some(Action::Scroll(by))) => {
                    scroll = scroll.min(limit).saturating_add_signed(by).min(limit);
                }
                Some(Some(Action::Redraw)) | Some(None) => {}
            },
        }
    }
}

fn action(event: Event) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind == KeyEventKind::Press => match key.code {
            KeyCode::Char('q') | KeyCode::Esc => Some(Action::Quit),
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                Some(Action::Quit)
            }
            KeyCode::Up | KeyCode::Char('k') => Some(Action::Scroll(-1)),
            KeyCode::Down | KeyCode::Char('j') => Some(Action::Scroll(1)),
            KeyCode::PageUp => Some(Action::Scroll(-10)),
            KeyCode::PageDown | KeyCode::Char(' ') => Some(Action::Scroll(10)),
            _ => None,
        },
        Event::Resize(..) => Some(Action::Redraw),
        _ => None,
    }
}

/// Terminal events read on a thread of their own (crossterm's reads block), handed to the
/// async loop through a channel.
struct KeyReader {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl KeyReader {
    fn start() -> (KeyReader, tokio::sync::mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match event::poll(Duration::from_millis(100)) {
                    Ok(false) => {}
                    Ok(true) => {
                        let Ok(e) = event::read() else { return };
                        if tx.send(e).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
        });
        (KeyReader { stop, thread }, rx)
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}
