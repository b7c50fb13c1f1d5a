//! Audio: sources (tone, microphone, file) feeding the Opus encoder thread in 20 ms frames at
//! 48 kHz mono ([`send`]); the Opus decoder thread that measures what arrives and hands it to
//! the speaker's jitter buffer and the recorder ([`receive`]); the signal processing both
//! share, with no threads or devices of its own ([`dsp`]); and the FEC budget ([`budget`]).

pub mod budget;
pub mod dsp;
pub mod receive;
pub mod send;

pub use dsp::{
    FRAME_MS, FRAME_SAMPLES, JitterBuffer, MAX_MS, MAX_TARGET_MS, Pull, SAMPLE_RATE, TARGET_MS,
};
pub use receive::start_receiver;
pub(crate) use send::new_encoder;
pub use send::start_source;

#[cfg(test)]
mod tests;
