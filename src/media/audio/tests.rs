//! Tests of the audio path's pieces: FEC, gaps, the jitter buffer, levels, the resampler.

/// A lost packet rebuilt from the next packet's FEC is closer to what was sent than the
/// decoder's plain concealment: with a loss budget the encoder really puts FEC in its packets.
#[test]
fn fec_rebuilds_a_lost_packet_better_than_concealment() {
    let (fec, plc) = fec_and_concealment_errors(10);
    assert!(
        fec < 0.5 * plc,
        "FEC error {fec:.3e}, concealment error {plc:.3e}"
    );
}

/// Without loss to budget for, the encoder spends nothing on FEC: what the next packet
/// "rebuilds" is the concealment itself.
#[test]
fn without_a_loss_budget_packets_carry_no_fec() {
    let (fec, plc) = fec_and_concealment_errors(0);
    assert_eq!(fec, plc);
}

/// The error (against decoding every packet) of one lost frame in a voice-like signal,
/// rebuilt from the next packet's FEC and filled by concealment, with the encoder budgeting
/// for `loss_pct` % loss.
fn fec_and_concealment_errors(loss_pct: i32) -> (f64, f64) {
    let mut enc = super::send::new_encoder(loss_pct).unwrap();
    let packets: Vec<Vec<u8>> = (0..50)
        .map(|f| {
            let pcm: Vec<i16> = (0..960)
                .map(|i| {
                    let t = f64::from(f * 960 + i) / 48_000.0;
                    // A voice-like mix: it changes, so plain concealment cannot guess it.
                    let a = (t * 3.0).sin().abs();
                    (8000.0
                        * a
                        * ((2.0 * std::f64::consts::PI * 220.0 * t).sin()
                            + 0.5 * (2.0 * std::f64::consts::PI * 660.0 * t * (1.0 + t)).sin()))
                        as i16
                })
                .collect();
            let mut out = vec![0u8; 4000];
            let n = enc.encode(&pcm, &mut out).unwrap();
            out.truncate(n);
            out
        })
        .collect();
    let lost = 30;
    let decode = |how: &str| {
        let mut dec = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
        let mut frame = vec![0i16; 960];
        let mut kept = Vec::new();
        for (i, p) in packets.iter().enumerate() {
            if i == lost {
                match how {
                    "fec" => dec.decode(&packets[i + 1], &mut frame, true).unwrap(),
                    "plc" => dec.decode(&[], &mut frame, false).unwrap(),
                    _ => dec.decode(p, &mut frame, false).unwrap(),
                };
                kept = frame.clone();
            } else {
                dec.decode(p, &mut frame, false).unwrap();
            }
        }
        kept
    };
    let reference = decode("all");
    let error = |v: Vec<i16>| -> f64 {
        v.iter()
            .zip(&reference)
            .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
            .sum()
    };
    (error(decode("fec")), error(decode("plc")))
}

#[test]
fn only_silk_and_hybrid_packets_carry_fec() {
    assert!(super::receive::may_carry_fec(&[0x08 << 3]));
    assert!(super::receive::may_carry_fec(&[15 << 3 | 1]));
    assert!(!super::receive::may_carry_fec(&[16 << 3]));
    assert!(!super::receive::may_carry_fec(&[]));
}

#[test]
fn gaps_are_found_by_timestamp() {
    use super::receive::{Arrival, GapTracker};
    let mut g = GapTracker::default();
    let step = |g: &mut GapTracker, ts: u32| {
        let a = g.arrived(ts);
        if a != Arrival::Late {
            g.decoded(960);
        }
        a
    };
    let lost = |n| Arrival::InOrder {
        lost: n,
        frame_len: 960,
    };
    assert_eq!(step(&mut g, 1000), lost(0));
    assert_eq!(step(&mut g, 1960), lost(0));
    // One lost, then two lost.
    assert_eq!(step(&mut g, 3880), lost(1));
    assert_eq!(step(&mut g, 6760), lost(2));
    // The lost one arriving late is dropped.
    assert_eq!(step(&mut g, 5800), Arrival::Late);
    // Wrapping timestamps, and a jump too long to conceal (a new start).
    let mut g = GapTracker::default();
    assert_eq!(step(&mut g, u32::MAX - 959), lost(0));
    assert_eq!(step(&mut g, 0), lost(0));
    assert_eq!(step(&mut g, 960 * 100), lost(0));
}

use super::dsp::*;
use crate::media::{LEVEL_SILENT, level_dbfs_tenths};
use ffmpeg_next as ffmpeg;
use std::time::{Duration, Instant};

