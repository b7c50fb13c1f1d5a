
use builtin;
use str;

set edit:completion:arg-completer[rtccall] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'rtccall'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'rtccall'= {
            cand -v 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand serve 'Run the signaling server (rooms of two peers, WebSocket, JSON messages)'
            cand dial 'Call the peer waiting in ROOM: join, send the offer, hold the call'
            cand answer 'Wait in ROOM for a call and take it (or reject it)'
            cand probe 'Check STUN/TURN servers step by step (DNS, binding, allocation over UDP/TCP/TLS, relay echo, security), explain every failure, and exit 0 only when everything holds'
            cand devices 'List audio inputs and outputs (cpal) and video capture devices (FFmpeg)'
            cand token 'Mint an access token for a room on a `serve --secret` server (printed on stdout)'
            cand generate 'Write shell completions and man pages generated from these definitions'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rtccall;serve'= {
            cand --listen 'Address to listen on; port 0 picks a free port'
            cand --ice-server 'STUN/TURN server handed to every peer in `joined` (repeatable): the page and the CLI use them unless given their own. Credentials as turn:USER:PASS@HOST[:PORT]'
            cand --turn-secret 'Mint time-limited TURN REST credentials from this shared secret (coturn use-auth-secret / static-auth-secret) for TURN servers given without credentials (never shown in output)'
            cand --turn-user 'User part of minted usernames (EXPIRY:USER)'
            cand --ttl 'Lifetime of minted credentials, seconds (a call refreshes its allocation with them)'
            cand --tls-cert 'Serve https:// and wss:// with this PEM certificate (chain); needs --tls-key'
            cand --tls-key 'The PEM private key of --tls-cert'
            cand --tls-name 'Another DNS name or IP address for the --tls-self-signed certificate (repeatable)'
            cand --tls-cert-out 'Write the --tls-self-signed certificate (PEM) to FILE, for clients'' --ca'
            cand --secret 'Require every join to carry an access token signed with this secret (`rtccall token` mints them); /healthz and /metrics then show counts only to `Authorization: Bearer <secret>`'
            cand --allow-origin 'A web origin (scheme://host[:port]) whose pages may use this server besides its own (repeatable; `*` for any). Browser handshakes from other origins get 403'
            cand --allow-host 'A host name this server is known by (repeatable; `*` for any). A browser handshake whose Host is not one of the server''s names (an IP address, `localhost`, the machine''s name, --tls-name, these) is refused with 403 unless its Origin is allowed by --allow-origin: a DNS-rebinding page cannot join rooms of a LAN server'
            cand --max-connections 'Connections served at once (default: the open-file limit less a reserve); over it, requests get 503 while /healthz keeps answering'
            cand --max-per-ip 'Connections per client address (IPv6: per /64); over it, 429. 0: no cap'
            cand --join-rate 'Joins per second per client address (bursts of twice that); over it, the join gets `rate-limited`. 0: no limit'
            cand --head-timeout 'Seconds a client may take to send a request head (and to finish a TLS handshake)'
            cand --join-timeout 'Seconds an upgraded WebSocket may stay without joining a room before it is closed'
            cand --stall-timeout 'Seconds a write to a client may block (it does not read) before it is disconnected'
            cand --redis 'Share rooms with every `rtccall serve` on this Redis (redis://[:PASSWORD@]HOST[:PORT][/DB])'
            cand --redis-prefix 'Namespace of this deployment''s keys and channels in Redis'
            cand --json 'Print `{"type":"listening","url":...}` instead of the bare URL'
            cand --tls-self-signed 'Serve https:// and wss:// with a certificate made in memory for localhost, 127.0.0.1, ::1, the listening address and each --tls-name; its SHA-256 fingerprint is printed'
            cand -v 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'rtccall;dial'= {
            cand --server 'Signaling server URL'
            cand --token 'Access token for a signaling server run with --secret (`rtccall token` mints one)'
            cand --ca 'Also trust the certificate(s) in this PEM file for wss:// signaling servers and turns: TURN servers (a private CA, or the certificate itself, e.g. from `serve --tls-self-signed --tls-cert-out FILE`)'
            cand --timeout 'Seconds to wait for the other peer, and then for connecting'
            cand --duration 'Hang up after this many seconds connected (default: until Ctrl-C or the other side hangs up)'
            cand --audio 'Audio to send: mic[:DEVICE], tone (440 Hz), file:PATH, or none [default: mic on a terminal, tone otherwise]'
            cand --video 'Video to send: testsrc, file:PATH, camera[:DEVICE] (default /dev/video0), screen[:DISPLAY] (X11), ffmpeg:FORMAT:INPUT (any FFmpeg input device), or none'
            cand --media 'Send the audio and video of this media file (as --audio file:PATH --video file:PATH)'
            cand --video-codec 'Video codec to send (the other side''s video is decoded whatever it is)'
            cand --video-size 'Video frame size, WIDTHxHEIGHT (even numbers, 16x16 to 3840x2160); sources are scaled to it, and cameras are asked for it'
            cand --fps 'Video frames per second (1 to 60) for the test pattern, cameras and the screen'
            cand --video-bitrate 'Video bitrate in bit/s; k and M suffixes work (e.g. 800k, 1.5M)'
            cand --speaker 'Play the other side''s audio on this output device (see rtccall devices) [default: the default output on a terminal, none otherwise]'
            cand --record 'Record the received audio and video, without re-encoding, into PATH (.mkv or .webm)'
            cand --ice-server 'STUN or TURN server (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT] (TURN over TLS); credentials as turn:USER:PASS@HOST:PORT or with --ice-username/--ice-credential'
            cand --ice-username 'TURN username for --ice-server URLs that carry none'
            cand --username 'TURN username for --ice-server URLs that carry none'
            cand --ice-credential 'TURN password for --ice-server URLs that carry none (never shown in output)'
            cand --credential 'TURN password for --ice-server URLs that carry none (never shown in output)'
            cand --bind 'Local UDP address(es) for ICE (repeatable or comma-separated). 0.0.0.0:0 means every non-loopback interface; add 127.0.0.1:0 for loopback'
            cand --bind-tcp 'Local TCP address(es) for ICE-TCP candidates (none by default)'
            cand --impair 'Impair everything this peer sends (ICE, DTLS, media, data), without root: comma-separated loss=P%, delay=DUR, jitter=DUR (order kept), rate=N{bit,kbit,mbit,gbit}, queue=DUR (rate limiter''s tail-drop point, default 200ms), reorder=P%, seed=N; DUR takes us, ms or s. Example: loss=5%,delay=100ms,jitter=20ms,rate=1mbit'
            cand --send 'Send FILE to the other side (repeatable; one after the other). Without --duration the call hangs up once every file is verified by the receiver'
            cand --receive 'Take files the other side sends into DIR (without it, offers are refused)'
            cand --data-throughput 'Measure what the data channel carries: send for SECS, then receive for SECS (reliable, ordered channel); Mbit/s each second and in the summary'
            cand --stats-interval 'Seconds between stats reports'
            cand --no-embedded-server 'Never start a signaling server in this process, even when none runs on a loopback URL'
            cand --insecure 'Do not check the certificates of wss:// and turns: servers at all (testing only)'
            cand --loop 'Start files again when they end (otherwise the call hangs up at the end of the file)'
            cand --no-speaker 'Do not play the other side''s audio'
            cand --relay-only 'Use only relay (TURN) candidates'
            cand --chat 'Send the lines typed on stdin as chat messages (the other side''s lines show whether or not it is given). With stdin not a terminal, the call hangs up once every line is acknowledged (unless --duration)'
            cand --overwrite 'A received file may replace a file of the same name in the --receive directory'
            cand --json 'NDJSON on stdout: one object per line with a "type" field; logs stay on stderr'
            cand -v 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'rtccall;answer'= {
            cand --server 'Signaling server URL'
            cand --token 'Access token for a signaling server run with --secret (`rtccall token` mints one)'
            cand --ca 'Also trust the certificate(s) in this PEM file for wss:// signaling servers and turns: TURN servers (a private CA, or the certificate itself, e.g. from `serve --tls-self-signed --tls-cert-out FILE`)'
            cand --timeout 'Seconds to wait for the other peer, and then for connecting'
            cand --duration 'Hang up after this many seconds connected (default: until Ctrl-C or the other side hangs up)'
            cand --audio 'Audio to send: mic[:DEVICE], tone (440 Hz), file:PATH, or none [default: mic on a terminal, tone otherwise]'
            cand --video 'Video to send: testsrc, file:PATH, camera[:DEVICE] (default /dev/video0), screen[:DISPLAY] (X11), ffmpeg:FORMAT:INPUT (any FFmpeg input device), or none'
            cand --media 'Send the audio and video of this media file (as --audio file:PATH --video file:PATH)'
            cand --video-codec 'Video codec to send (the other side''s video is decoded whatever it is)'
            cand --video-size 'Video frame size, WIDTHxHEIGHT (even numbers, 16x16 to 3840x2160); sources are scaled to it, and cameras are asked for it'
            cand --fps 'Video frames per second (1 to 60) for the test pattern, cameras and the screen'
            cand --video-bitrate 'Video bitrate in bit/s; k and M suffixes work (e.g. 800k, 1.5M)'
            cand --speaker 'Play the other side''s audio on this output device (see rtccall devices) [default: the default output on a terminal, none otherwise]'
            cand --record 'Record the received audio and video, without re-encoding, into PATH (.mkv or .webm)'
            cand --ice-server 'STUN or TURN server (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT] (TURN over TLS); credentials as turn:USER:PASS@HOST:PORT or with --ice-username/--ice-credential'
            cand --ice-username 'TURN username for --ice-server URLs that carry none'
            cand --username 'TURN username for --ice-server URLs that carry none'
            cand --ice-credential 'TURN password for --ice-server URLs that carry none (never shown in output)'
            cand --credential 'TURN password for --ice-server URLs that carry none (never shown in output)'
            cand --bind 'Local UDP address(es) for ICE (repeatable or comma-separated). 0.0.0.0:0 means every non-loopback interface; add 127.0.0.1:0 for loopback'
            cand --bind-tcp 'Local TCP address(es) for ICE-TCP candidates (none by default)'
            cand --impair 'Impair everything this peer sends (ICE, DTLS, media, data), without root: comma-separated loss=P%, delay=DUR, jitter=DUR (order kept), rate=N{bit,kbit,mbit,gbit}, queue=DUR (rate limiter''s tail-drop point, default 200ms), reorder=P%, seed=N; DUR takes us, ms or s. Example: loss=5%,delay=100ms,jitter=20ms,rate=1mbit'
            cand --send 'Send FILE to the other side (repeatable; one after the other). Without --duration the call hangs up once every file is verified by the receiver'
            cand --receive 'Take files the other side sends into DIR (without it, offers are refused)'
            cand --data-throughput 'Measure what the data channel carries: send for SECS, then receive for SECS (reliable, ordered channel); Mbit/s each second and in the summary'
            cand --stats-interval 'Seconds between stats reports'
            cand --reject 'Decline the call; the dialer prints REASON and exits 3'
            cand --no-embedded-server 'Never start a signaling server in this process, even when none runs on a loopback URL'
            cand --insecure 'Do not check the certificates of wss:// and turns: servers at all (testing only)'
            cand --loop 'Start files again when they end (otherwise the call hangs up at the end of the file)'
            cand --no-speaker 'Do not play the other side''s audio'
            cand --relay-only 'Use only relay (TURN) candidates'
            cand --chat 'Send the lines typed on stdin as chat messages (the other side''s lines show whether or not it is given). With stdin not a terminal, the call hangs up once every line is acknowledged (unless --duration)'
            cand --overwrite 'A received file may replace a file of the same name in the --receive directory'
            cand --json 'NDJSON on stdout: one object per line with a "type" field; logs stay on stderr'
            cand --auto-accept 'Take the call without asking (the default when stdin is not a terminal)'
            cand -v 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'rtccall;probe'= {
            cand --ice-server 'STUN or TURN server to check (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT]; credentials in the URL as turn:USER:PASS@HOST or with --ice-username/--ice-credential'
            cand --ice-config 'A JSON iceServers array as a browser takes it ([{"urls":..,"username":..,"credential":..}])'
            cand --ice-username 'TURN username for --ice-server URLs that carry none'
            cand --username 'TURN username for --ice-server URLs that carry none'
            cand --ice-credential 'TURN password for --ice-server URLs that carry none (never shown in output)'
            cand --credential 'TURN password for --ice-server URLs that carry none (never shown in output)'
            cand --turn-secret 'Mint time-limited TURN REST credentials from this shared secret (coturn use-auth-secret / static-auth-secret) for TURN servers given without credentials (never shown in output)'
            cand --turn-user 'User part of minted usernames (EXPIRY:USER)'
            cand --ttl 'Lifetime of minted credentials, seconds (a call refreshes its allocation with them)'
            cand --ca 'Also trust the certificate(s) in this PEM file for wss:// signaling servers and turns: TURN servers (a private CA, or the certificate itself, e.g. from `serve --tls-self-signed --tls-cert-out FILE`)'
            cand --expect 'Require this (repeatable): relay, srflx, tcp, tls. Exit 1 when it does not hold'
            cand --max-rtt 'Fail when a binding or relay round trip (p50) is over this many ms'
            cand --timeout 'Bound on the whole probe, seconds'
            cand --step-timeout 'Bound on each step, seconds'
            cand --echo-packets 'Packets sent through each relay and echoed back'
            cand --call-media 'Each in-process call hangs up as soon as audio, video and a data channel echo have flowed both ways, or after this many seconds connected'
            cand --data-throughput 'Also measure each in-process call''s data channel: SECS of bulk data each way (reliable, ordered), so a TURN operator sees what the relay carries'
            cand --bind 'Local UDP address(es) for ICE gathering and the in-process calls (repeatable or comma-separated). 0.0.0.0:0 means every non-loopback interface'
            cand --hold 'After each TURN server''s checks, keep its allocation, permission and channel alive this many seconds (refreshing every half lifetime, with a slow echo), to catch servers that break after the first lifetime or when REST credentials expire. Adds to --timeout'
            cand --load 'After each TURN server''s checks, load it with N concurrent clients, each with its own allocation, channel and echo peer, sending --rate packets of --size bytes a second for --duration seconds (a `load` step: allocations per second, failures by code, packets per second, Mbit/s, loss, RTT p50/p95/p99). Adds --duration to --timeout'
            cand --duration 'How long each --load client sends, seconds'
            cand --rate 'Packets per second per --load client'
            cand --size 'Bytes per --load packet'
            cand --insecure 'Do not check the certificates of wss:// and turns: servers at all (testing only)'
            cand --no-call 'Skip the ICE gathering report and the in-process calls (direct and relay-only)'
            cand --json 'NDJSON on stdout: a `step` record per check, then a `summary`'
            cand -v 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'rtccall;devices'= {
            cand --json 'One JSON object on stdout'
            cand -v 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'rtccall;token'= {
            cand --secret 'The server''s --secret'
            cand --ttl 'Seconds the token stays valid'
            cand --role 'Admit only a peer joining with this role'
            cand -v 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'rtccall;generate'= {
            cand --dir 'Directory that receives completions/ and man/'
            cand -v 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'rtccall;help'= {
            cand serve 'Run the signaling server (rooms of two peers, WebSocket, JSON messages)'
            cand dial 'Call the peer waiting in ROOM: join, send the offer, hold the call'
            cand answer 'Wait in ROOM for a call and take it (or reject it)'
            cand probe 'Check STUN/TURN servers step by step (DNS, binding, allocation over UDP/TCP/TLS, relay echo, security), explain every failure, and exit 0 only when everything holds'
            cand devices 'List audio inputs and outputs (cpal) and video capture devices (FFmpeg)'
            cand token 'Mint an access token for a room on a `serve --secret` server (printed on stdout)'
            cand generate 'Write shell completions and man pages generated from these definitions'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rtccall;help;serve'= {
        }
        &'rtccall;help;dial'= {
        }
        &'rtccall;help;answer'= {
        }
        &'rtccall;help;probe'= {
        }
        &'rtccall;help;devices'= {
        }
        &'rtccall;help;token'= {
        }
        &'rtccall;help;generate'= {
        }
        &'rtccall;help;help'= {
        }
    ]
    $completions[$command]
}
