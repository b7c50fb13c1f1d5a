//! `rtccall devices`: what can be captured and played here.

use crate::{exit, media, report};

/// `rtccall devices`: what can be captured and played here.
pub fn devices(json: bool) -> i32 {
    let list = {
        // ALSA's plugins (JACK, OSS) print their probing failures on stderr: not ours to show.
        let _quiet = gag::Gag::stderr().ok();
        media::devices::list()
    };
    if json {
        match serde_json::to_string(&list) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("rtccall: error: {e}");
                return exit::USAGE;
            }
        }
        return exit::OK;
    }
    report::human::print_devices(&list);
    exit::OK
}
