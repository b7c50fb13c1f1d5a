//! What the call screen shows and what its keys do, without a terminal: the state built from
//! the call's records, and each key turned into an [`Action`] (unit-tested here).

use std::collections::VecDeque;

use crate::media::controls::Switches;
use crate::report::human;
use crate::report::schema::{ControlAction, Direction, FileEvent, Record, Side, Stats, Summary};

/// How many chat and note lines the screen keeps.
const KEEP_LINES: usize = 200;

/// A file transfer under way.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub direction: Direction,
    pub name: String,
    pub bytes: u64,
    pub size: u64,
}

/// What the person is typing into the input line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typing {
    Chat,
    File,
    /// Why the incoming call is refused.
    Reason,
}

/// An incoming call waiting for `y`/`n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub room: String,
}

/// What a key asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing outside the screen (its own state changed, or the key means nothing).
    None,
    Switch(Switches),
    Chat(String),
    SendFile(String),
    HangUp,
    Accept,
    Reject(String),
}

/// A key, as the screen reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Backspace,
    Esc,
    CtrlC,
}

/// The screen's state.
#[derive(Debug, Default)]
pub struct State {
    pub role: String,
    pub room: String,
    pub phase: String,
    pub lines: VecDeque<String>,
    pub stats: Option<Stats>,
    pub transfers: Vec<Transfer>,
    pub sas: Option<String>,
    /// The other side's microphone is muted / its camera is off.
    pub remote_muted: bool,
    pub remote_video_off: bool,
    /// The first address the other side's candidates named (who is calling).
    pub remote_address: Option<String>,
    pub show_stats: bool,
    pub show_help: bool,
    pub typing: Option<Typing>,
    pub input: String,
    pub asking: Option<Question>,
    pub summary: Option<Summary>,
}

impl State {
    pub fn new(role: &str, room: &str) -> State {
        State {
            role: role.into(),
            room: room.into(),
            phase: "starting".into(),
            show_stats: true,
            ..Default::default()
        }
    }

    /// A line among the chat and notes (escaped: it may carry the other side's text).
    pub fn line(&mut self, text: String) {
        if self.lines.len() == KEEP_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(crate::report::text::printable(&text));
    }

    /// Take a record of the call into the state.
    pub fn record(&mut self, r: &Record) {
        match r {
            Record::Signaling { event, detail, .. } => {
                use crate::report::schema::SignalingEvent as S;
                match event {
                    S::Joined | S::PeerJoined | S::OfferSent | S::OfferReceived => {
                        self.phase = format!("signaling: {}", event.as_str());
                    }
                    S::ByeReceived => self.line("the other side hung up".into()),
                    S::Rejected | S::Lost | S::Warning | S::Reconnected => self.line(format!(
                        "signaling {}{}",
                        event.as_str(),
                        detail.as_ref().map_or(String::new(), |d| format!(": {d}"))
                    )),
                    _ => {}
                }
            }
            Record::Candidate {
                side: Side::Remote,
                address,
                port,
                candidate_type,
                ..
            } if self.remote_address.is_none() => {
                self.remote_address = Some(format!("{address}:{port} ({candidate_type})"));
            }
            Record::IceState { state, .. } => self.phase = format!("ICE {state}"),
            Record::ConnectionState { state, .. } => self.phase = state.to_string(),
            Record::Stats { stats, .. } => self.stats = Some(stats.clone()),
            Record::Chat {
                direction, text, ..
            } => self.line(format!("{}: {text}", human::speaker(*direction))),
            Record::File {
                direction,
                name,
                event,
                size,
                bytes,
                mbit_s,
                detail,
                ..
            } => self.file(
                *direction,
                name,
                *event,
                (*size, *bytes, *mbit_s),
                detail.as_deref(),
            ),
            Record::Control {
                side,
                action,
                state,
                ..
            } => {
                if *side == Side::Remote {
                    match action {
                        ControlAction::Mute => self.remote_muted = state == "on",
                        ControlAction::Video => self.remote_video_off = state == "off",
                        ControlAction::Volume => {}
                    }
                }
                self.line(human::control_text(*side, *action, state));
            }
            Record::Sas { words, .. } => {
                self.sas = Some(words.clone());
                self.line(format!("security words: {words}"));
            }
            Record::Error { message, .. } => self.line(format!("error: {message}")),
            Record::Summary(s) => {
                self.phase = format!("ended ({})", s.end_reason);
                self.summary = Some(s.clone());
            }
            _ => {}
        }
    }

