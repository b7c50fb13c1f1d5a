# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_rtccall_global_optspecs
    string join \n v/verbose h/help V/version
end

function __fish_rtccall_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_rtccall_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_rtccall_using_subcommand
    set -l cmd (__fish_rtccall_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c rtccall -n "__fish_rtccall_needs_command" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c rtccall -n "__fish_rtccall_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtccall -n "__fish_rtccall_needs_command" -s V -l version -d 'Print version'
complete -c rtccall -n "__fish_rtccall_needs_command" -f -a "serve" -d 'Run the signaling server (rooms of two peers, WebSocket, JSON messages)'
complete -c rtccall -n "__fish_rtccall_needs_command" -f -a "dial" -d 'Call the peer waiting in ROOM: join, send the offer, hold the call'
complete -c rtccall -n "__fish_rtccall_needs_command" -f -a "answer" -d 'Wait in ROOM for a call and take it (or reject it)'
complete -c rtccall -n "__fish_rtccall_needs_command" -f -a "publish" -d 'Publish to a WHIP endpoint (a media server\'s ingest): send what `dial` sends, report like a call, DELETE the session at the end'
complete -c rtccall -n "__fish_rtccall_needs_command" -f -a "play" -d 'Play from a WHEP endpoint: a receive-only call; play, decode or record what arrives'
complete -c rtccall -n "__fish_rtccall_needs_command" -f -a "load" -d 'Hold many calls at once (both ends of each in this process, or one side for two machines) through signaling servers and TURN, and report set-up, media and cost'
complete -c rtccall -n "__fish_rtccall_needs_command" -f -a "probe" -d 'Check STUN/TURN servers step by step (DNS, binding, allocation over UDP/TCP/TLS, relay echo, security), explain every failure, and exit 0 only when everything holds'
complete -c rtccall -n "__fish_rtccall_needs_command" -f -a "devices" -d 'List audio inputs and outputs (cpal) and video capture devices (FFmpeg)'
complete -c rtccall -n "__fish_rtccall_needs_command" -f -a "token" -d 'Mint an access token for a room on a `serve --secret` server (printed on stdout)'
complete -c rtccall -n "__fish_rtccall_needs_command" -f -a "report" -d 'Draw a call: rtcstats dumps (--stats-dump) or NDJSON (--json) of one or both sides into a self-contained HTML report and PNG/SVG pictures'
complete -c rtccall -n "__fish_rtccall_needs_command" -f -a "generate" -d 'Write shell completions and man pages generated from these definitions'
complete -c rtccall -n "__fish_rtccall_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l listen -d 'Address to listen on; port 0 picks a free port' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l ice-server -d 'STUN/TURN server handed to every peer in `joined` (repeatable): the page and the CLI use them unless given their own. Credentials as turn:USER:PASS@HOST[:PORT]' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l turn-secret -d 'Mint time-limited TURN REST credentials from this shared secret (coturn use-auth-secret / static-auth-secret) for TURN servers given without credentials (never shown in output)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l turn-user -d 'User part of minted usernames (EXPIRY:USER)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l ttl -d 'Lifetime of minted credentials, seconds (a call refreshes its allocation with them)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l tls-cert -d 'Serve https:// and wss:// with this PEM certificate (chain); needs --tls-key' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l tls-key -d 'The PEM private key of --tls-cert' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l tls-name -d 'Another DNS name or IP address for the --tls-self-signed certificate (repeatable)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l tls-cert-out -d 'Write the --tls-self-signed certificate (PEM) to FILE, for clients\' --ca' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l secret -d 'Require every join to carry an access token signed with this secret (`rtccall token` mints them); /healthz and /metrics then show counts only to `Authorization: Bearer <secret>`' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l allow-origin -d 'A web origin (scheme://host[:port]) whose pages may use this server besides its own (repeatable; `*` for any). Browser handshakes from other origins get 403' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l allow-host -d 'A host name this server is known by (repeatable; `*` for any). A browser handshake whose Host is not one of the server\'s names (an IP address, `localhost`, the machine\'s name, --tls-name, these) is refused with 403 unless its Origin is allowed by --allow-origin: a DNS-rebinding page cannot join rooms of a LAN server' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l max-connections -d 'Connections served at once (default: the open-file limit less a reserve); over it, requests get 503 while /healthz keeps answering' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l max-per-ip -d 'Connections per client address (IPv6: per /64); over it, 429. 0: no cap' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l join-rate -d 'Joins per second per client address (bursts of twice that); over it, the join gets `rate-limited`. 0: no limit' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l head-timeout -d 'Seconds a client may take to send a request head (and to finish a TLS handshake)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l join-timeout -d 'Seconds an upgraded WebSocket may stay without joining a room before it is closed' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l stall-timeout -d 'Seconds a write to a client may block (it does not read) before it is disconnected' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l redis -d 'Share rooms with every `rtccall serve` on this Redis (redis://[:PASSWORD@]HOST[:PORT][/DB])' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l redis-prefix -d 'Namespace of this deployment\'s keys and channels in Redis' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l json -d 'Print `{"type":"listening","url":...}` instead of the bare URL'
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -l tls-self-signed -d 'Serve https:// and wss:// with a certificate made in memory for localhost, 127.0.0.1, ::1, the listening address and each --tls-name; its SHA-256 fingerprint is printed'
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtccall -n "__fish_rtccall_using_subcommand serve" -s V -l version -d 'Print version'
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l server -d 'Signaling server URL' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l token -d 'Access token for a signaling server run with --secret (`rtccall token` mints one)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l ca -d 'Also trust the certificate(s) in this PEM file for wss:// signaling servers and turns: TURN servers (a private CA, or the certificate itself, e.g. from `serve --tls-self-signed --tls-cert-out FILE`)' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l timeout -d 'Seconds to wait for the other peer, and then for connecting' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l duration -d 'Hang up after this many seconds connected (default: until Ctrl-C or the other side hangs up)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l audio -d 'Audio to send: mic[:DEVICE], tone (440 Hz), file:PATH, or none [default: mic on a terminal, tone otherwise]' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l video -d 'Video to send: testsrc, file:PATH, camera[:DEVICE] (default /dev/video0), screen[:DISPLAY] (X11), ffmpeg:FORMAT:INPUT (any FFmpeg input device), or none' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l media -d 'Send the audio and video of this media file (as --audio file:PATH --video file:PATH)' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l video-codec -d 'Video codec to send (the other side\'s video is decoded whatever it is)' -r -f -a "vp8\t'VP8 (libvpx, real-time)'
vp9\t'VP9 (libvpx-vp9, real-time)'
h264\t'H.264 constrained baseline (libx264, zero latency), packetization-mode 1'"
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l video-size -d 'Video frame size, WIDTHxHEIGHT (even numbers, 16x16 to 3840x2160); sources are scaled to it, and cameras are asked for it' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l fps -d 'Video frames per second (1 to 60) for the test pattern, cameras and the screen' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l video-bitrate -d 'Video bitrate in bit/s; k and M suffixes work (e.g. 800k, 1.5M)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l speaker -d 'Play the other side\'s audio on this output device (see rtccall devices) [default: the default output on a terminal, none otherwise]' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l record -d 'Record the received audio and video, without re-encoding, into PATH (.mkv or .webm)' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l ice-server -d 'STUN or TURN server (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT] (TURN over TLS); credentials as turn:USER:PASS@HOST:PORT or with --ice-username/--ice-credential' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l ice-username -l username -d 'TURN username for --ice-server URLs that carry none' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l ice-credential -l credential -d 'TURN password for --ice-server URLs that carry none (never shown in output)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l bind -d 'Local UDP address(es) for ICE (repeatable or comma-separated). 0.0.0.0:0 means every non-loopback interface; add 127.0.0.1:0 for loopback' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l bind-tcp -d 'Local TCP address(es) for ICE-TCP candidates (none by default)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l impair -d 'Impair everything this peer sends (ICE, DTLS, media, data), without root: comma-separated loss=P%, delay=DUR, jitter=DUR (order kept), rate=N{bit,kbit,mbit,gbit}, queue=DUR (rate limiter\'s tail-drop point, default 200ms), reorder=P%, seed=N; DUR takes us, ms or s. Example: loss=5%,delay=100ms,jitter=20ms,rate=1mbit' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l restart-ice-after -d 'Restart ICE SECS after the call first connects, though the path works (new ICE credentials, candidates gathered again): checks that the other peer or the WHIP/WHEP server takes a restart. Shown as ice-restart / ice-restarted records' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l send -d 'Send FILE to the other side (repeatable; one after the other). Without --duration the call hangs up once every file is verified by the receiver' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l receive -d 'Take files the other side sends into DIR (without it, offers are refused)' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l data-throughput -d 'Measure what the data channel carries: send for SECS, then receive for SECS (reliable, ordered channel); Mbit/s each second and in the summary' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l stats-interval -d 'Seconds between stats reports' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l stats-dump -d 'Write the call as an rtcstats dump (file format 3, JSON Lines) to FILE as it goes: API calls with their SDP, state changes, and W3C stats every --stats-interval; opened by `rtccall report` and the rtcstats dump importer' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l expect -d 'Require this of the call (repeatable), checked on its summary; exit 7 when one does not hold: connected[<SECS s], path=host|srflx|prflx|relay, relay=udp|tcp|tls, codec=vp8|vp9|h264, rtt<MS, loss<PCT, jitter<MS, fps>=N, video-decoded>=PCT, audio-decoded>=PCT, bitrate>=KBPS, freezes<=N, restarts<=N, data>=MBIT, latency<MS (also audio-latency, video-latency). Any of <, <=, >, >= works with a number' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l junit -d 'Write the call as JUnit XML to FILE when it ends: one testsuite, a testcase for connecting and one per --expect, failures with what was measured' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l view -d 'The call screen when stdin and stdout are terminals (not with --json): the other side\'s video as half-blocks (blocks), sixel or kitty graphics, or in a desktop window (window, also without a terminal); auto asks the terminal what it shows (within 100 ms) and falls back to blocks; none keeps the status line' -r -f -a "auto\t'The best the terminal supports: kitty graphics, sixel, else blocks'
blocks\t'Unicode half-blocks in 24-bit colour (any terminal, tmux included)'
sixel\t'Sixel graphics (xterm -ti vt340, foot, WezTerm, mlterm)'
kitty\t'The kitty graphics protocol (kitty, WezTerm, Ghostty)'
window\t'A desktop window (X11 or Wayland); the terminal keeps the rest of the screen'
none\t'No call screen: the status line as without a terminal'"
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l no-embedded-server -d 'Never start a signaling server in this process, even when none runs on a loopback URL'
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l insecure -d 'Do not check the certificates of wss:// and turns: servers at all (testing only)'
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l loop -d 'Start files again when they end (otherwise the call hangs up at the end of the file)'
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l no-speaker -d 'Do not play the other side\'s audio'
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l relay-only -d 'Use only relay (TURN) candidates'
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l chat -d 'Send the lines typed on stdin as chat messages (the other side\'s lines show whether or not it is given). With stdin not a terminal, the call hangs up once every line is acknowledged (unless --duration)'
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l overwrite -d 'A received file may replace a file of the same name in the --receive directory'
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -l json -d 'NDJSON on stdout: one object per line with a "type" field; logs stay on stderr'
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtccall -n "__fish_rtccall_using_subcommand dial" -s V -l version -d 'Print version'
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l server -d 'Signaling server URL' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l token -d 'Access token for a signaling server run with --secret (`rtccall token` mints one)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l ca -d 'Also trust the certificate(s) in this PEM file for wss:// signaling servers and turns: TURN servers (a private CA, or the certificate itself, e.g. from `serve --tls-self-signed --tls-cert-out FILE`)' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l timeout -d 'Seconds to wait for the other peer, and then for connecting' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l duration -d 'Hang up after this many seconds connected (default: until Ctrl-C or the other side hangs up)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l audio -d 'Audio to send: mic[:DEVICE], tone (440 Hz), file:PATH, or none [default: mic on a terminal, tone otherwise]' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l video -d 'Video to send: testsrc, file:PATH, camera[:DEVICE] (default /dev/video0), screen[:DISPLAY] (X11), ffmpeg:FORMAT:INPUT (any FFmpeg input device), or none' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l media -d 'Send the audio and video of this media file (as --audio file:PATH --video file:PATH)' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l video-codec -d 'Video codec to send (the other side\'s video is decoded whatever it is)' -r -f -a "vp8\t'VP8 (libvpx, real-time)'
vp9\t'VP9 (libvpx-vp9, real-time)'
h264\t'H.264 constrained baseline (libx264, zero latency), packetization-mode 1'"
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l video-size -d 'Video frame size, WIDTHxHEIGHT (even numbers, 16x16 to 3840x2160); sources are scaled to it, and cameras are asked for it' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l fps -d 'Video frames per second (1 to 60) for the test pattern, cameras and the screen' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l video-bitrate -d 'Video bitrate in bit/s; k and M suffixes work (e.g. 800k, 1.5M)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l speaker -d 'Play the other side\'s audio on this output device (see rtccall devices) [default: the default output on a terminal, none otherwise]' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l record -d 'Record the received audio and video, without re-encoding, into PATH (.mkv or .webm)' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l ice-server -d 'STUN or TURN server (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT] (TURN over TLS); credentials as turn:USER:PASS@HOST:PORT or with --ice-username/--ice-credential' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l ice-username -l username -d 'TURN username for --ice-server URLs that carry none' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l ice-credential -l credential -d 'TURN password for --ice-server URLs that carry none (never shown in output)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l bind -d 'Local UDP address(es) for ICE (repeatable or comma-separated). 0.0.0.0:0 means every non-loopback interface; add 127.0.0.1:0 for loopback' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l bind-tcp -d 'Local TCP address(es) for ICE-TCP candidates (none by default)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l impair -d 'Impair everything this peer sends (ICE, DTLS, media, data), without root: comma-separated loss=P%, delay=DUR, jitter=DUR (order kept), rate=N{bit,kbit,mbit,gbit}, queue=DUR (rate limiter\'s tail-drop point, default 200ms), reorder=P%, seed=N; DUR takes us, ms or s. Example: loss=5%,delay=100ms,jitter=20ms,rate=1mbit' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l restart-ice-after -d 'Restart ICE SECS after the call first connects, though the path works (new ICE credentials, candidates gathered again): checks that the other peer or the WHIP/WHEP server takes a restart. Shown as ice-restart / ice-restarted records' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l send -d 'Send FILE to the other side (repeatable; one after the other). Without --duration the call hangs up once every file is verified by the receiver' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l receive -d 'Take files the other side sends into DIR (without it, offers are refused)' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l data-throughput -d 'Measure what the data channel carries: send for SECS, then receive for SECS (reliable, ordered channel); Mbit/s each second and in the summary' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l stats-interval -d 'Seconds between stats reports' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l stats-dump -d 'Write the call as an rtcstats dump (file format 3, JSON Lines) to FILE as it goes: API calls with their SDP, state changes, and W3C stats every --stats-interval; opened by `rtccall report` and the rtcstats dump importer' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l expect -d 'Require this of the call (repeatable), checked on its summary; exit 7 when one does not hold: connected[<SECS s], path=host|srflx|prflx|relay, relay=udp|tcp|tls, codec=vp8|vp9|h264, rtt<MS, loss<PCT, jitter<MS, fps>=N, video-decoded>=PCT, audio-decoded>=PCT, bitrate>=KBPS, freezes<=N, restarts<=N, data>=MBIT, latency<MS (also audio-latency, video-latency). Any of <, <=, >, >= works with a number' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l junit -d 'Write the call as JUnit XML to FILE when it ends: one testsuite, a testcase for connecting and one per --expect, failures with what was measured' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l view -d 'The call screen when stdin and stdout are terminals (not with --json): the other side\'s video as half-blocks (blocks), sixel or kitty graphics, or in a desktop window (window, also without a terminal); auto asks the terminal what it shows (within 100 ms) and falls back to blocks; none keeps the status line' -r -f -a "auto\t'The best the terminal supports: kitty graphics, sixel, else blocks'
blocks\t'Unicode half-blocks in 24-bit colour (any terminal, tmux included)'
sixel\t'Sixel graphics (xterm -ti vt340, foot, WezTerm, mlterm)'
kitty\t'The kitty graphics protocol (kitty, WezTerm, Ghostty)'
window\t'A desktop window (X11 or Wayland); the terminal keeps the rest of the screen'
none\t'No call screen: the status line as without a terminal'"
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l reject -d 'Decline the call; the dialer prints REASON and exits 3' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l no-embedded-server -d 'Never start a signaling server in this process, even when none runs on a loopback URL'
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l insecure -d 'Do not check the certificates of wss:// and turns: servers at all (testing only)'
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l loop -d 'Start files again when they end (otherwise the call hangs up at the end of the file)'
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l no-speaker -d 'Do not play the other side\'s audio'
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l relay-only -d 'Use only relay (TURN) candidates'
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l chat -d 'Send the lines typed on stdin as chat messages (the other side\'s lines show whether or not it is given). With stdin not a terminal, the call hangs up once every line is acknowledged (unless --duration)'
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l overwrite -d 'A received file may replace a file of the same name in the --receive directory'
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l json -d 'NDJSON on stdout: one object per line with a "type" field; logs stay on stderr'
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -l auto-accept -d 'Take the call without asking (the default when stdin is not a terminal)'
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtccall -n "__fish_rtccall_using_subcommand answer" -s V -l version -d 'Print version'
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l token -d 'Bearer token the endpoint wants (sent as `Authorization: Bearer TOKEN`)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l ca -d 'Also trust the certificate(s) in this PEM file for wss:// signaling servers and turns: TURN servers (a private CA, or the certificate itself, e.g. from `serve --tls-self-signed --tls-cert-out FILE`)' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l timeout -d 'Seconds to wait for the endpoint\'s answer, and then for connecting' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l duration -d 'Hang up (DELETE the session) after this many seconds connected (default: until Ctrl-C or the server ends it)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l audio -d 'Audio to send: mic[:DEVICE], tone (440 Hz), file:PATH, or none [default: mic on a terminal, tone otherwise]' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l video -d 'Video to send: testsrc, file:PATH, camera[:DEVICE] (default /dev/video0), screen[:DISPLAY] (X11), ffmpeg:FORMAT:INPUT (any FFmpeg input device), or none' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l media -d 'Send the audio and video of this media file (as --audio file:PATH --video file:PATH)' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l video-codec -d 'Video codec to send (the other side\'s video is decoded whatever it is)' -r -f -a "vp8\t'VP8 (libvpx, real-time)'
vp9\t'VP9 (libvpx-vp9, real-time)'
h264\t'H.264 constrained baseline (libx264, zero latency), packetization-mode 1'"
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l video-size -d 'Video frame size, WIDTHxHEIGHT (even numbers, 16x16 to 3840x2160); sources are scaled to it, and cameras are asked for it' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l fps -d 'Video frames per second (1 to 60) for the test pattern, cameras and the screen' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l video-bitrate -d 'Video bitrate in bit/s; k and M suffixes work (e.g. 800k, 1.5M)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l speaker -d 'Play the other side\'s audio on this output device (see rtccall devices) [default: the default output on a terminal, none otherwise]' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l record -d 'Record the received audio and video, without re-encoding, into PATH (.mkv or .webm)' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l ice-server -d 'STUN or TURN server (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT] (TURN over TLS); credentials as turn:USER:PASS@HOST:PORT or with --ice-username/--ice-credential' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l ice-username -l username -d 'TURN username for --ice-server URLs that carry none' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l ice-credential -l credential -d 'TURN password for --ice-server URLs that carry none (never shown in output)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l bind -d 'Local UDP address(es) for ICE (repeatable or comma-separated). 0.0.0.0:0 means every non-loopback interface; add 127.0.0.1:0 for loopback' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l bind-tcp -d 'Local TCP address(es) for ICE-TCP candidates (none by default)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l impair -d 'Impair everything this peer sends (ICE, DTLS, media, data), without root: comma-separated loss=P%, delay=DUR, jitter=DUR (order kept), rate=N{bit,kbit,mbit,gbit}, queue=DUR (rate limiter\'s tail-drop point, default 200ms), reorder=P%, seed=N; DUR takes us, ms or s. Example: loss=5%,delay=100ms,jitter=20ms,rate=1mbit' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l restart-ice-after -d 'Restart ICE SECS after the call first connects, though the path works (new ICE credentials, candidates gathered again): checks that the other peer or the WHIP/WHEP server takes a restart. Shown as ice-restart / ice-restarted records' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l stats-interval -d 'Seconds between stats reports' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l stats-dump -d 'Write the call as an rtcstats dump (file format 3, JSON Lines) to FILE as it goes: API calls with their SDP, state changes, and W3C stats every --stats-interval; opened by `rtccall report` and the rtcstats dump importer' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l expect -d 'Require this of the call (repeatable), checked on its summary; exit 7 when one does not hold: connected[<SECS s], path=host|srflx|prflx|relay, relay=udp|tcp|tls, codec=vp8|vp9|h264, rtt<MS, loss<PCT, jitter<MS, fps>=N, video-decoded>=PCT, audio-decoded>=PCT, bitrate>=KBPS, freezes<=N, restarts<=N, data>=MBIT, latency<MS (also audio-latency, video-latency). Any of <, <=, >, >= works with a number' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l junit -d 'Write the call as JUnit XML to FILE when it ends: one testsuite, a testcase for connecting and one per --expect, failures with what was measured' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l view -d 'The call screen when stdin and stdout are terminals (not with --json): the other side\'s video as half-blocks (blocks), sixel or kitty graphics, or in a desktop window (window, also without a terminal); auto asks the terminal what it shows (within 100 ms) and falls back to blocks; none keeps the status line' -r -f -a "auto\t'The best the terminal supports: kitty graphics, sixel, else blocks'
blocks\t'Unicode half-blocks in 24-bit colour (any terminal, tmux included)'
sixel\t'Sixel graphics (xterm -ti vt340, foot, WezTerm, mlterm)'
kitty\t'The kitty graphics protocol (kitty, WezTerm, Ghostty)'
window\t'A desktop window (X11 or Wayland); the terminal keeps the rest of the screen'
none\t'No call screen: the status line as without a terminal'"
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l insecure -d 'Do not check the certificates of wss:// and turns: servers at all (testing only)'
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l loop -d 'Start files again when they end (otherwise the call hangs up at the end of the file)'
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l no-speaker -d 'Do not play the other side\'s audio'
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l relay-only -d 'Use only relay (TURN) candidates'
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -l json -d 'NDJSON on stdout: one object per line with a "type" field; logs stay on stderr'
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtccall -n "__fish_rtccall_using_subcommand publish" -s V -l version -d 'Print version'
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l token -d 'Bearer token the endpoint wants (sent as `Authorization: Bearer TOKEN`)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l ca -d 'Also trust the certificate(s) in this PEM file for wss:// signaling servers and turns: TURN servers (a private CA, or the certificate itself, e.g. from `serve --tls-self-signed --tls-cert-out FILE`)' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l timeout -d 'Seconds to wait for the endpoint\'s answer, and then for connecting' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l duration -d 'Hang up (DELETE the session) after this many seconds connected (default: until Ctrl-C or the server ends it)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l audio -d 'Audio to send: mic[:DEVICE], tone (440 Hz), file:PATH, or none [default: mic on a terminal, tone otherwise]' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l video -d 'Video to send: testsrc, file:PATH, camera[:DEVICE] (default /dev/video0), screen[:DISPLAY] (X11), ffmpeg:FORMAT:INPUT (any FFmpeg input device), or none' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l media -d 'Send the audio and video of this media file (as --audio file:PATH --video file:PATH)' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l video-codec -d 'Video codec to send (the other side\'s video is decoded whatever it is)' -r -f -a "vp8\t'VP8 (libvpx, real-time)'
vp9\t'VP9 (libvpx-vp9, real-time)'
h264\t'H.264 constrained baseline (libx264, zero latency), packetization-mode 1'"
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l video-size -d 'Video frame size, WIDTHxHEIGHT (even numbers, 16x16 to 3840x2160); sources are scaled to it, and cameras are asked for it' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l fps -d 'Video frames per second (1 to 60) for the test pattern, cameras and the screen' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l video-bitrate -d 'Video bitrate in bit/s; k and M suffixes work (e.g. 800k, 1.5M)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l speaker -d 'Play the other side\'s audio on this output device (see rtccall devices) [default: the default output on a terminal, none otherwise]' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l record -d 'Record the received audio and video, without re-encoding, into PATH (.mkv or .webm)' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l ice-server -d 'STUN or TURN server (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT] (TURN over TLS); credentials as turn:USER:PASS@HOST:PORT or with --ice-username/--ice-credential' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l ice-username -l username -d 'TURN username for --ice-server URLs that carry none' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l ice-credential -l credential -d 'TURN password for --ice-server URLs that carry none (never shown in output)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l bind -d 'Local UDP address(es) for ICE (repeatable or comma-separated). 0.0.0.0:0 means every non-loopback interface; add 127.0.0.1:0 for loopback' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l bind-tcp -d 'Local TCP address(es) for ICE-TCP candidates (none by default)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l impair -d 'Impair everything this peer sends (ICE, DTLS, media, data), without root: comma-separated loss=P%, delay=DUR, jitter=DUR (order kept), rate=N{bit,kbit,mbit,gbit}, queue=DUR (rate limiter\'s tail-drop point, default 200ms), reorder=P%, seed=N; DUR takes us, ms or s. Example: loss=5%,delay=100ms,jitter=20ms,rate=1mbit' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l restart-ice-after -d 'Restart ICE SECS after the call first connects, though the path works (new ICE credentials, candidates gathered again): checks that the other peer or the WHIP/WHEP server takes a restart. Shown as ice-restart / ice-restarted records' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l stats-interval -d 'Seconds between stats reports' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l stats-dump -d 'Write the call as an rtcstats dump (file format 3, JSON Lines) to FILE as it goes: API calls with their SDP, state changes, and W3C stats every --stats-interval; opened by `rtccall report` and the rtcstats dump importer' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l expect -d 'Require this of the call (repeatable), checked on its summary; exit 7 when one does not hold: connected[<SECS s], path=host|srflx|prflx|relay, relay=udp|tcp|tls, codec=vp8|vp9|h264, rtt<MS, loss<PCT, jitter<MS, fps>=N, video-decoded>=PCT, audio-decoded>=PCT, bitrate>=KBPS, freezes<=N, restarts<=N, data>=MBIT, latency<MS (also audio-latency, video-latency). Any of <, <=, >, >= works with a number' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l junit -d 'Write the call as JUnit XML to FILE when it ends: one testsuite, a testcase for connecting and one per --expect, failures with what was measured' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l view -d 'The call screen when stdin and stdout are terminals (not with --json): the other side\'s video as half-blocks (blocks), sixel or kitty graphics, or in a desktop window (window, also without a terminal); auto asks the terminal what it shows (within 100 ms) and falls back to blocks; none keeps the status line' -r -f -a "auto\t'The best the terminal supports: kitty graphics, sixel, else blocks'
blocks\t'Unicode half-blocks in 24-bit colour (any terminal, tmux included)'
sixel\t'Sixel graphics (xterm -ti vt340, foot, WezTerm, mlterm)'
kitty\t'The kitty graphics protocol (kitty, WezTerm, Ghostty)'
window\t'A desktop window (X11 or Wayland); the terminal keeps the rest of the screen'
none\t'No call screen: the status line as without a terminal'"
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l insecure -d 'Do not check the certificates of wss:// and turns: servers at all (testing only)'
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l loop -d 'Start files again when they end (otherwise the call hangs up at the end of the file)'
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l no-speaker -d 'Do not play the other side\'s audio'
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l relay-only -d 'Use only relay (TURN) candidates'
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -l json -d 'NDJSON on stdout: one object per line with a "type" field; logs stay on stderr'
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtccall -n "__fish_rtccall_using_subcommand play" -s V -l version -d 'Print version'
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l server -d 'Signaling server (repeatable: calls are spread over them in turn, e.g. `serve` instances sharing rooms through Redis)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l token -d 'Access token for servers run with --secret, the same for every call (a token admits to one room: see --serve-secret for many)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l serve-secret -d 'The servers\' --secret: each side mints its own token for its room and role (as `rtccall token` does), valid for the run' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l ca -d 'Also trust the certificate(s) in this PEM file for wss:// signaling servers and turns: TURN servers (a private CA, or the certificate itself, e.g. from `serve --tls-self-signed --tls-cert-out FILE`)' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l calls -d 'How many calls' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l rate -d 'Calls started per second' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l duration -d 'Seconds each call is held once connected' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l timeout -d 'Seconds a side waits for its peer, and then to connect' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l side -d 'Which ends of each call run in this process' -r -f -a "both\t'Both ends: the dialer and the answerer of each call run here'
dial\t'Dialers only (another `rtccall load --side answer` answers, with the same --rooms)'
answer\t'Answerers only'"
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l rooms -d 'Room names: PREFIX-0 .. PREFIX-(N-1) (give both machines the same one with --side)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l media -d 'What each call sends both ways' -r -f -a "audio\t'A tone (Opus), both ways'
video\t'The test pattern, both ways'
both\t'Both'
none\t'Nothing but the data channel'"
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l video-codec -d 'Video codec of the test pattern (one encoder per codec and size, shared by every call)' -r -f -a "vp8\t'VP8 (libvpx, real-time)'
vp9\t'VP9 (libvpx-vp9, real-time)'
h264\t'H.264 constrained baseline (libx264, zero latency), packetization-mode 1'"
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l video-size -d 'Video size, WIDTHxHEIGHT' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l fps -d 'Video frame rate' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l video-bitrate -d 'Video bitrate, e.g. 300k or 1.5M' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l decode -d 'Decode the media of one call in K (the others check, count and time frames without decoding them); 0 decodes none' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l data-throughput -d 'Each dialer also measures its data channel: SECS of bulk data each way' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l ice-server -d 'STUN or TURN server (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT] (TURN over TLS); credentials as turn:USER:PASS@HOST:PORT or with --ice-username/--ice-credential' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l ice-username -l username -d 'TURN username for --ice-server URLs that carry none' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l ice-credential -l credential -d 'TURN password for --ice-server URLs that carry none (never shown in output)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l bind -d 'Local UDP address(es) for ICE (repeatable or comma-separated). 0.0.0.0:0 means every non-loopback interface; add 127.0.0.1:0 for loopback' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l bind-tcp -d 'Local TCP address(es) for ICE-TCP candidates (none by default)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l impair -d 'Impair everything this peer sends (ICE, DTLS, media, data), without root: comma-separated loss=P%, delay=DUR, jitter=DUR (order kept), rate=N{bit,kbit,mbit,gbit}, queue=DUR (rate limiter\'s tail-drop point, default 200ms), reorder=P%, seed=N; DUR takes us, ms or s. Example: loss=5%,delay=100ms,jitter=20ms,rate=1mbit' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l restart-ice-after -d 'Restart ICE SECS after the call first connects, though the path works (new ICE credentials, candidates gathered again): checks that the other peer or the WHIP/WHEP server takes a restart. Shown as ice-restart / ice-restarted records' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l expect -d 'Require this of every side of every call (repeatable; the conditions of `dial --expect`); exit 7 when one side misses one' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l junit -d 'Write the load as JUnit XML to FILE: a testsuite per side of each call, one for the load' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l insecure -d 'Do not check the certificates of wss:// and turns: servers at all (testing only)'
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l relay-only -d 'Use only relay (TURN) candidates'
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -l json -d 'NDJSON on stdout: load-progress every second, load-call per side, load-summary'
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtccall -n "__fish_rtccall_using_subcommand load" -s V -l version -d 'Print version'
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l ice-server -d 'STUN or TURN server to check (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT]; credentials in the URL as turn:USER:PASS@HOST or with --ice-username/--ice-credential' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l ice-config -d 'A JSON iceServers array as a browser takes it ([{"urls":..,"username":..,"credential":..}])' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l ice-username -l username -d 'TURN username for --ice-server URLs that carry none' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l ice-credential -l credential -d 'TURN password for --ice-server URLs that carry none (never shown in output)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l whip -d 'A WHIP endpoint to check (repeatable): auth, its Link ICE servers (each probed), the POST and its answer, trickle PATCH, a session publishing the test pattern and a tone for --call-media, DELETE' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l whep -d 'A WHEP endpoint to check (repeatable): as --whip, playing for --call-media' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l token -d 'Bearer token for --whip/--whep endpoints; with it the probe also checks that a POST without it is refused' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l turn-secret -d 'Mint time-limited TURN REST credentials from this shared secret (coturn use-auth-secret / static-auth-secret) for TURN servers given without credentials (never shown in output)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l turn-user -d 'User part of minted usernames (EXPIRY:USER)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l ttl -d 'Lifetime of minted credentials, seconds (a call refreshes its allocation with them)' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l ca -d 'Also trust the certificate(s) in this PEM file for wss:// signaling servers and turns: TURN servers (a private CA, or the certificate itself, e.g. from `serve --tls-self-signed --tls-cert-out FILE`)' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l expect -d 'Require this (repeatable): relay, srflx, tcp, tls. Exit 1 when it does not hold' -r -f -a "relay\t'Every TURN server yields a working relay (allocation and echo)'
srflx\t'Some server returns a server-reflexive (mapped) address'
tcp\t'Some server works over TCP'
tls\t'Some server works over TLS'"
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l max-rtt -d 'Fail when a binding or relay round trip (p50) is over this many ms' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l timeout -d 'Bound on the whole probe, seconds' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l step-timeout -d 'Bound on each step, seconds' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l echo-packets -d 'Packets sent through each relay and echoed back' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l call-media -d 'Each in-process call hangs up as soon as audio, video and a data channel echo have flowed both ways, or after this many seconds connected' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l data-throughput -d 'Also measure each in-process call\'s data channel: SECS of bulk data each way (reliable, ordered), so a TURN operator sees what the relay carries' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l stats-dump -d 'Write an rtcstats dump of each side of each in-process call into DIR (made if missing): direct-dial.rtcstats, relay-HOST-PORT-answer.rtcstats, whip-...-publish.rtcstats' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l junit -d 'Write the probe as JUnit XML to FILE when it ends: a testsuite per server (a testcase per step, failures with their explanation) and one for the verdict and --expect' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l bind -d 'Local UDP address(es) for ICE gathering and the in-process calls (repeatable or comma-separated). 0.0.0.0:0 means every non-loopback interface' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l hold -d 'After each TURN server\'s checks, keep its allocation, permission and channel alive this many seconds (refreshing every half lifetime, with a slow echo), to catch servers that break after the first lifetime or when REST credentials expire. Adds to --timeout' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l load -d 'After each TURN server\'s checks, load it with N concurrent clients, each with its own allocation, channel and echo peer, sending --rate packets of --size bytes a second for --duration seconds (a `load` step: allocations per second, failures by code, packets per second, Mbit/s, loss, RTT p50/p95/p99). Adds --duration to --timeout' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l duration -d 'How long each --load client sends, seconds' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l rate -d 'Packets per second per --load client' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l size -d 'Bytes per --load packet' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l insecure -d 'Do not check the certificates of wss:// and turns: servers at all (testing only)'
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l no-call -d 'Skip the ICE gathering report and the in-process calls (direct and relay-only)'
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -l json -d 'NDJSON on stdout: a `step` record per check, then a `summary`'
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtccall -n "__fish_rtccall_using_subcommand probe" -s V -l version -d 'Print version'
complete -c rtccall -n "__fish_rtccall_using_subcommand devices" -l json -d 'One JSON object on stdout'
complete -c rtccall -n "__fish_rtccall_using_subcommand devices" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c rtccall -n "__fish_rtccall_using_subcommand devices" -s h -l help -d 'Print help'
complete -c rtccall -n "__fish_rtccall_using_subcommand devices" -s V -l version -d 'Print version'
complete -c rtccall -n "__fish_rtccall_using_subcommand token" -l secret -d 'The server\'s --secret' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand token" -l ttl -d 'Seconds the token stays valid' -r
complete -c rtccall -n "__fish_rtccall_using_subcommand token" -l role -d 'Admit only a peer joining with this role' -r -f -a "dial\t''
answer\t''"
complete -c rtccall -n "__fish_rtccall_using_subcommand token" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c rtccall -n "__fish_rtccall_using_subcommand token" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtccall -n "__fish_rtccall_using_subcommand token" -s V -l version -d 'Print version'
complete -c rtccall -n "__fish_rtccall_using_subcommand report" -s o -l output -d 'Write the self-contained HTML report here' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand report" -l png -d 'Write every plot, stacked, as a PNG picture here' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand report" -l svg -d 'Write every plot, stacked, as an SVG picture here' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand report" -l webrtc-internals -d 'Write the call in the webrtc-internals dump format (Chrome\'s "Create dump") here; from rtcstats dumps only (two sides: two peer connections in one dump)' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand report" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c rtccall -n "__fish_rtccall_using_subcommand report" -s h -l help -d 'Print help'
complete -c rtccall -n "__fish_rtccall_using_subcommand report" -s V -l version -d 'Print version'
complete -c rtccall -n "__fish_rtccall_using_subcommand generate" -l dir -d 'Directory that receives completions/ and man/' -r -F
complete -c rtccall -n "__fish_rtccall_using_subcommand generate" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c rtccall -n "__fish_rtccall_using_subcommand generate" -s h -l help -d 'Print help'
complete -c rtccall -n "__fish_rtccall_using_subcommand generate" -s V -l version -d 'Print version'
complete -c rtccall -n "__fish_rtccall_using_subcommand help; and not __fish_seen_subcommand_from serve dial answer publish play load probe devices token report generate help" -f -a "serve" -d 'Run the signaling server (rooms of two peers, WebSocket, JSON messages)'
complete -c rtccall -n "__fish_rtccall_using_subcommand help; and not __fish_seen_subcommand_from serve dial answer publish play load probe devices token report generate help" -f -a "dial" -d 'Call the peer waiting in ROOM: join, send the offer, hold the call'
complete -c rtccall -n "__fish_rtccall_using_subcommand help; and not __fish_seen_subcommand_from serve dial answer publish play load probe devices token report generate help" -f -a "answer" -d 'Wait in ROOM for a call and take it (or reject it)'
complete -c rtccall -n "__fish_rtccall_using_subcommand help; and not __fish_seen_subcommand_from serve dial answer publish play load probe devices token report generate help" -f -a "publish" -d 'Publish to a WHIP endpoint (a media server\'s ingest): send what `dial` sends, report like a call, DELETE the session at the end'
complete -c rtccall -n "__fish_rtccall_using_subcommand help; and not __fish_seen_subcommand_from serve dial answer publish play load probe devices token report generate help" -f -a "play" -d 'Play from a WHEP endpoint: a receive-only call; play, decode or record what arrives'
complete -c rtccall -n "__fish_rtccall_using_subcommand help; and not __fish_seen_subcommand_from serve dial answer publish play load probe devices token report generate help" -f -a "load" -d 'Hold many calls at once (both ends of each in this process, or one side for two machines) through signaling servers and TURN, and report set-up, media and cost'
complete -c rtccall -n "__fish_rtccall_using_subcommand help; and not __fish_seen_subcommand_from serve dial answer publish play load probe devices token report generate help" -f -a "probe" -d 'Check STUN/TURN servers step by step (DNS, binding, allocation over UDP/TCP/TLS, relay echo, security), explain every failure, and exit 0 only when everything holds'
complete -c rtccall -n "__fish_rtccall_using_subcommand help; and not __fish_seen_subcommand_from serve dial answer publish play load probe devices token report generate help" -f -a "devices" -d 'List audio inputs and outputs (cpal) and video capture devices (FFmpeg)'
complete -c rtccall -n "__fish_rtccall_using_subcommand help; and not __fish_seen_subcommand_from serve dial answer publish play load probe devices token report generate help" -f -a "token" -d 'Mint an access token for a room on a `serve --secret` server (printed on stdout)'
complete -c rtccall -n "__fish_rtccall_using_subcommand help; and not __fish_seen_subcommand_from serve dial answer publish play load probe devices token report generate help" -f -a "report" -d 'Draw a call: rtcstats dumps (--stats-dump) or NDJSON (--json) of one or both sides into a self-contained HTML report and PNG/SVG pictures'
complete -c rtccall -n "__fish_rtccall_using_subcommand help; and not __fish_seen_subcommand_from serve dial answer publish play load probe devices token report generate help" -f -a "generate" -d 'Write shell completions and man pages generated from these definitions'
complete -c rtccall -n "__fish_rtccall_using_subcommand help; and not __fish_seen_subcommand_from serve dial answer publish play load probe devices token report generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
