//! What rides on a call's data channels besides the liveness ping: chat lines ([`chat`]),
//! files ([`files`]) and the throughput test ([`throughput`]) — the channel labels, the
//! messages, and the task ([`run`]) that carries them over the peer's channels.
//!
//! Every feature's sending side opens a channel of its own once the call is connected (chat:
//! one for the call; files: one per file; throughput: one per test); the other side answers on
//! the channel it was offered. So a channel's direction is who opened it, and both sides can
//! chat, send files and test at once. The README ("Data channels") is the protocol's reference.

pub mod chat;
pub mod files;
pub mod throughput;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

#[cfg(test)]
use crate::report::schema::Direction;
use crate::report::schema::{DataSummary, Record};

/// Label of a chat channel (reliable, ordered), opened by the side that sends.
pub const CHAT_LABEL: &str = "rtccall-chat";
/// Label of a file channel (reliable, ordered): one per file, opened by its sender.
pub const FILE_LABEL: &str = "rtccall-file";
/// Label of a throughput-test channel (reliable, ordered), opened by the side that tests.
pub const THROUGHPUT_LABEL: &str = "rtccall-throughput";

/// Whether a channel the other side opened is one of the data channels served here (chat,
/// files, throughput). Every other label is a liveness channel: its `ping N` messages are
/// answered `pong N` (the call page follows the same rule).
pub fn is_data_label(label: &str) -> bool {
    matches!(label, CHAT_LABEL | FILE_LABEL | THROUGHPUT_LABEL)
}

/// Most channels the other side opened that are served at once (chats, files, tests); more
/// are closed at once. A file channel holds its place only until its offer is decided or
/// [`files::receive::OFFER_WAIT`] passes.
pub const MAX_SERVED: usize = 64;

/// The largest binary message rtccall sends (file chunks, throughput data): the SCTP message
/// size every WebRTC stack takes without an SDP `max-message-size` (RFC 8841 6.1).
pub const CHUNK: usize = 64 * 1024;
/// The largest text message either side takes, in bytes (chat text is bounded lower).
pub const MAX_CONTROL: usize = 16 * 1024;

/// How long a channel we open may take to open (one round trip, normally).
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// A text message on the chat, file and throughput channels: one JSON object, `type` first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Msg {
    /// A chat line (`id` counts from 0 on the channel), answered with `chat-ack`.
    Chat {
        id: u64,
        text: String,
    },
    ChatAck {
        id: u64,
    },
    /// First message on a file channel: what is coming.
    FileOffer {
        name: String,
        size: u64,
        sha256: String,
    },
    /// The receiver takes the file: binary chunks follow, then `file-end`.
    FileAccept,
    /// The receiver does not take it; the sender closes the channel.
    FileRefuse {
        reason: String,
    },
    /// After the last chunk.
    FileEnd,
    /// The receiver has all `size` bytes, their SHA-256 matches, and the file is in place.
    FileVerified {
        sha256: String,
    },
    /// The receiver discarded the file (wrong length, wrong hash, cannot write).
    FileFailed {
        reason: String,
    },
    /// Throughput test: the tester asks the other side to send for `secs` seconds.
    ThroughputRequest {
        secs: f64,
    },
    /// After a throughput phase's last binary message: how many bytes were sent.
    ThroughputEnd {
        bytes: u64,
    },
    /// The receiving side's measurement of a phase: bytes received, ms from the first byte
    /// to `throughput-end`.
    ThroughputResult {
        bytes: u64,
        ms: f64,
    },
}

impl Msg {
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("messages serialise")
    }

    /// Parse a text message; `Err` says what is wrong with it.
    pub fn parse(text: &str) -> Result<Msg, String> {
        if text.len() > MAX_CONTROL {
            return Err(format!(
                "a {}-byte text message (the bound is {MAX_CONTROL})",
                text.len()
            ));
        }
        serde_json::from_str(text).map_err(|e| format!("not an rtccall message ({e})"))
    }
}

/// Close a channel once what was sent on it has left (closing resets the stream at once, and
/// a refusal sent just before would be lost); at most a second is waited.
pub async fn close_when_sent(link: &dyn Link) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while link.outstanding().await > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    link.close().await;
}

/// Whether `text` (which [`Msg::parse`] refused) is a well-formed message of a type this
/// version does not know: a JSON object within the bound whose `type` is a string.
pub fn unknown_type(text: &str) -> bool {
    text.len() <= MAX_CONTROL
        && serde_json::from_str::<serde_json::Value>(text)
            .is_ok_and(|v| v.get("type").is_some_and(|t| t.is_string()))
}

