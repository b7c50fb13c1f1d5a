//! Audio and video devices: the microphone and the speaker through cpal (each stream owned by its
//! own thread), and the listing behind `rtccall devices`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use serde::{Deserialize, Serialize};

use super::audio::dsp::{Framer, JitterBuffer, Pull, Resampler, SAMPLE_RATE, f32_to_i16};
use super::{Counters, recv_until_stopped, spawn_checked};
use crate::exit::Result;

/// What `rtccall devices` lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceList {
    pub audio_inputs: Vec<AudioDevice>,
    pub audio_outputs: Vec<AudioDevice>,
    pub video_inputs: Vec<VideoDevice>,
    /// FFmpeg input formats usable with `--video ffmpeg:FORMAT:INPUT`.
    pub ffmpeg_inputs: Vec<String>,
}

/// An audio device as cpal sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioDevice {
    /// What to pass to `--audio mic:NAME` or `--speaker NAME`.
    pub name: String,
    /// cpal's full id (`host:device`).
    pub id: String,
    pub description: String,
    pub default: bool,
    /// The device's default configuration, e.g. `48000 Hz, 2 ch, f32`.
    pub config: Option<String>,
}

/// A video capture device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoDevice {
    /// What to pass to `--video`.
    pub name: String,
    pub kind: String,
    pub description: String,
}

fn device_id(d: &cpal::Device) -> (String, String) {
    match d.id() {
        Ok(id) => (id.id().to_string(), id.to_string()),
        Err(_) => (String::new(), String::new()),
    }
}

fn device_description(d: &cpal::Device) -> String {
    d.description()
        .map(|desc| desc.name().to_string())
        .unwrap_or_default()
}

fn matches(d: &cpal::Device, wanted: &str) -> bool {
    let (short, full) = device_id(d);
    short == wanted || full == wanted || device_description(d) == wanted
}

fn names(devices: impl Iterator<Item = cpal::Device>) -> String {
    let all: Vec<String> = devices.map(|d| device_id(&d).0).collect();
    if all.is_empty() {
        "none".into()
    } else {
        all.join(", ")
    }
}

/// The input device by name, or the default one.
fn find_input(
    host: &cpal::Host,
    wanted: Option<&str>,
) -> std::result::Result<cpal::Device, String> {
    match wanted {
        None => host.default_input_device().ok_or_else(|| {
            "no microphone: this machine has no audio input device (use --audio tone to send a test tone, or --audio none)".to_string()
        }),
        Some(name) => host
            .input_devices()
            .map_err(|e| format!("cannot list audio inputs: {e}"))?
            .find(|d| matches(d, name))
            .ok_or_else(|| {
                let all = host.input_devices().map(names).unwrap_or_default();
                format!("no audio input named {name:?} (there are: {all}; see rtccall devices)")
            }),
    }
}

fn find_output(
    host: &cpal::Host,
    wanted: Option<&str>,
) -> std::result::Result<cpal::Device, String> {
    match wanted {
        None => host.default_output_device().ok_or_else(|| {
            "no speaker: this machine has no audio output device (use --no-speaker)".to_string()
        }),
        Some(name) => host
            .output_devices()
            .map_err(|e| format!("cannot list audio outputs: {e}"))?
            .find(|d| matches(d, name))
            .ok_or_else(|| {
                let all = host.output_devices().map(names).unwrap_or_default();
                format!("no audio output named {name:?} (there are: {all}; see rtccall devices)")
            }),
    }
}

fn describe_stream_error(what: &str, device: &str, e: cpal::Error) -> String {
    let hint = if what == "microphone" {
        "use --audio tone or --audio none to call without one"
    } else {
        "use --no-speaker to call without one"
    };
    format!("cannot open the {what} {device:?}: {e} ({hint})")
}

/// Pick 48 kHz when the device offers it (no resampling), else the device's default rate.
fn pick_config(
    default: cpal::SupportedStreamConfig,
    mut ranges: impl Iterator<Item = cpal::SupportedStreamConfigRange>,
) -> cpal::SupportedStreamConfig {
    let wanted = default.sample_format();
    let channels = default.channels();
    ranges
        .find(|r| {
            r.sample_format() == wanted
                && r.channels() == channels
                && r.min_sample_rate() <= SAMPLE_RATE
                && r.max_sample_rate() >= SAMPLE_RATE
        })
        .and_then(|r| r.try_with_sample_rate(SAMPLE_RATE))
        .unwrap_or(default)
}

