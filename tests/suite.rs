//! The integration suite as one test binary (FFmpeg and webrtc-rs linked once): each module
//! tests one front end against real processes and peers started on loopback or in network
//! namespaces of its own, with the helpers of [`common`].

mod common;

mod browser;
mod cli;
mod data;
mod engine;
mod expect;
mod firefox;
mod interop;
mod load;
mod media;
mod probe;
mod report;
mod screen;
mod serve;
mod setup;
mod turn;
mod whip;