/// The channel is closed (or the call is going).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// The sending half of a data channel. The peer module implements it over webrtc-rs; sends
/// wait while the channel holds its bound of unacknowledged bytes (back-pressure).
#[async_trait::async_trait]
pub trait Link: Send + Sync {
    async fn send_text(&self, text: &str) -> Result<(), Closed>;
    async fn send_binary(&self, data: &[u8]) -> Result<(), Closed>;
    /// Bytes handed to the channel that SCTP has not yet had acknowledged.
    async fn outstanding(&self) -> usize;
    async fn close(&self);
}

/// What arrives on a data channel.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkEvent {
    Open,
    Text(String),
    Binary(Bytes),
    Closed,
}

/// A data channel: its label, its sending half and what arrives on it.
pub struct Channel {
    pub label: String,
    pub link: Arc<dyn Link>,
    pub events: mpsc::Receiver<LinkEvent>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Channel({:?})", self.label)
    }
}

impl Channel {
    /// The next message, skipping `open`; `None` once the channel closed.
    async fn next(&mut self) -> Option<LinkEvent> {
        loop {
            match self.events.recv().await {
                Some(LinkEvent::Open) => continue,
                Some(LinkEvent::Closed) | None => return None,
                Some(ev) => return Some(ev),
            }
        }
    }

    /// Wait until a channel we opened is open; otherwise why not, in words: it closed first,
    /// or it did not open within [`OPEN_TIMEOUT`].
    async fn opened(&mut self) -> Result<(), String> {
        match tokio::time::timeout(OPEN_TIMEOUT, self.events.recv()).await {
            Ok(Some(LinkEvent::Open)) => Ok(()),
            Ok(Some(LinkEvent::Closed) | None) => Err("closed before it opened".into()),
            Ok(Some(_)) => Err("carried a message before it opened".into()),
            Err(_) => Err(format!("did not open within {} s", OPEN_TIMEOUT.as_secs())),
        }
    }
}

/// Opens data channels on the call (the peer module implements it).
#[async_trait::async_trait]
pub trait Opener: Send + Sync {
    async fn open(&self, label: &str) -> Result<Channel, String>;
}

/// What to do with the data channels, from `dial`/`answer` options.
#[derive(Debug, Clone, Default)]
pub struct DataConfig {
    /// `--chat`: send stdin's lines.
    pub chat: bool,
    /// `--send FILE`: files to send, in order.
    pub send: Vec<PathBuf>,
    /// `--receive DIR`: take offered files into DIR (otherwise refuse them).
    pub receive: Option<PathBuf>,
    /// `--overwrite`: a received file may replace one of the same name.
    pub overwrite: bool,
    /// `--data-throughput SECS`.
    pub throughput: Option<Duration>,
    /// Chat lines and files the person gives the call screen.
    pub keyboard: Option<Keyboard>,
}

/// What the person gives the call screen to send.
#[derive(Debug)]
pub enum Typed {
    /// A chat line.
    Chat(String),
    /// A file to send.
    File(PathBuf),
}

/// The queue from the call screen to the data side: its receiving end, taken once the call is
/// connected.
#[derive(Clone, Default)]
pub struct Keyboard(Arc<std::sync::Mutex<Option<mpsc::Receiver<Typed>>>>);

impl std::fmt::Debug for Keyboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyboard")
    }
}

impl Keyboard {
    /// A keyboard and the sender the screen keeps.
    pub fn new() -> (Keyboard, mpsc::Sender<Typed>) {
        let (tx, rx) = mpsc::channel(64);
        (Keyboard(Arc::new(std::sync::Mutex::new(Some(rx)))), tx)
    }

    fn take(&self) -> Option<mpsc::Receiver<Typed>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Send what the person typed: chat lines on one chat channel (opened with the first line),
/// each file on a channel of its own.
async fn send_typed(mut typed: mpsc::Receiver<Typed>, opener: Arc<dyn Opener>, report: Reporter) {
    let mut chat: Option<mpsc::Sender<Vec<u8>>> = None;
    let mut tasks = tokio::task::JoinSet::new();
    while let Some(t) = typed.recv().await {
        match t {
            Typed::Chat(line) => {
                let tx = chat.get_or_insert_with(|| {
                    let (tx, rx) = mpsc::channel(64);
                    tasks.spawn(chat::send_lines(opener.clone(), report.clone(), rx));
                    tx
                });
                let _ = tx.send(line.into_bytes()).await;
            }
            Typed::File(path) => {
                tasks.spawn(files::send_all(vec![path], opener.clone(), report.clone()));
            }
        }
    }
    drop(chat);
    while tasks.join_next().await.is_some() {}
}

impl DataConfig {
    /// Whether this side has work of its own that ends (files, a test, piped chat lines):
    /// the call hangs up once it is done unless `--duration` says otherwise.
    pub fn has_finite_work(&self, stdin_is_terminal: bool) -> bool {
        !self.send.is_empty() || self.throughput.is_some() || (self.chat && !stdin_is_terminal)
    }
}

/// Where the data task's records (the call's [`crate::report::Events`]) and totals go.
#[derive(Clone)]
pub struct Reporter {
    events: crate::report::Events,
    tally: Arc<Mutex<DataSummary>>,
}

impl Reporter {
    pub fn new(events: crate::report::Events, tally: Arc<Mutex<DataSummary>>) -> Self {
        Reporter { events, tally }
    }