    fn file(
        &mut self,
        direction: Direction,
        name: &str,
        event: FileEvent,
        (size, bytes, mbit_s): (u64, u64, Option<f64>),
        detail: Option<&str>,
    ) {
        let at = self
            .transfers
            .iter()
            .position(|t| t.direction == direction && t.name == name);
        match event {
            FileEvent::Offer | FileEvent::Accepted | FileEvent::Progress => {
                let t = Transfer {
                    direction,
                    name: name.into(),
                    bytes,
                    size,
                };
                match at {
                    Some(i) => self.transfers[i] = t,
                    None => self.transfers.push(t),
                }
            }
            _ => {
                if let Some(i) = at {
                    self.transfers.remove(i);
                }
                // Escaped as every screen line is (the name and detail may be the other side's).
                self.line(human::file_end_text(
                    direction, name, event, bytes, mbit_s, detail,
                ));
            }
        }
    }

    /// Ask whether to take a call.
    pub fn ask(&mut self, room: &str) {
        self.asking = Some(Question { room: room.into() });
        self.line(format!(
            "incoming call in room {room}: y to take it, n to refuse, r to refuse with a reason"
        ));
    }

    /// What a key does, given the switches now.
    pub fn key(&mut self, key: Key, switches: Switches) -> Action {
        if key == Key::CtrlC {
            return Action::HangUp;
        }
        if let Some(typing) = self.typing {
            return self.typed(typing, key);
        }
        if self.asking.is_some() {
            return match key {
                Key::Char('y' | 'Y') | Key::Enter => {
                    self.asking = None;
                    Action::Accept
                }
                Key::Char('n' | 'N') | Key::Esc => {
                    self.asking = None;
                    Action::Reject("declined".into())
                }
                Key::Char('r' | 'R') => {
                    self.typing = Some(Typing::Reason);
                    Action::None
                }
                Key::Char('q') => Action::HangUp,
                _ => Action::None,
            };
        }
        let mut s = switches;
        match key {
            Key::Char('m') => s.muted = !s.muted,
            Key::Char('v') => s.camera_off = !s.camera_off,
            Key::Char('+' | '=') => s.volume_pct = (s.volume_pct + 10).min(200),
            Key::Char('-' | '_') => s.volume_pct = s.volume_pct.saturating_sub(10),
            Key::Char('c') | Key::Enter => {
                self.typing = Some(Typing::Chat);
                return Action::None;
            }
            Key::Char('f') => {
                self.typing = Some(Typing::File);
                return Action::None;
            }
            Key::Char('s') => {
                self.show_stats = !self.show_stats;
                return Action::None;
            }
            Key::Char('?' | 'h') => {
                self.show_help = !self.show_help;
                return Action::None;
            }
            Key::Char('q') => return Action::HangUp,
            Key::Esc => {
                self.show_help = false;
                return Action::None;
            }
            _ => return Action::None,
        }
        Action::Switch(s)
    }