fn build_input<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    tx: std::sync::mpsc::SyncSender<Vec<f32>>,
    counters: Arc<Counters>,
) -> std::result::Result<cpal::Stream, cpal::Error>
where
    T: cpal::SizedSample + Send + 'static,
    f32: cpal::FromSample<T>,
{
    device.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], _| {
            let chunk: Vec<f32> = data.iter().map(|s| s.to_sample::<f32>()).collect();
            // When the converter thread is behind, this chunk is lost.
            if tx.try_send(chunk).is_err() {
                counters.dropped(&counters.audio.capture_dropped);
            }
        },
        |e| tracing::debug!("microphone: {e}"),
        Some(Duration::from_secs(5)),
    )
}

/// Start capturing from the microphone into `framer` (48 kHz mono, 20 ms frames).
pub(crate) fn start_mic(
    device: Option<&str>,
    mut framer: Framer,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>> {
    let wanted = device.map(str::to_string);
    spawn_checked(
        "microphone",
        move || {
            let host = cpal::default_host();
            let dev = find_input(&host, wanted.as_deref())?;
            let name = device_id(&dev).0;
            let default = dev
                .default_input_config()
                .map_err(|e| describe_stream_error("microphone", &name, e))?;
            // Listing every supported configuration opens the device many times (slow through
            // PulseAudio): only do it when the default is not 48 kHz already.
            let supported = match default.sample_rate() {
                SAMPLE_RATE => default,
                _ => match dev.supported_input_configs() {
                    Ok(r) => pick_config(default, r),
                    Err(_) => default,
                },
            };
            let format = supported.sample_format();
            let mut config = supported.config();
            config.buffer_size = cpal::BufferSize::Fixed(SAMPLE_RATE / 50);
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<f32>>(64);
            let stream = match format {
                cpal::SampleFormat::F32 => build_input::<f32>(&dev, config, tx, counters),
                cpal::SampleFormat::I16 => build_input::<i16>(&dev, config, tx, counters),
                cpal::SampleFormat::I32 => build_input::<i32>(&dev, config, tx, counters),
                cpal::SampleFormat::U8 => build_input::<u8>(&dev, config, tx, counters),
                other => {
                    return Err(format!(
                        "the microphone {name:?} delivers {other} samples, which rtccall does not read"
                    ));
                }
            }
            .map_err(|e| describe_stream_error("microphone", &name, e))?;
            stream
                .play()
                .map_err(|e| describe_stream_error("microphone", &name, e))?;
            tracing::debug!("microphone {name:?} open: {config:?} {format}");
            let resampler = if config.sample_rate != SAMPLE_RATE || config.channels != 1 {
                Some(Resampler::new(
                    config.sample_rate,
                    config.channels,
                    SAMPLE_RATE,
                    1,
                )?)
            } else {
                None
            };
            Ok((stream, rx, resampler))
        },
        move |(stream, rx, mut resampler)| {
            while let Some(chunk) = recv_until_stopped(&rx, &stop) {
                tracing::trace!("microphone: {} samples", chunk.len());
                let mono = match resampler.as_mut() {
                    Some(r) => r.run(&chunk),
                    None => chunk,
                };
                let pcm: Vec<i16> = mono.iter().map(|&s| f32_to_i16(s)).collect();
                if !framer.push(&pcm) {
                    break;
                }
            }
            drop(stream);
        },
    )
}

/// Feeds the speaker from the jitter buffer, converting 48 kHz mono to the device's format.
struct Playout {
    jitter: Arc<Mutex<JitterBuffer>>,
    counters: Arc<Counters>,
    resampler: Option<Resampler>,
    carry: VecDeque<f32>,
    channels: usize,
}

impl Playout {
    fn fill<T: cpal::SizedSample + cpal::FromSample<f32>>(&mut self, out: &mut [T]) {
        let frames = out.len() / self.channels.max(1);
        while self.carry.len() < frames {
            let mut pcm = [0i16; 480]; // 10 ms
            let pulled = self
                .jitter
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pull(&mut pcm);
            if pulled == Pull::Underrun {
                self.counters
                    .audio
                    .underruns
                    .fetch_add(1, Ordering::Relaxed);
            }
            let f: Vec<f32> = pcm.iter().map(|&s| f32::from(s) / 32768.0).collect();
            match self.resampler.as_mut() {
                Some(r) => self.carry.extend(r.run(&f)),
                None => self.carry.extend(f),
            }
        }
        for frame in out.chunks_mut(self.channels.max(1)) {
            let s = self.carry.pop_front().unwrap_or(0.0);
            for slot in frame {
                *slot = T::from_sample_(s);
            }
        }
    }
}

fn build_output<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut playout: Playout,
) -> std::result::Result<cpal::Stream, cpal::Error>
where
    T: cpal::SizedSample + cpal::FromSample<f32> + Send + 'static,
{
    device.build_output_stream::<T, _, _>(
        config,
        move |out: &mut [T], _| playout.fill(out),
        |e| tracing::debug!("speaker: {e}"),
        Some(Duration::from_secs(5)),
    )
}