    /// Emit the record `make` builds from the time now (ms since the command started).
    pub async fn emit(&self, make: impl FnOnce(f64) -> Record) {
        let record = make(self.events.ms());
        self.events.send(record).await;
    }

    pub fn update(&self, f: impl FnOnce(&mut DataSummary)) {
        f(&mut self.tally.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

/// Why the data side of a call failed, if it did: a file that did not arrive verified (a
/// receiver's own refusal is policy, not a failure), an error of chat or the test (one still
/// under way when the call ends included), or chat lines sent and never acknowledged.
pub fn failure(d: &DataSummary) -> Option<String> {
    d.files
        .iter()
        .find(|f| f.error.is_some() && !f.refused_here)
        .map(|f| {
            format!(
                "file {} ({}): {}",
                f.name,
                f.direction,
                f.error.as_deref().unwrap_or_default()
            )
        })
        .or_else(|| d.errors.first().cloned())
        .or_else(|| {
            let c = d.chat.as_ref()?;
            (c.sent > c.acked).then(|| {
                format!(
                    "chat: {} line(s) sent were never acknowledged",
                    c.sent - c.acked
                )
            })
        })
}

/// Megabits per second of `bytes` in `secs`.
pub fn mbit_s(bytes: u64, secs: f64) -> f64 {
    if secs <= 0.0 {
        return 0.0;
    }
    (bytes as f64 * 8.0 / secs / 1e6 * 10.0).round() / 10.0
}

/// Run the data side of a call (the driver starts it once the call is connected): this side's
/// own work (chat from stdin, files, a throughput test) on channels opened with `opener`, and
/// every channel the other side opens (`incoming`). `done` gets one message when this side's own finite work
/// is over (see [`DataConfig::has_finite_work`]).
pub async fn run(
    config: DataConfig,
    opener: Arc<dyn Opener>,
    mut incoming: mpsc::Receiver<Channel>,
    report: Reporter,
    done: mpsc::Sender<()>,
    stdin_is_terminal: bool,
) {
    let mut own = tokio::task::JoinSet::new();
    if config.chat {
        own.spawn(chat::send_stdin(opener.clone(), report.clone()));
    }
    if let Some(typed) = config.keyboard.as_ref().and_then(Keyboard::take) {
        own.spawn(send_typed(typed, opener.clone(), report.clone()));
    }
    if !config.send.is_empty() {
        own.spawn(files::send_all(
            config.send.clone(),
            opener.clone(),
            report.clone(),
        ));
    }
    if let Some(secs) = config.throughput {
        own.spawn(throughput::test(secs, opener.clone(), report.clone()));
    }
    let finite = config.has_finite_work(stdin_is_terminal);
    let mut told = false;
    let mut serving = tokio::task::JoinSet::new();
    let mut refused_channels = 0u64;
    let receiving = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    loop {
        tokio::select! {
            ch = incoming.recv() => match ch {
                Some(ch) if serving.len() >= MAX_SERVED => {
                    // A bound on what the other side's channels may cost: the extra ones are
                    // closed at once (said once, counted when the call ends).
                    refused_channels += 1;
                    if refused_channels == 1 {
                        tracing::warn!(
                            "the other side has {MAX_SERVED} data channels open already; \
                             closing the ones it opens beyond that"
                        );
                    }
                    tokio::spawn(async move { ch.link.close().await });
                }
                Some(ch) => {
                    let report = report.clone();
                    let config = config.clone();
                    let receiving = receiving.clone();
                    serving.spawn(async move { serve(ch, config, report, receiving).await });
                }
                None => break,
            },
            Some(_) = own.join_next(), if !own.is_empty() => {
                if own.is_empty() && finite && !told {
                    told = true;
                    let _ = done.send(()).await;
                }
            }
            Some(_) = serving.join_next(), if !serving.is_empty() => {}
        }
    }
    if refused_channels > 0 {
        tracing::warn!(
            "{refused_channels} data channel(s) from the other side were closed unserved"
        );
    }
}

/// Serve a channel the other side opened, by its label.
async fn serve(
    ch: Channel,
    config: DataConfig,
    report: Reporter,
    receiving: Arc<std::sync::atomic::AtomicUsize>,
) {
    match ch.label.as_str() {
        CHAT_LABEL => chat::receive(ch, report).await,
        FILE_LABEL => files::receive(ch, &config, report, &receiving).await,
        THROUGHPUT_LABEL => throughput::serve(ch, report, config.throughput.is_some()).await,
        other => tracing::debug!("data channel {other:?} is not one rtccall knows; ignored"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link that goes nowhere: only the channel's events matter here.
    struct Nowhere;

    #[async_trait::async_trait]
    impl Link for Nowhere {
        async fn send_text(&self, _: &str) -> Result<(), Closed> {
            Err(Closed)
        }
        async fn send_binary(&self, _: &[u8]) -> Result<(), Closed> {
            Err(Closed)
        }
        async fn outstanding(&self) -> usize {
            0
        }
        async fn close(&self) {}
    }

    #[tokio::test]
    async fn a_channel_that_does_not_open_says_why() {
        let first = |ev: Option<LinkEvent>| {
            let (tx, events) = mpsc::channel(1);
            if let Some(ev) = ev {
                tx.try_send(ev).unwrap();
            }
            drop(tx);
            Channel {
                label: FILE_LABEL.into(),
                link: Arc::new(Nowhere),
                events,
            }
        };
        assert_eq!(first(Some(LinkEvent::Open)).opened().await, Ok(()));
        let closed = Err("closed before it opened".to_string());
        assert_eq!(first(Some(LinkEvent::Closed)).opened().await, closed);
        assert_eq!(first(None).opened().await, closed);
        assert_eq!(
            first(Some(LinkEvent::Text("hi".into()))).opened().await,
            Err("carried a message before it opened".to_string())
        );
    }

    #[test]
    fn messages_are_json_objects_with_a_kebab_case_type() {
        assert_eq!(
            Msg::Chat {
                id: 3,
                text: "hi".into()
            }
            .to_text(),
            r#"{"type":"chat","id":3,"text":"hi"}"#
        );
        assert_eq!(Msg::FileAccept.to_text(), r#"{"type":"file-accept"}"#);
        assert_eq!(
            Msg::parse(r#"{"type":"file-offer","name":"a.bin","size":5,"sha256":"ab"}"#),
            Ok(Msg::FileOffer {
                name: "a.bin".into(),
                size: 5,
                sha256: "ab".into()
            })
        );
        assert_eq!(
            Msg::parse(r#"{"type":"throughput-result","bytes":10,"ms":2.5}"#),
            Ok(Msg::ThroughputResult { bytes: 10, ms: 2.5 })
        );
        assert!(
            Msg::parse("hello")
                .unwrap_err()
                .contains("not an rtccall message")
        );
        assert!(Msg::parse(r#"{"type":"launch"}"#).is_err());
        let long = format!(
            r#"{{"type":"chat","id":0,"text":"{}"}}"#,
            "x".repeat(20_000)
        );
        assert!(Msg::parse(&long).unwrap_err().contains("bound"));
    }

    #[test]
    fn what_counts_as_a_data_failure() {
        use crate::report::schema::{ChatSummary, FileSummary};
        let file = |direction: Direction, error: Option<&str>| FileSummary {
            direction,
            name: "a".into(),
            size: 1,
            bytes: 0,
            duration_s: 0.0,
            mbit_s: 0.0,
            sha256: None,
            verified: error.is_none(),
            error: error.map(Into::into),
            refused_here: direction == Direction::Receive,
        };
        let mut d = DataSummary::default();
        assert_eq!(failure(&d), None);
        // Our own refusal of an offer is policy; the sender's view of it is a failure.
        d.files.push(file(
            Direction::Receive,
            Some("refused: this side takes no files"),
        ));
        assert_eq!(failure(&d), None);
        d.files
            .push(file(Direction::Send, Some("refused by the other side: no")));
        assert!(failure(&d).unwrap().contains("refused by the other side"));
        let mut d = DataSummary {
            chat: Some(ChatSummary {
                sent: 3,
                acked: 2,
                received: 0,
            }),
            ..Default::default()
        };
        assert!(failure(&d).unwrap().contains("1 line(s)"));
        d.chat.as_mut().unwrap().acked = 3;
        assert_eq!(failure(&d), None);
        d.errors.push("throughput test: x".into());
        assert_eq!(failure(&d).as_deref(), Some("throughput test: x"));
    }

    #[test]
    fn rates_are_megabits_per_second() {
        assert_eq!(mbit_s(125_000_000, 2.0), 500.0);
        assert_eq!(mbit_s(1, 0.0), 0.0);
    }
}
