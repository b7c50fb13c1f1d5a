//! What a person asks to send, in its command-line form (`--audio`, `--video`): parsed with
//! `FromStr` into an [`AudioChoice`] or [`VideoChoice`], then made a source with what it
//! needs from the rest of the configuration (looping, size, frame rate, the X display).

use std::path::PathBuf;
use std::str::FromStr;

use super::input::InputSpec;
use super::{AudioSource, VideoSource};

/// `--audio`: mic[:DEVICE], tone, file:PATH or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioChoice {
    Mic(Option<String>),
    Tone,
    File(PathBuf),
    None,
}

impl FromStr for AudioChoice {
    /// The one-line reason, naming `--audio`.
    type Err = String;

    fn from_str(s: &str) -> Result<AudioChoice, String> {
        let (kind, arg) = match s.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (s, None),
        };
        match (kind, arg) {
            ("tone", None) => Ok(AudioChoice::Tone),
            ("none", None) => Ok(AudioChoice::None),
            ("mic", None) => Ok(AudioChoice::Mic(None)),
            ("mic", Some(d)) if !d.is_empty() => Ok(AudioChoice::Mic(Some(d.to_string()))),
            ("file", Some(p)) if !p.is_empty() => Ok(AudioChoice::File(p.into())),
            _ => Err(format!(
                "--audio {s:?} is not one of mic, mic:DEVICE, tone, file:PATH, none"
            )),
        }
    }
}

impl AudioChoice {
    /// The source; a file plays in a loop when `looping`.
    pub fn source(self, looping: bool) -> AudioSource {
        match self {
            AudioChoice::Mic(device) => AudioSource::Mic { device },
            AudioChoice::Tone => AudioSource::Tone {
                frequency_hz: 440.0,
            },
            AudioChoice::File(path) => AudioSource::File { path, looping },
            AudioChoice::None => AudioSource::None,
        }
    }
}

/// `--video`: testsrc, file:PATH, camera[:DEVICE], screen[:DISPLAY], ffmpeg:FORMAT:INPUT or
/// none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoChoice {
    TestSrc,
    File(String),
    Camera(String),
    /// The X display, when named (`screen:DISPLAY`); otherwise `$DISPLAY`.
    Screen(Option<String>),
    Ffmpeg {
        format: String,
        input: String,
    },
    None,
}

impl FromStr for VideoChoice {
    /// The one-line reason, naming `--video`.
    type Err = String;

    fn from_str(s: &str) -> Result<VideoChoice, String> {
        let (kind, arg) = match s.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (s, None),
        };
        let named = |a: Option<&str>| a.filter(|d| !d.is_empty()).map(str::to_string);
        match (kind, arg) {
            ("testsrc", None) => Ok(VideoChoice::TestSrc),
            ("none", None) => Ok(VideoChoice::None),
            ("file", Some(p)) if !p.is_empty() => Ok(VideoChoice::File(p.to_string())),
            ("camera", dev) => Ok(VideoChoice::Camera(
                named(dev).unwrap_or_else(|| "/dev/video0".into()),
            )),
            ("screen", display) => Ok(VideoChoice::Screen(named(display))),
            ("ffmpeg", Some(rest)) => match rest.split_once(':') {
                Some((format, input)) if !format.is_empty() && !input.is_empty() => {
                    Ok(VideoChoice::Ffmpeg {
                        format: format.to_string(),
                        input: input.to_string(),
                    })
                }
                _ => Err(format!(
                    "--video {s:?}: write ffmpeg:FORMAT:INPUT, e.g. ffmpeg:lavfi:testsrc2=size=1280x720:rate=30"
                )),
            },
            _ => Err(format!(
                "--video {s:?} is not one of testsrc, file:PATH, camera[:DEVICE], screen[:DISPLAY], ffmpeg:FORMAT:INPUT, none"
            )),
        }
    }
}

impl VideoChoice {
    /// The source: capture devices are asked for `size` at `fps`, a file loops when
    /// `looping`, the screen is `display` unless one was named.
    pub fn source(
        self,
        size: (u32, u32),
        fps: u32,
        looping: bool,
        display: Option<String>,
    ) -> Result<VideoSource, String> {
        Ok(match self {
            VideoChoice::TestSrc => VideoSource::TestSrc,
            VideoChoice::None => VideoSource::None,
            VideoChoice::File(path) => file_source(&path, looping),
            VideoChoice::Camera(dev) => VideoSource::Input(InputSpec {
                what: format!("camera {dev}"),
                format: Some("v4l2".into()),
                url: dev,
                options: vec![
                    ("video_size".to_string(), format!("{}x{}", size.0, size.1)),
                    ("framerate".to_string(), fps.to_string()),
                ],
                device: true,
                looping: false,
            }),
            VideoChoice::Screen(named) => {
                let display = named
                    .or(display.filter(|d| !d.is_empty()))
                    .ok_or_else(|| {
                        "--video screen needs an X display: set DISPLAY or use screen:DISPLAY (e.g. screen::0)".to_string()
                    })?;
                VideoSource::Input(InputSpec {
                    what: format!("screen {display}"),
                    format: Some("x11grab".into()),
                    url: display,
                    options: vec![("framerate".to_string(), fps.to_string())],
                    device: true,
                    looping: false,
                })
            }
            VideoChoice::Ffmpeg { format, input } => VideoSource::Input(InputSpec {
                what: format!("FFmpeg input {format}:{input}"),
                format: Some(format),
                url: input,
                options: Vec::new(),
                device: true,
                looping: false,
            }),
        })
    }
}

/// The video of a media file.
pub fn file_source(path: &str, looping: bool) -> VideoSource {
    VideoSource::Input(InputSpec {
        what: format!("file {path}"),
        format: None,
        url: path.to_string(),
        options: Vec::new(),
        device: false,
        looping,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_from_their_command_line_form() {
        assert_eq!(
            "mic:pulse".parse::<AudioChoice>().unwrap().source(false),
            AudioSource::Mic {
                device: Some("pulse".into())
            }
        );
        assert!("mic:".parse::<AudioChoice>().is_err());
        assert!("speaker".parse::<AudioChoice>().is_err());
        let video = |s: &str| {
            s.parse::<VideoChoice>()
                .and_then(|c| c.source((640, 480), 30, false, None))
        };
        match video("camera").unwrap() {
            VideoSource::Input(i) => {
                assert_eq!(i.url, "/dev/video0");
                assert_eq!(i.format.as_deref(), Some("v4l2"));
                assert!(i.device);
            }
            other => panic!("{other:?}"),
        }
        match video("ffmpeg:lavfi:testsrc2=size=320x240:rate=30").unwrap() {
            VideoSource::Input(i) => {
                assert_eq!(i.format.as_deref(), Some("lavfi"));
                assert_eq!(i.url, "testsrc2=size=320x240:rate=30");
            }
            other => panic!("{other:?}"),
        }
        assert!(video("ffmpeg:lavfi").is_err());
        assert!(video("file:").is_err());
        assert!(video("webcam").is_err());
        // The screen: named, or the display given, or an error naming DISPLAY.
        assert!(video("screen").unwrap_err().contains("DISPLAY"));
        match "screen"
            .parse::<VideoChoice>()
            .unwrap()
            .source((640, 480), 30, false, Some(":9".into()))
            .unwrap()
        {
            VideoSource::Input(i) => assert_eq!(i.url, ":9"),
            other => panic!("{other:?}"),
        }
    }
}