/// Start playing the jitter buffer on the speaker.
pub(crate) fn start_speaker(
    device: Option<&str>,
    jitter: Arc<Mutex<JitterBuffer>>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>> {
    let wanted = device.map(str::to_string);
    spawn_checked(
        "speaker",
        move || {
            let host = cpal::default_host();
            let dev = find_output(&host, wanted.as_deref())?;
            let name = device_id(&dev).0;
            let default = dev
                .default_output_config()
                .map_err(|e| describe_stream_error("speaker", &name, e))?;
            let supported = match default.sample_rate() {
                SAMPLE_RATE => default,
                _ => match dev.supported_output_configs() {
                    Ok(r) => pick_config(default, r),
                    Err(_) => default,
                },
            };
            let format = supported.sample_format();
            let mut config = supported.config();
            config.buffer_size = cpal::BufferSize::Fixed(config.sample_rate / 50);
            let resampler = if config.sample_rate != SAMPLE_RATE {
                Some(Resampler::new(SAMPLE_RATE, 1, config.sample_rate, 1)?)
            } else {
                None
            };
            let playout = Playout {
                jitter,
                counters,
                resampler,
                carry: VecDeque::new(),
                channels: usize::from(config.channels),
            };
            let stream = match format {
                cpal::SampleFormat::F32 => build_output::<f32>(&dev, config, playout),
                cpal::SampleFormat::I16 => build_output::<i16>(&dev, config, playout),
                cpal::SampleFormat::I32 => build_output::<i32>(&dev, config, playout),
                cpal::SampleFormat::U8 => build_output::<u8>(&dev, config, playout),
                other => {
                    return Err(format!(
                        "the speaker {name:?} takes {other} samples, which rtccall does not write"
                    ));
                }
            }
            .map_err(|e| describe_stream_error("speaker", &name, e))?;
            stream
                .play()
                .map_err(|e| describe_stream_error("speaker", &name, e))?;
            Ok(stream)
        },
        move |stream| {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
            drop(stream);
        },
    )
}

fn describe_config(c: &cpal::SupportedStreamConfig) -> String {
    format!(
        "{} Hz, {} ch, {}",
        c.sample_rate(),
        c.channels(),
        c.sample_format()
    )
}

/// Everything `rtccall devices` shows.
pub fn list() -> DeviceList {
    let host = cpal::default_host();
    let default_in = host.default_input_device().map(|d| device_id(&d).1);
    let default_out = host.default_output_device().map(|d| device_id(&d).1);
    let audio = |d: cpal::Device, default: &Option<String>, input: bool| {
        let (name, id) = device_id(&d);
        let config = if input {
            d.default_input_config().ok()
        } else {
            d.default_output_config().ok()
        };
        AudioDevice {
            default: default.as_deref() == Some(id.as_str()),
            description: device_description(&d),
            config: config.as_ref().map(describe_config),
            name,
            id,
        }
    };
    let audio_inputs = host
        .input_devices()
        .map(|it| it.map(|d| audio(d, &default_in, true)).collect())
        .unwrap_or_default();
    let audio_outputs = host
        .output_devices()
        .map(|it| it.map(|d| audio(d, &default_out, false)).collect())
        .unwrap_or_default();

    let mut video_inputs = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/dev") {
        let mut nodes: Vec<String> = dir
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("video"))
            .collect();
        nodes.sort();
        for n in nodes {
            let card = std::fs::read_to_string(format!("/sys/class/video4linux/{n}/name"))
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            video_inputs.push(VideoDevice {
                name: format!("camera:/dev/{n}"),
                kind: "camera".into(),
                description: card,
            });
        }
    }
    if let Ok(display) = std::env::var("DISPLAY")
        && !display.is_empty()
    {
        video_inputs.push(VideoDevice {
            name: format!("screen:{display}"),
            kind: "screen".into(),
            description: format!("X11 display {display}"),
        });
    }
    let ffmpeg_inputs = match super::init_ffmpeg() {
        Ok(()) => super::input::device_formats(),
        Err(_) => Vec::new(),
    };
    DeviceList {
        audio_inputs,
        audio_outputs,
        video_inputs,
        ffmpeg_inputs,
    }
}
