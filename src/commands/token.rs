//! `rtccall token`: mint an access token for a room on a `serve --secret` server.

use std::time::{Duration, SystemTime};

use super::fail_usage;
use crate::cli::{TokenArgs, TokenRole};
use crate::exit::{self, Error};
use crate::signal::Role;
use crate::signal::{auth, protocol};

pub fn token(args: &TokenArgs) -> i32 {
    if let Err(why) = protocol::validate_room(&args.room) {
        return fail_usage(&Error::usage(why));
    }
    if args.secret.len() < 16 {
        return fail_usage(&Error::usage(
            "--secret must be at least 16 characters (the server's --secret)".into(),
        ));
    }
    if args.ttl == 0 || args.ttl > 366 * 86_400 {
        return fail_usage(&Error::usage(
            "--ttl must be between 1 second and a year".into(),
        ));
    }
    let role = args.role.map(|r| match r {
        TokenRole::Dial => Role::Dial,
        TokenRole::Answer => Role::Answer,
    });
    println!(
        "{}",
        auth::mint(
            &args.secret,
            &args.room,
            Duration::from_secs(args.ttl),
            role,
            SystemTime::now()
        )
    );
    exit::OK
}