#[test]
fn the_target_grows_under_jitter_and_shrinks_back() {
    let mut j = JitterBuffer::default();
    let t0 = Instant::now();
    let mut out = vec![0i16; 960];
    let mut at = t0;
    for _ in 0..50 {
        at += Duration::from_millis(20);
        j.push_arrived(&[0i16; 960], at);
        j.pull(&mut out);
    }
    assert_eq!(
        j.target_ms(),
        TARGET_MS,
        "a calm link keeps the base target"
    );
    // ±30 ms of jitter.
    for i in 0..100 {
        at += Duration::from_millis(if i % 2 == 0 { 50 } else { 1 });
        j.push_arrived(&[0i16; 960], at);
    }
    let grown = j.target_ms();
    assert!(grown >= TARGET_MS + 40, "target {grown} ms under jitter");
    for _ in 0..150 {
        at += Duration::from_millis(20);
        j.push_arrived(&[0i16; 960], at);
        j.pull(&mut out);
    }
    assert!(
        j.target_ms() < TARGET_MS + 5,
        "target {} ms once calm",
        j.target_ms()
    );
    assert!(
        j.depth_ms() <= j.target_ms() + TRIM_ABOVE_MS + 20,
        "{} ms held",
        j.depth_ms()
    );
}

#[test]
fn jitter_buffer_waits_for_its_target_then_plays_and_counts_underruns() {
    let mut j = JitterBuffer::default();
    let mut out = vec![0i16; 480];
    assert!(j.push(&vec![1i16; 960])); // 20 ms: below the target
    assert_eq!(
        j.pull(&mut out),
        Pull::Silent,
        "must not play before the target"
    );
    assert!(j.push(&vec![1i16; 960 * 2])); // 60 ms now
    assert_eq!(j.pull(&mut out), Pull::Played);
    assert!(out.iter().all(|&s| s == 1));
    assert_eq!(j.depth_ms(), 50);
    // Too much: the oldest goes, the newest stays.
    assert!(!j.push(&vec![2i16; MAX_MS * PER_MS]));
    assert_eq!(j.depth_ms(), MAX_MS);
    let mut first = vec![0i16; 10];
    assert_eq!(j.pull(&mut first), Pull::Played);
    assert!(first.iter().all(|&s| s == 2), "the newest audio is kept");
    let mut rest = vec![0i16; MAX_MS * PER_MS - 10];
    assert_eq!(j.pull(&mut rest), Pull::Played);
    assert!(j.push(&vec![1i16; 60 * PER_MS]));
    assert_eq!(j.pull(&mut out), Pull::Played);
    // Drain, then an underrun plays silence.
    let mut big = vec![0i16; 50 * PER_MS];
    assert_eq!(j.pull(&mut big), Pull::Played);
    assert_eq!(j.pull(&mut out), Pull::Underrun);
    assert!(out.iter().all(|&s| s == 0));
    assert_eq!(j.pull(&mut out), Pull::Silent);
}

#[test]
fn levels_in_dbfs() {
    assert_eq!(level_dbfs_tenths(&[0; 960]), LEVEL_SILENT);
    // A full-scale square wave is 0 dBFS.
    let square: Vec<i16> = (0..960)
        .map(|i| if i % 2 == 0 { 32767 } else { -32767 })
        .collect();
    assert_eq!(level_dbfs_tenths(&square), 0);
}

#[test]
fn resampler_changes_rate_and_downmixes() {
    ffmpeg::init().unwrap();
    let mut r = Resampler::new(44_100, 2, SAMPLE_RATE, 1).unwrap();
    let mut total = 0;
    for _ in 0..10 {
        // 10 ms of stereo at 44.1 kHz.
        let input = vec![0.5f32; 441 * 2];
        let out = r.run(&input);
        assert!(out.iter().all(|s| s.abs() <= 1.0));
        total += out.len();
    }
    // 100 ms at 48 kHz mono, less what the filter holds back.
    assert!((4_600..=4_800).contains(&total), "{total} samples");
}

/// A peer waiting for its call encodes an Opus frame every ENCODE_WHILE_WAITING, not 50 a
/// second; once the call is live, every frame.
#[test]
fn a_waiting_audio_encoder_encodes_little_until_the_call_is_live() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    let counters = Arc::new(crate::media::Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    let mut rx = super::send::start_source(
        &crate::media::AudioSource::Tone {
            frequency_hz: 440.0,
        },
        counters.clone(),
        stop.clone(),
        crate::media::SourceEnd::default(),
        crate::media::controls::Controls::default(),
        &mut threads,
    )
    .unwrap()
    .expect("a tone is sent");
    let waited = Instant::now();
    let before = crate::media::assert_waiting_encodes_little(&counters.audio, 50);
    counters.live.store(true, Ordering::SeqCst);
    while counters.audio.encoded.load(Ordering::Relaxed) < before + 10 {
        while rx.try_recv().is_ok() {}
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "every frame is encoded once live"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::SeqCst);
    drop(rx);
    for t in threads {
        t.join().unwrap();
    }
}
