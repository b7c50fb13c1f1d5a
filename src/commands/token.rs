//! `rtccall token`: mint an access token for a room on a `serve --secret` server.

use std::time::SystemTime;

use crate::cli::TokenRequest;
use crate::exit;
use crate::signal::auth;

pub fn token(request: &TokenRequest) -> i32 {
    println!(
        "{}",
        auth::mint(
            &request.secret,
            &request.room,
            request.ttl,
            request.role,
            SystemTime::now()
        )
    );
    exit::OK
}