    fn typed(&mut self, typing: Typing, key: Key) -> Action {
        match key {
            Key::Char(c) if !c.is_control() => {
                if self.input.len() < crate::data::chat::MAX_TEXT {
                    self.input.push(c);
                }
                Action::None
            }
            Key::Backspace => {
                self.input.pop();
                Action::None
            }
            Key::Esc => {
                self.typing = None;
                self.input.clear();
                Action::None
            }
            Key::Enter => {
                self.typing = None;
                let text = std::mem::take(&mut self.input);
                match typing {
                    Typing::Chat if text.is_empty() => Action::None,
                    Typing::Chat => Action::Chat(text),
                    Typing::File if text.trim().is_empty() => Action::None,
                    Typing::File => Action::SendFile(text.trim().to_string()),
                    Typing::Reason => {
                        self.asking = None;
                        let reason = text.trim();
                        Action::Reject(if reason.is_empty() {
                            "declined".into()
                        } else {
                            reason.into()
                        })
                    }
                }
            }
            _ => Action::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(state: &mut State, keys: &str) -> Vec<Action> {
        keys.chars()
            .map(|c| {
                let k = match c {
                    '\n' => Key::Enter,
                    '\x1b' => Key::Esc,
                    '\x08' => Key::Backspace,
                    c => Key::Char(c),
                };
                state.key(k, Switches::default())
            })
            .collect()
    }

    #[test]
    fn keys_switch_mute_camera_and_volume() {
        let mut s = State::new("dial", "r");
        let on = Switches::default();
        assert_eq!(
            s.key(Key::Char('m'), on),
            Action::Switch(Switches { muted: true, ..on })
        );
        assert_eq!(
            s.key(Key::Char('v'), on),
            Action::Switch(Switches {
                camera_off: true,
                ..on
            })
        );
        let loud = Switches {
            volume_pct: 195,
            ..on
        };
        assert_eq!(
            s.key(Key::Char('+'), loud),
            Action::Switch(Switches {
                volume_pct: 200,
                ..on
            })
        );
        let quiet = Switches {
            volume_pct: 5,
            ..on
        };
        assert_eq!(
            s.key(Key::Char('-'), quiet),
            Action::Switch(Switches {
                volume_pct: 0,
                ..on
            })
        );
        assert_eq!(s.key(Key::Char('q'), on), Action::HangUp);
        assert_eq!(s.key(Key::CtrlC, on), Action::HangUp);
    }

    #[test]
    fn chat_and_file_lines_are_typed_and_sent_on_enter() {
        let mut s = State::new("dial", "r");
        let got = keys(&mut s, "chi m\x08there\n");
        assert_eq!(got.last(), Some(&Action::Chat("hi there".into())));
        // While typing, m is a letter, not mute.
        assert!(!got.iter().any(|a| matches!(a, Action::Switch(_))));
        let got = keys(&mut s, "f/tmp/a b.txt\n");
        assert_eq!(got.last(), Some(&Action::SendFile("/tmp/a b.txt".into())));
        let got = keys(&mut s, "cabc\x1bm");
        assert!(matches!(got.last(), Some(Action::Switch(_))));
        assert_eq!(s.input, "");
    }

    #[test]
    fn an_incoming_call_is_taken_or_refused_with_a_reason() {
        let mut s = State::new("answer", "r");
        s.ask("r");
        assert_eq!(keys(&mut s, "m"), [Action::None]);
        assert_eq!(keys(&mut s, "y"), [Action::Accept]);
        s.ask("r");
        assert_eq!(keys(&mut s, "n"), [Action::Reject("declined".into())]);
        s.ask("r");
        let got = keys(&mut s, "rbusy now\n");
        assert_eq!(got.last(), Some(&Action::Reject("busy now".into())));
        assert!(s.asking.is_none());
    }

    #[test]
    fn records_set_what_the_other_side_switched_and_the_words() {
        let mut s = State::new("dial", "r");
        s.record(&Record::Control {
            ms: 1.0,
            side: Side::Remote,
            action: ControlAction::Mute,
            state: "on".into(),
        });
        s.record(&Record::Control {
            ms: 1.0,
            side: Side::Remote,
            action: ControlAction::Video,
            state: "off".into(),
        });
        s.record(&Record::Sas {
            ms: 2.0,
            words: "a b c d".into(),
        });
        assert!(s.remote_muted && s.remote_video_off);
        assert_eq!(s.sas.as_deref(), Some("a b c d"));
        // Text from the other side is escaped before it is shown.
        s.record(&Record::Chat {
            ms: 3.0,
            direction: Direction::Receive,
            id: 0,
            text: "\u{1b}[2Jboo".into(),
        });
        assert!(!s.lines.back().unwrap().contains('\u{1b}'));
    }
}
