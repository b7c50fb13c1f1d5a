
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'rtccall' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'rtccall'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'rtccall' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the signaling server (rooms of two peers, WebSocket, JSON messages)')
            [CompletionResult]::new('dial', 'dial', [CompletionResultType]::ParameterValue, 'Call the peer waiting in ROOM: join, send the offer, hold the call')
            [CompletionResult]::new('answer', 'answer', [CompletionResultType]::ParameterValue, 'Wait in ROOM for a call and take it (or reject it)')
            [CompletionResult]::new('publish', 'publish', [CompletionResultType]::ParameterValue, 'Publish to a WHIP endpoint (a media server''s ingest): send what `dial` sends, report like a call, DELETE the session at the end')
            [CompletionResult]::new('play', 'play', [CompletionResultType]::ParameterValue, 'Play from a WHEP endpoint: a receive-only call; play, decode or record what arrives')
            [CompletionResult]::new('load', 'load', [CompletionResultType]::ParameterValue, 'Hold many calls at once (both ends of each in this process, or one side for two machines) through signaling servers and TURN, and report set-up, media and cost')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Check STUN/TURN servers step by step (DNS, binding, allocation over UDP/TCP/TLS, relay echo, security), explain every failure, and exit 0 only when everything holds')
            [CompletionResult]::new('devices', 'devices', [CompletionResultType]::ParameterValue, 'List audio inputs and outputs (cpal) and video capture devices (FFmpeg)')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Mint an access token for a room on a `serve --secret` server (printed on stdout)')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'Draw a call: rtcstats dumps (--stats-dump) or NDJSON (--json) of one or both sides into a self-contained HTML report and PNG/SVG pictures')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages generated from these definitions')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rtccall;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on; port 0 picks a free port')
            [CompletionResult]::new('--ice-server', '--ice-server', [CompletionResultType]::ParameterName, 'STUN/TURN server handed to every peer in `joined` (repeatable): the page and the CLI use them unless given their own. Credentials as turn:USER:PASS@HOST[:PORT]')
            [CompletionResult]::new('--turn-secret', '--turn-secret', [CompletionResultType]::ParameterName, 'Mint time-limited TURN REST credentials from this shared secret (coturn use-auth-secret / static-auth-secret) for TURN servers given without credentials (never shown in output)')
            [CompletionResult]::new('--turn-user', '--turn-user', [CompletionResultType]::ParameterName, 'User part of minted usernames (EXPIRY:USER)')
            [CompletionResult]::new('--ttl', '--ttl', [CompletionResultType]::ParameterName, 'Lifetime of minted credentials, seconds (a call refreshes its allocation with them)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Serve https:// and wss:// with this PEM certificate (chain); needs --tls-key')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The PEM private key of --tls-cert')
            [CompletionResult]::new('--tls-name', '--tls-name', [CompletionResultType]::ParameterName, 'Another DNS name or IP address for the --tls-self-signed certificate (repeatable)')
            [CompletionResult]::new('--tls-cert-out', '--tls-cert-out', [CompletionResultType]::ParameterName, 'Write the --tls-self-signed certificate (PEM) to FILE, for clients'' --ca')
            [CompletionResult]::new('--secret', '--secret', [CompletionResultType]::ParameterName, 'Require every join to carry an access token signed with this secret (`rtccall token` mints them); /healthz and /metrics then show counts only to `Authorization: Bearer <secret>`')
            [CompletionResult]::new('--allow-origin', '--allow-origin', [CompletionResultType]::ParameterName, 'A web origin (scheme://host[:port]) whose pages may use this server besides its own (repeatable; `*` for any). Browser handshakes from other origins get 403')
            [CompletionResult]::new('--allow-host', '--allow-host', [CompletionResultType]::ParameterName, 'A host name this server is known by (repeatable; `*` for any). A browser handshake whose Host is not one of the server''s names (an IP address, `localhost`, the machine''s name, --tls-name, these) is refused with 403 unless its Origin is allowed by --allow-origin: a DNS-rebinding page cannot join rooms of a LAN server')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Connections served at once (default: the open-file limit less a reserve); over it, requests get 503 while /healthz keeps answering')
            [CompletionResult]::new('--max-per-ip', '--max-per-ip', [CompletionResultType]::ParameterName, 'Connections per client address (IPv6: per /64); over it, 429. 0: no cap')
            [CompletionResult]::new('--join-rate', '--join-rate', [CompletionResultType]::ParameterName, 'Joins per second per client address (bursts of twice that); over it, the join gets `rate-limited`. 0: no limit')
            [CompletionResult]::new('--head-timeout', '--head-timeout', [CompletionResultType]::ParameterName, 'Seconds a client may take to send a request head (and to finish a TLS handshake)')
            [CompletionResult]::new('--join-timeout', '--join-timeout', [CompletionResultType]::ParameterName, 'Seconds an upgraded WebSocket may stay without joining a room before it is closed')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Seconds a write to a client may block (it does not read) before it is disconnected')
            [CompletionResult]::new('--redis', '--redis', [CompletionResultType]::ParameterName, 'Share rooms with every `rtccall serve` on this Redis (redis://[:PASSWORD@]HOST[:PORT][/DB])')
            [CompletionResult]::new('--redis-prefix', '--redis-prefix', [CompletionResultType]::ParameterName, 'Namespace of this deployment''s keys and channels in Redis')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print `{"type":"listening","url":...}` instead of the bare URL')
            [CompletionResult]::new('--tls-self-signed', '--tls-self-signed', [CompletionResultType]::ParameterName, 'Serve https:// and wss:// with a certificate made in memory for localhost, 127.0.0.1, ::1, the listening address and each --tls-name; its SHA-256 fingerprint is printed')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rtccall;dial' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Signaling server URL')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Access token for a signaling server run with --secret (`rtccall token` mints one)')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Also trust the certificate(s) in this PEM file for wss:// signaling servers and turns: TURN servers (a private CA, or the certificate itself, e.g. from `serve --tls-self-signed --tls-cert-out FILE`)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the other peer, and then for connecting')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Hang up after this many seconds connected (default: until Ctrl-C or the other side hangs up)')
            [CompletionResult]::new('--audio', '--audio', [CompletionResultType]::ParameterName, 'Audio to send: mic[:DEVICE], tone (440 Hz), file:PATH, or none [default: mic on a terminal, tone otherwise]')
            [CompletionResult]::new('--video', '--video', [CompletionResultType]::ParameterName, 'Video to send: testsrc, file:PATH, camera[:DEVICE] (default /dev/video0), screen[:DISPLAY] (X11), ffmpeg:FORMAT:INPUT (any FFmpeg input device), or none')
            [CompletionResult]::new('--media', '--media', [CompletionResultType]::ParameterName, 'Send the audio and video of this media file (as --audio file:PATH --video file:PATH)')
            [CompletionResult]::new('--video-codec', '--video-codec', [CompletionResultType]::ParameterName, 'Video codec to send (the other side''s video is decoded whatever it is)')
            [CompletionResult]::new('--video-size', '--video-size', [CompletionResultType]::ParameterName, 'Video frame size, WIDTHxHEIGHT (even numbers, 16x16 to 3840x2160); sources are scaled to it, and cameras are asked for it')
            [CompletionResult]::new('--fps', '--fps', [CompletionResultType]::ParameterName, 'Video frames per second (1 to 60) for the test pattern, cameras and the screen')
            [CompletionResult]::new('--video-bitrate', '--video-bitrate', [CompletionResultType]::ParameterName, 'Video bitrate in bit/s; k and M suffixes work (e.g. 800k, 1.5M)')
            [CompletionResult]::new('--speaker', '--speaker', [CompletionResultType]::ParameterName, 'Play the other side''s audio on this output device (see rtccall devices) [default: the default output on a terminal, none otherwise]')
            [CompletionResult]::new('--record', '--record', [CompletionResultType]::ParameterName, 'Record the received audio and video, without re-encoding, into PATH (.mkv or .webm)')
            [CompletionResult]::new('--ice-server', '--ice-server', [CompletionResultType]::ParameterName, 'STUN or TURN server (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT] (TURN over TLS); credentials as turn:USER:PASS@HOST:PORT or with --ice-username/--ice-credential')
            [CompletionResult]::new('--ice-username', '--ice-username', [CompletionResultType]::ParameterName, 'TURN username for --ice-server URLs that carry none')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'TURN username for --ice-server URLs that carry none')
            [CompletionResult]::new('--ice-credential', '--ice-credential', [CompletionResultType]::ParameterName, 'TURN password for --ice-server URLs that carry none (never shown in output)')
            [CompletionResult]::new('--credential', '--credential', [CompletionResultType]::ParameterName, 'TURN password for --ice-server URLs that carry none (never shown in output)')
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Local UDP address(es) for ICE (repeatable or comma-separated). 0.0.0.0:0 means every non-loopback interface; add 127.0.0.1:0 for loopback')
            [CompletionResult]::new('--bind-tcp', '--bind-tcp', [CompletionResultType]::ParameterName, 'Local TCP address(es) for ICE-TCP candidates (none by default)')
            [CompletionResult]::new('--impair', '--impair', [CompletionResultType]::ParameterName, 'Impair everything this peer sends (ICE, DTLS, media, data), without root: comma-separated loss=P%, delay=DUR, jitter=DUR (order kept), rate=N{bit,kbit,mbit,gbit}, queue=DUR (rate limiter''s tail-drop point, default 200ms), reorder=P%, seed=N; DUR takes us, ms or s. Example: loss=5%,delay=100ms,jitter=20ms,rate=1mbit')
            [CompletionResult]::new('--restart-ice-after', '--restart-ice-after', [CompletionResultType]::ParameterName, 'Restart ICE SECS after the call first connects, though the path works (new ICE credentials, candidates gathered again): checks that the other peer or the WHIP/WHEP server takes a restart. Shown as ice-restart / ice-restarted records')
            [CompletionResult]::new('--send', '--send', [CompletionResultType]::ParameterName, 'Send FILE to the other side (repeatable; one after the other). Without --duration the call hangs up once every file is verified by the receiver')
            [CompletionResult]::new('--receive', '--receive', [CompletionResultType]::ParameterName, 'Take files the other side sends into DIR (without it, offers are refused)')
            [CompletionResult]::new('--data-throughput', '--data-throughput', [CompletionResultType]::ParameterName, 'Measure what the data channel carries: send for SECS, then receive for SECS (reliable, ordered channel); Mbit/s each second and in the summary')
            [CompletionResult]::new('--stats-interval', '--stats-interval', [CompletionResultType]::ParameterName, 'Seconds between stats reports')
            [CompletionResult]::new('--stats-dump', '--stats-dump', [CompletionResultType]::ParameterName, 'Write the call as an rtcstats dump (file format 3, JSON Lines) to FILE as it goes: API calls with their SDP, state changes, and W3C stats every --stats-interval; opened by `rtccall report` and the rtcstats dump importer')
            [CompletionResult]::new('--expect', '--expect', [CompletionResultType]::ParameterName, 'Require this of the call (repeatable), checked on its summary; exit 7 when one does not hold: connected[<SECS s], path=host|srflx|prflx|relay, relay=udp|tcp|tls, codec=vp8|vp9|h264, rtt<MS, loss<PCT, jitter<MS, fps>=N, video-decoded>=PCT, audio-decoded>=PCT, bitrate>=KBPS, freezes<=N, restarts<=N, data>=MBIT, latency<MS (also audio-latency, video-latency). Any of <, <=, >, >= works with a number')
            [CompletionResult]::new('--junit', '--junit', [CompletionResultType]::ParameterName, 'Write the call as JUnit XML to FILE when it ends: one testsuite, a testcase for connecting and one per --expect, failures with what was measured')
            [CompletionResult]::new('--view', '--view', [CompletionResultType]::ParameterName, 'The call screen when stdin and stdout are terminals (not with --json): the other side''s video as half-blocks (blocks), sixel or kitty graphics, or in a desktop window (window, also without a terminal); auto asks the terminal what it shows (within 100 ms) and falls back to blocks; none keeps the status line')
            [CompletionResult]::new('--no-embedded-server', '--no-embedded-server', [CompletionResultType]::ParameterName, 'Never start a signaling server in this process, even when none runs on a loopback URL')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not check the certificates of wss:// and turns: servers at all (testing only)')
            [CompletionResult]::new('--loop', '--loop', [CompletionResultType]::ParameterName, 'Start files again when they end (otherwise the call hangs up at the end of the file)')
            [CompletionResult]::new('--no-speaker', '--no-speaker', [CompletionResultType]::ParameterName, 'Do not play the other side''s audio')
            [CompletionResult]::new('--relay-only', '--relay-only', [CompletionResultType]::ParameterName, 'Use only relay (TURN) candidates')
            [CompletionResult]::new('--chat', '--chat', [CompletionResultType]::ParameterName, 'Send the lines typed on stdin as chat messages (the other side''s lines show whether or not it is given). With stdin not a terminal, the call hangs up once every line is acknowledged (unless --duration)')
            [CompletionResult]::new('--overwrite', '--overwrite', [CompletionResultType]::ParameterName, 'A received file may replace a file of the same name in the --receive directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'NDJSON on stdout: one object per line with a "type" field; logs stay on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rtccall;answer' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Signaling server URL')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Access token for a signaling server run with --secret (`rtccall token` mints one)')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Also trust the certificate(s) in this PEM file for wss:// signaling servers and turns: TURN servers (a private CA, or the certificate itself, e.g. from `serve --tls-self-signed --tls-cert-out FILE`)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the other peer, and then for connecting')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Hang up after this many seconds connected (default: until Ctrl-C or the other side hangs up)')
            [CompletionResult]::new('--audio', '--audio', [CompletionResultType]::ParameterName, 'Audio to send: mic[:DEVICE], tone (440 Hz), file:PATH, or none [default: mic on a terminal, tone otherwise]')
            [CompletionResult]::new('--video', '--video', [CompletionResultType]::ParameterName, 'Video to send: testsrc, file:PATH, camera[:DEVICE] (default /dev/video0), screen[:DISPLAY] (X11), ffmpeg:FORMAT:INPUT (any FFmpeg input device), or none')
            [CompletionResult]::new('--media', '--media', [CompletionResultType]::ParameterName, 'Send the audio and video of this media file (as --audio file:PATH --video file:PATH)')
            [CompletionResult]::new('--video-codec', '--video-codec', [CompletionResultType]::ParameterName, 'Video codec to send (the other side''s video is decoded whatever it is)')
            [CompletionResult]::new('--video-size', '--video-size', [CompletionResultType]::ParameterName, 'Video frame size, WIDTHxHEIGHT (even numbers, 16x16 to 3840x2160); sources are scaled to it, and cameras are asked for it')
            [CompletionResult]::new('--fps', '--fps', [CompletionResultType]::ParameterName, 'Video frames per second (1 to 60) for the test pattern, cameras and the screen')
            [CompletionResult]::new('--video-bitrate', '--video-bitrate', [CompletionResultType]::ParameterName, 'Video bitrate in bit/s; k and M suffixes work (e.g. 800k, 1.5M)')
            [CompletionResult]::new('--speaker', '--speaker', [CompletionResultType]::ParameterName, 'Play the other side''s audio on this output device (see rtccall devices) [default: the default output on a terminal, none otherwise]')
            [CompletionResult]::new('--record', '--record', [CompletionResultType]::ParameterName, 'Record the received audio and video, without re-encoding, into PATH (.mkv or .webm)')
            [CompletionResult]::new('--ice-server', '--ice-server', [CompletionResultType]::ParameterName, 'STUN or TURN server (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT] (TURN over TLS); credentials as turn:USER:PASS@HOST:PORT or with --ice-username/--ice-credential')
            [CompletionResult]::new('--ice-username', '--ice-username', [CompletionResultType]::ParameterName, 'TURN username for --ice-server URLs that carry none')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'TURN username for --ice-server URLs that carry none')
            [CompletionResult]::new('--ice-credential', '--ice-credential', [CompletionResultType]::ParameterName, 'TURN password for --ice-server URLs that carry none (never shown in output)')
            [CompletionResult]::new('--credential', '--credential', [CompletionResultType]::ParameterName, 'TURN password for --ice-server URLs that carry none (never shown in output)')
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Local UDP address(es) for ICE (repeatable or comma-separated). 0.0.0.0:0 means every non-loopback interface; add 127.0.0.1:0 for loopback')
            [CompletionResult]::new('--bind-tcp', '--bind-tcp', [CompletionResultType]::ParameterName, 'Local TCP address(es) for ICE-TCP candidates (none by default)')
            [CompletionResult]::new('--impair', '--impair', [CompletionResultType]::ParameterName, 'Impair everything this peer sends (ICE, DTLS, media, data), without root: comma-separated loss=P%, delay=DUR, jitter=DUR (order kept), rate=N{bit,kbit,mbit,gbit}, queue=DUR (rate limiter''s tail-drop point, default 200ms), reorder=P%, seed=N; DUR takes us, ms or s. Example: loss=5%,delay=100ms,jitter=20ms,rate=1mbit')
            [CompletionResult]::new('--restart-ice-after', '--restart-ice-after', [CompletionResultType]::ParameterName, 'Restart ICE SECS after the call first connects, though the path works (new ICE credentials, candidates gathered again): checks that the other peer or the WHIP/WHEP server takes a restart. Shown as ice-restart / ice-restarted records')
            [CompletionResult]::new('--send', '--send', [CompletionResultType]::ParameterName, 'Send FILE to the other side (repeatable; one after the other). Without --duration the call hangs up once every file is verified by the receiver')
            [CompletionResult]::new('--receive', '--receive', [CompletionResultType]::ParameterName, 'Take files the other side sends into DIR (without it, offers are refused)')
            [CompletionResult]::new('--data-throughput', '--data-throughput', [CompletionResultType]::ParameterName, 'Measure what the data channel carries: send for SECS, then receive for SECS (reliable, ordered channel); Mbit/s each second and in the summary')
            [CompletionResult]::new('--stats-interval', '--stats-interval', [CompletionResultType]::ParameterName, 'Seconds between stats reports')
            [CompletionResult]::new('--stats-dump', '--stats-dump', [CompletionResultType]::ParameterName, 'Write the call as an rtcstats dump (file format 3, JSON Lines) to FILE as it goes: API calls with their SDP, state changes, and W3C stats every --stats-interval; opened by `rtccall report` and the rtcstats dump importer')
            [CompletionResult]::new('--expect', '--expect', [CompletionResultType]::ParameterName, 'Require this of the call (repeatable), checked on its summary; exit 7 when one does not hold: connected[<SECS s], path=host|srflx|prflx|relay, relay=udp|tcp|tls, codec=vp8|vp9|h264, rtt<MS, loss<PCT, jitter<MS, fps>=N, video-decoded>=PCT, audio-decoded>=PCT, bitrate>=KBPS, freezes<=N, restarts<=N, data>=MBIT, latency<MS (also audio-latency, video-latency). Any of <, <=, >, >= works with a number')
            [CompletionResult]::new('--junit', '--junit', [CompletionResultType]::ParameterName, 'Write the call as JUnit XML to FILE when it ends: one testsuite, a testcase for connecting and one per --expect, failures with what was measured')
            [CompletionResult]::new('--view', '--view', [CompletionResultType]::ParameterName, 'The call screen when stdin and stdout are terminals (not with --json): the other side''s video as half-blocks (blocks), sixel or kitty graphics, or in a desktop window (window, also without a terminal); auto asks the terminal what it shows (within 100 ms) and falls back to blocks; none keeps the status line')
            [CompletionResult]::new('--reject', '--reject', [CompletionResultType]::ParameterName, 'Decline the call; the dialer prints REASON and exits 3')
            [CompletionResult]::new('--no-embedded-server', '--no-embedded-server', [CompletionResultType]::ParameterName, 'Never start a signaling server in this process, even when none runs on a loopback URL')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not check the certificates of wss:// and turns: servers at all (testing only)')
            [CompletionResult]::new('--loop', '--loop', [CompletionResultType]::ParameterName, 'Start files again when they end (otherwise the call hangs up at the end of the file)')
            [CompletionResult]::new('--no-speaker', '--no-speaker', [CompletionResultType]::ParameterName, 'Do not play the other side''s audio')
            [CompletionResult]::new('--relay-only', '--relay-only', [CompletionResultType]::ParameterName, 'Use only relay (TURN) candidates')
            [CompletionResult]::new('--chat', '--chat', [CompletionResultType]::ParameterName, 'Send the lines typed on stdin as chat messages (the other side''s lines show whether or not it is given). With stdin not a terminal, the call hangs up once every line is acknowledged (unless --duration)')
            [CompletionResult]::new('--overwrite', '--overwrite', [CompletionResultType]::ParameterName, 'A received file may replace a file of the same name in the --receive directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'NDJSON on stdout: one object per line with a "type" field; logs stay on stderr')
            [CompletionResult]::new('--auto-accept', '--auto-accept', [CompletionResultType]::ParameterName, 'Take the call without asking (the default when stdin is not a terminal)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rtccall;publish' {
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token the endpoint wants (sent as `Authorization: Bearer TOKEN`)')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Also trust the certificate(s) in this PEM file for wss:// signaling servers and turns: TURN servers (a private CA, or the certificate itself, e.g. from `serve --tls-self-signed --tls-cert-out FILE`)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the endpoint''s answer, and then for connecting')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Hang up (DELETE the session) after this many seconds connected (default: until Ctrl-C or the server ends it)')
            [CompletionResult]::new('--audio', '--audio', [CompletionResultType]::ParameterName, 'Audio to send: mic[:DEVICE], tone (440 Hz), file:PATH, or none [default: mic on a terminal, tone otherwise]')
            [CompletionResult]::new('--video', '--video', [CompletionResultType]::ParameterName, 'Video to send: testsrc, file:PATH, camera[:DEVICE] (default /dev/video0), screen[:DISPLAY] (X11), ffmpeg:FORMAT:INPUT (any FFmpeg input device), or none')
            [CompletionResult]::new('--media', '--media', [CompletionResultType]::ParameterName, 'Send the audio and video of this media file (as --audio file:PATH --video file:PATH)')
            [CompletionResult]::new('--video-codec', '--video-codec', [CompletionResultType]::ParameterName, 'Video codec to send (the other side''s video is decoded whatever it is)')
            [CompletionResult]::new('--video-size', '--video-size', [CompletionResultType]::ParameterName, 'Video frame size, WIDTHxHEIGHT (even numbers, 16x16 to 3840x2160); sources are scaled to it, and cameras are asked for it')
            [CompletionResult]::new('--fps', '--fps', [CompletionResultType]::ParameterName, 'Video frames per second (1 to 60) for the test pattern, cameras and the screen')
            [CompletionResult]::new('--video-bitrate', '--video-bitrate', [CompletionResultType]::ParameterName, 'Video bitrate in bit/s; k and M suffixes work (e.g. 800k, 1.5M)')
            [CompletionResult]::new('--speaker', '--speaker', [CompletionResultType]::ParameterName, 'Play the other side''s audio on this output device (see rtccall devices) [default: the default output on a terminal, none otherwise]')
            [CompletionResult]::new('--record', '--record', [CompletionResultType]::ParameterName, 'Record the received audio and video, without re-encoding, into PATH (.mkv or .webm)')
            [CompletionResult]::new('--ice-server', '--ice-server', [CompletionResultType]::ParameterName, 'STUN or TURN server (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT] (TURN over TLS); credentials as turn:USER:PASS@HOST:PORT or with --ice-username/--ice-credential')
            [CompletionResult]::new('--ice-username', '--ice-username', [CompletionResultType]::ParameterName, 'TURN username for --ice-server URLs that carry none')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'TURN username for --ice-server URLs that carry none')
            [CompletionResult]::new('--ice-credential', '--ice-credential', [CompletionResultType]::ParameterName, 'TURN password for --ice-server URLs that carry none (never shown in output)')
            [CompletionResult]::new('--credential', '--credential', [CompletionResultType]::ParameterName, 'TURN password for --ice-server URLs that carry none (never shown in output)')
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Local UDP address(es) for ICE (repeatable or comma-separated). 0.0.0.0:0 means every non-loopback interface; add 127.0.0.1:0 for loopback')
            [CompletionResult]::new('--bind-tcp', '--bind-tcp', [CompletionResultType]::ParameterName, 'Local TCP address(es) for ICE-TCP candidates (none by default)')
            [CompletionResult]::new('--impair', '--impair', [CompletionResultType]::ParameterName, 'Impair everything this peer sends (ICE, DTLS, media, data), without root: comma-separated loss=P%, delay=DUR, jitter=DUR (order kept), rate=N{bit,kbit,mbit,gbit}, queue=DUR (rate limiter''s tail-drop point, default 200ms), reorder=P%, seed=N; DUR takes us, ms or s. Example: loss=5%,delay=100ms,jitter=20ms,rate=1mbit')
            [CompletionResult]::new('--restart-ice-after', '--restart-ice-after', [CompletionResultType]::ParameterName, 'Restart ICE SECS after the call first connects, though the path works (new ICE credentials, candidates gathered again): checks that the other peer or the WHIP/WHEP server takes a restart. Shown as ice-restart / ice-restarted records')
            [CompletionResult]::new('--stats-interval', '--stats-interval', [CompletionResultType]::ParameterName, 'Seconds between stats reports')
            [CompletionResult]::new('--stats-dump', '--stats-dump', [CompletionResultType]::ParameterName, 'Write the call as an rtcstats dump (file format 3, JSON Lines) to FILE as it goes: API calls with their SDP, state changes, and W3C stats every --stats-interval; opened by `rtccall report` and the rtcstats dump importer')
            [CompletionResult]::new('--expect', '--expect', [CompletionResultType]::ParameterName, 'Require this of the call (repeatable), checked on its summary; exit 7 when one does not hold: connected[<SECS s], path=host|srflx|prflx|relay, relay=udp|tcp|tls, codec=vp8|vp9|h264, rtt<MS, loss<PCT, jitter<MS, fps>=N, video-decoded>=PCT, audio-decoded>=PCT, bitrate>=KBPS, freezes<=N, restarts<=N, data>=MBIT, latency<MS (also audio-latency, video-latency). Any of <, <=, >, >= works with a number')
            [CompletionResult]::new('--junit', '--junit', [CompletionResultType]::ParameterName, 'Write the call as JUnit XML to FILE when it ends: one testsuite, a testcase for connecting and one per --expect, failures with what was measured')
            [CompletionResult]::new('--view', '--view', [CompletionResultType]::ParameterName, 'The call screen when stdin and stdout are terminals (not with --json): the other side''s video as half-blocks (blocks), sixel or kitty graphics, or in a desktop window (window, also without a terminal); auto asks the terminal what it shows (within 100 ms) and falls back to blocks; none keeps the status line')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not check the certificates of wss:// and turns: servers at all (testing only)')
            [CompletionResult]::new('--loop', '--loop', [CompletionResultType]::ParameterName, 'Start files again when they end (otherwise the call hangs up at the end of the file)')
            [CompletionResult]::new('--no-speaker', '--no-speaker', [CompletionResultType]::ParameterName, 'Do not play the other side''s audio')
            [CompletionResult]::new('--relay-only', '--relay-only', [CompletionResultType]::ParameterName, 'Use only relay (TURN) candidates')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'NDJSON on stdout: one object per line with a "type" field; logs stay on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rtccall;play' {
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token the endpoint wants (sent as `Authorization: Bearer TOKEN`)')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Also trust the certificate(s) in this PEM file for wss:// signaling servers and turns: TURN servers (a private CA, or the certificate itself, e.g. from `serve --tls-self-signed --tls-cert-out FILE`)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the endpoint''s answer, and then for connecting')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Hang up (DELETE the session) after this many seconds connected (default: until Ctrl-C or the server ends it)')
            [CompletionResult]::new('--audio', '--audio', [CompletionResultType]::ParameterName, 'Audio to send: mic[:DEVICE], tone (440 Hz), file:PATH, or none [default: mic on a terminal, tone otherwise]')
            [CompletionResult]::new('--video', '--video', [CompletionResultType]::ParameterName, 'Video to send: testsrc, file:PATH, camera[:DEVICE] (default /dev/video0), screen[:DISPLAY] (X11), ffmpeg:FORMAT:INPUT (any FFmpeg input device), or none')
            [CompletionResult]::new('--media', '--media', [CompletionResultType]::ParameterName, 'Send the audio and video of this media file (as --audio file:PATH --video file:PATH)')
            [CompletionResult]::new('--video-codec', '--video-codec', [CompletionResultType]::ParameterName, 'Video codec to send (the other side''s video is decoded whatever it is)')
            [CompletionResult]::new('--video-size', '--video-size', [CompletionResultType]::ParameterName, 'Video frame size, WIDTHxHEIGHT (even numbers, 16x16 to 3840x2160); sources are scaled to it, and cameras are asked for it')
            [CompletionResult]::new('--fps', '--fps', [CompletionResultType]::ParameterName, 'Video frames per second (1 to 60) for the test pattern, cameras and the screen')
            [CompletionResult]::new('--video-bitrate', '--video-bitrate', [CompletionResultType]::ParameterName, 'Video bitrate in bit/s; k and M suffixes work (e.g. 800k, 1.5M)')
            [CompletionResult]::new('--speaker', '--speaker', [CompletionResultType]::ParameterName, 'Play the other side''s audio on this output device (see rtccall devices) [default: the default output on a terminal, none otherwise]')
            [CompletionResult]::new('--record', '--record', [CompletionResultType]::ParameterName, 'Record the received audio and video, without re-encoding, into PATH (.mkv or .webm)')
            [CompletionResult]::new('--ice-server', '--ice-server', [CompletionResultType]::ParameterName, 'STUN or TURN server (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT] (TURN over TLS); credentials as turn:USER:PASS@HOST:PORT or with --ice-username/--ice-credential')
            [CompletionResult]::new('--ice-username', '--ice-username', [CompletionResultType]::ParameterName, 'TURN username for --ice-server URLs that carry none')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'TURN username for --ice-server URLs that carry none')
            [CompletionResult]::new('--ice-credential', '--ice-credential', [CompletionResultType]::ParameterName, 'TURN password for --ice-server URLs that carry none (never shown in output)')
            [CompletionResult]::new('--credential', '--credential', [CompletionResultType]::ParameterName, 'TURN password for --ice-server URLs that carry none (never shown in output)')
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Local UDP address(es) for ICE (repeatable or comma-separated). 0.0.0.0:0 means every non-loopback interface; add 127.0.0.1:0 for loopback')
            [CompletionResult]::new('--bind-tcp', '--bind-tcp', [CompletionResultType]::ParameterName, 'Local TCP address(es) for ICE-TCP candidates (none by default)')
            [CompletionResult]::new('--impair', '--impair', [CompletionResultType]::ParameterName, 'Impair everything this peer sends (ICE, DTLS, media, data), without root: comma-separated loss=P%, delay=DUR, jitter=DUR (order kept), rate=N{bit,kbit,mbit,gbit}, queue=DUR (rate limiter''s tail-drop point, default 200ms), reorder=P%, seed=N; DUR takes us, ms or s. Example: loss=5%,delay=100ms,jitter=20ms,rate=1mbit')
            [CompletionResult]::new('--restart-ice-after', '--restart-ice-after', [CompletionResultType]::ParameterName, 'Restart ICE SECS after the call first connects, though the path works (new ICE credentials, candidates gathered again): checks that the other peer or the WHIP/WHEP server takes a restart. Shown as ice-restart / ice-restarted records')
            [CompletionResult]::new('--stats-interval', '--stats-interval', [CompletionResultType]::ParameterName, 'Seconds between stats reports')
            [CompletionResult]::new('--stats-dump', '--stats-dump', [CompletionResultType]::ParameterName, 'Write the call as an rtcstats dump (file format 3, JSON Lines) to FILE as it goes: API calls with their SDP, state changes, and W3C stats every --stats-interval; opened by `rtccall report` and the rtcstats dump importer')
            [CompletionResult]::new('--expect', '--expect', [CompletionResultType]::ParameterName, 'Require this of the call (repeatable), checked on its summary; exit 7 when one does not hold: connected[<SECS s], path=host|srflx|prflx|relay, relay=udp|tcp|tls, codec=vp8|vp9|h264, rtt<MS, loss<PCT, jitter<MS, fps>=N, video-decoded>=PCT, audio-decoded>=PCT, bitrate>=KBPS, freezes<=N, restarts<=N, data>=MBIT, latency<MS (also audio-latency, video-latency). Any of <, <=, >, >= works with a number')
            [CompletionResult]::new('--junit', '--junit', [CompletionResultType]::ParameterName, 'Write the call as JUnit XML to FILE when it ends: one testsuite, a testcase for connecting and one per --expect, failures with what was measured')
            [CompletionResult]::new('--view', '--view', [CompletionResultType]::ParameterName, 'The call screen when stdin and stdout are terminals (not with --json): the other side''s video as half-blocks (blocks), sixel or kitty graphics, or in a desktop window (window, also without a terminal); auto asks the terminal what it shows (within 100 ms) and falls back to blocks; none keeps the status line')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not check the certificates of wss:// and turns: servers at all (testing only)')
            [CompletionResult]::new('--loop', '--loop', [CompletionResultType]::ParameterName, 'Start files again when they end (otherwise the call hangs up at the end of the file)')
            [CompletionResult]::new('--no-speaker', '--no-speaker', [CompletionResultType]::ParameterName, 'Do not play the other side''s audio')
            [CompletionResult]::new('--relay-only', '--relay-only', [CompletionResultType]::ParameterName, 'Use only relay (TURN) candidates')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'NDJSON on stdout: one object per line with a "type" field; logs stay on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rtccall;load' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Signaling server (repeatable: calls are spread over them in turn, e.g. `serve` instances sharing rooms through Redis)')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Access token for servers run with --secret, the same for every call (a token admits to one room: see --serve-secret for many)')
            [CompletionResult]::new('--serve-secret', '--serve-secret', [CompletionResultType]::ParameterName, 'The servers'' --secret: each side mints its own token for its room and role (as `rtccall token` does), valid for the run')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Also trust the certificate(s) in this PEM file for wss:// signaling servers and turns: TURN servers (a private CA, or the certificate itself, e.g. from `serve --tls-self-signed --tls-cert-out FILE`)')
            [CompletionResult]::new('--calls', '--calls', [CompletionResultType]::ParameterName, 'How many calls')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Calls started per second')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Seconds each call is held once connected')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds a side waits for its peer, and then to connect')
            [CompletionResult]::new('--side', '--side', [CompletionResultType]::ParameterName, 'Which ends of each call run in this process')
            [CompletionResult]::new('--rooms', '--rooms', [CompletionResultType]::ParameterName, 'Room names: PREFIX-0 .. PREFIX-(N-1) (give both machines the same one with --side)')
            [CompletionResult]::new('--media', '--media', [CompletionResultType]::ParameterName, 'What each call sends both ways')
            [CompletionResult]::new('--video-codec', '--video-codec', [CompletionResultType]::ParameterName, 'Video codec of the test pattern (one encoder per codec and size, shared by every call)')
            [CompletionResult]::new('--video-size', '--video-size', [CompletionResultType]::ParameterName, 'Video size, WIDTHxHEIGHT')
            [CompletionResult]::new('--fps', '--fps', [CompletionResultType]::ParameterName, 'Video frame rate')
            [CompletionResult]::new('--video-bitrate', '--video-bitrate', [CompletionResultType]::ParameterName, 'Video bitrate, e.g. 300k or 1.5M')
            [CompletionResult]::new('--decode', '--decode', [CompletionResultType]::ParameterName, 'Decode the media of one call in K (the others check, count and time frames without decoding them); 0 decodes none')
            [CompletionResult]::new('--data-throughput', '--data-throughput', [CompletionResultType]::ParameterName, 'Each dialer also measures its data channel: SECS of bulk data each way')
            [CompletionResult]::new('--ice-server', '--ice-server', [CompletionResultType]::ParameterName, 'STUN or TURN server (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT] (TURN over TLS); credentials as turn:USER:PASS@HOST:PORT or with --ice-username/--ice-credential')
            [CompletionResult]::new('--ice-username', '--ice-username', [CompletionResultType]::ParameterName, 'TURN username for --ice-server URLs that carry none')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'TURN username for --ice-server URLs that carry none')
            [CompletionResult]::new('--ice-credential', '--ice-credential', [CompletionResultType]::ParameterName, 'TURN password for --ice-server URLs that carry none (never shown in output)')
            [CompletionResult]::new('--credential', '--credential', [CompletionResultType]::ParameterName, 'TURN password for --ice-server URLs that carry none (never shown in output)')
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Local UDP address(es) for ICE (repeatable or comma-separated). 0.0.0.0:0 means every non-loopback interface; add 127.0.0.1:0 for loopback')
            [CompletionResult]::new('--bind-tcp', '--bind-tcp', [CompletionResultType]::ParameterName, 'Local TCP address(es) for ICE-TCP candidates (none by default)')
            [CompletionResult]::new('--impair', '--impair', [CompletionResultType]::ParameterName, 'Impair everything this peer sends (ICE, DTLS, media, data), without root: comma-separated loss=P%, delay=DUR, jitter=DUR (order kept), rate=N{bit,kbit,mbit,gbit}, queue=DUR (rate limiter''s tail-drop point, default 200ms), reorder=P%, seed=N; DUR takes us, ms or s. Example: loss=5%,delay=100ms,jitter=20ms,rate=1mbit')
            [CompletionResult]::new('--restart-ice-after', '--restart-ice-after', [CompletionResultType]::ParameterName, 'Restart ICE SECS after the call first connects, though the path works (new ICE credentials, candidates gathered again): checks that the other peer or the WHIP/WHEP server takes a restart. Shown as ice-restart / ice-restarted records')
            [CompletionResult]::new('--expect', '--expect', [CompletionResultType]::ParameterName, 'Require this of every side of every call (repeatable; the conditions of `dial --expect`); exit 7 when one side misses one')
            [CompletionResult]::new('--junit', '--junit', [CompletionResultType]::ParameterName, 'Write the load as JUnit XML to FILE: a testsuite per side of each call, one for the load')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not check the certificates of wss:// and turns: servers at all (testing only)')
            [CompletionResult]::new('--relay-only', '--relay-only', [CompletionResultType]::ParameterName, 'Use only relay (TURN) candidates')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'NDJSON on stdout: load-progress every second, load-call per side, load-summary')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rtccall;probe' {
            [CompletionResult]::new('--ice-server', '--ice-server', [CompletionResultType]::ParameterName, 'STUN or TURN server to check (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT]; credentials in the URL as turn:USER:PASS@HOST or with --ice-username/--ice-credential')
            [CompletionResult]::new('--ice-config', '--ice-config', [CompletionResultType]::ParameterName, 'A JSON iceServers array as a browser takes it ([{"urls":..,"username":..,"credential":..}])')
            [CompletionResult]::new('--ice-username', '--ice-username', [CompletionResultType]::ParameterName, 'TURN username for --ice-server URLs that carry none')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'TURN username for --ice-server URLs that carry none')
            [CompletionResult]::new('--ice-credential', '--ice-credential', [CompletionResultType]::ParameterName, 'TURN password for --ice-server URLs that carry none (never shown in output)')
            [CompletionResult]::new('--credential', '--credential', [CompletionResultType]::ParameterName, 'TURN password for --ice-server URLs that carry none (never shown in output)')
            [CompletionResult]::new('--whip', '--whip', [CompletionResultType]::ParameterName, 'A WHIP endpoint to check (repeatable): auth, its Link ICE servers (each probed), the POST and its answer, trickle PATCH, a session publishing the test pattern and a tone for --call-media, DELETE')
            [CompletionResult]::new('--whep', '--whep', [CompletionResultType]::ParameterName, 'A WHEP endpoint to check (repeatable): as --whip, playing for --call-media')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token for --whip/--whep endpoints; with it the probe also checks that a POST without it is refused')
            [CompletionResult]::new('--turn-secret', '--turn-secret', [CompletionResultType]::ParameterName, 'Mint time-limited TURN REST credentials from this shared secret (coturn use-auth-secret / static-auth-secret) for TURN servers given without credentials (never shown in output)')
            [CompletionResult]::new('--turn-user', '--turn-user', [CompletionResultType]::ParameterName, 'User part of minted usernames (EXPIRY:USER)')
            [CompletionResult]::new('--ttl', '--ttl', [CompletionResultType]::ParameterName, 'Lifetime of minted credentials, seconds (a call refreshes its allocation with them)')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Also trust the certificate(s) in this PEM file for wss:// signaling servers and turns: TURN servers (a private CA, or the certificate itself, e.g. from `serve --tls-self-signed --tls-cert-out FILE`)')
            [CompletionResult]::new('--expect', '--expect', [CompletionResultType]::ParameterName, 'Require this (repeatable): relay, srflx, tcp, tls. Exit 1 when it does not hold')
            [CompletionResult]::new('--max-rtt', '--max-rtt', [CompletionResultType]::ParameterName, 'Fail when a binding or relay round trip (p50) is over this many ms')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound on the whole probe, seconds')
            [CompletionResult]::new('--step-timeout', '--step-timeout', [CompletionResultType]::ParameterName, 'Bound on each step, seconds')
            [CompletionResult]::new('--echo-packets', '--echo-packets', [CompletionResultType]::ParameterName, 'Packets sent through each relay and echoed back')
            [CompletionResult]::new('--call-media', '--call-media', [CompletionResultType]::ParameterName, 'Each in-process call hangs up as soon as audio, video and a data channel echo have flowed both ways, or after this many seconds connected')
            [CompletionResult]::new('--data-throughput', '--data-throughput', [CompletionResultType]::ParameterName, 'Also measure each in-process call''s data channel: SECS of bulk data each way (reliable, ordered), so a TURN operator sees what the relay carries')
            [CompletionResult]::new('--stats-dump', '--stats-dump', [CompletionResultType]::ParameterName, 'Write an rtcstats dump of each side of each in-process call into DIR (made if missing): direct-dial.rtcstats, relay-HOST-PORT-answer.rtcstats, whip-...-publish.rtcstats')
            [CompletionResult]::new('--junit', '--junit', [CompletionResultType]::ParameterName, 'Write the probe as JUnit XML to FILE when it ends: a testsuite per server (a testcase per step, failures with their explanation) and one for the verdict and --expect')
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Local UDP address(es) for ICE gathering and the in-process calls (repeatable or comma-separated). 0.0.0.0:0 means every non-loopback interface')
            [CompletionResult]::new('--hold', '--hold', [CompletionResultType]::ParameterName, 'After each TURN server''s checks, keep its allocation, permission and channel alive this many seconds (refreshing every half lifetime, with a slow echo), to catch servers that break after the first lifetime or when REST credentials expire. Adds to --timeout')
            [CompletionResult]::new('--load', '--load', [CompletionResultType]::ParameterName, 'After each TURN server''s checks, load it with N concurrent clients, each with its own allocation, channel and echo peer, sending --rate packets of --size bytes a second for --duration seconds (a `load` step: allocations per second, failures by code, packets per second, Mbit/s, loss, RTT p50/p95/p99). Adds --duration to --timeout')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'How long each --load client sends, seconds')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Packets per second per --load client')
            [CompletionResult]::new('--size', '--size', [CompletionResultType]::ParameterName, 'Bytes per --load packet')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not check the certificates of wss:// and turns: servers at all (testing only)')
            [CompletionResult]::new('--no-call', '--no-call', [CompletionResultType]::ParameterName, 'Skip the ICE gathering report and the in-process calls (direct and relay-only)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'NDJSON on stdout: a `step` record per check, then a `summary`')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rtccall;devices' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rtccall;token' {
            [CompletionResult]::new('--secret', '--secret', [CompletionResultType]::ParameterName, 'The server''s --secret')
            [CompletionResult]::new('--ttl', '--ttl', [CompletionResultType]::ParameterName, 'Seconds the token stays valid')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Admit only a peer joining with this role')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rtccall;report' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the self-contained HTML report here')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the self-contained HTML report here')
            [CompletionResult]::new('--png', '--png', [CompletionResultType]::ParameterName, 'Write every plot, stacked, as a PNG picture here')
            [CompletionResult]::new('--svg', '--svg', [CompletionResultType]::ParameterName, 'Write every plot, stacked, as an SVG picture here')
            [CompletionResult]::new('--webrtc-internals', '--webrtc-internals', [CompletionResultType]::ParameterName, 'Write the call in the webrtc-internals dump format (Chrome''s "Create dump") here; from rtcstats dumps only (two sides: two peer connections in one dump)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rtccall;generate' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Directory that receives completions/ and man/')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rtccall;help' {
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the signaling server (rooms of two peers, WebSocket, JSON messages)')
            [CompletionResult]::new('dial', 'dial', [CompletionResultType]::ParameterValue, 'Call the peer waiting in ROOM: join, send the offer, hold the call')
            [CompletionResult]::new('answer', 'answer', [CompletionResultType]::ParameterValue, 'Wait in ROOM for a call and take it (or reject it)')
            [CompletionResult]::new('publish', 'publish', [CompletionResultType]::ParameterValue, 'Publish to a WHIP endpoint (a media server''s ingest): send what `dial` sends, report like a call, DELETE the session at the end')
            [CompletionResult]::new('play', 'play', [CompletionResultType]::ParameterValue, 'Play from a WHEP endpoint: a receive-only call; play, decode or record what arrives')
            [CompletionResult]::new('load', 'load', [CompletionResultType]::ParameterValue, 'Hold many calls at once (both ends of each in this process, or one side for two machines) through signaling servers and TURN, and report set-up, media and cost')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Check STUN/TURN servers step by step (DNS, binding, allocation over UDP/TCP/TLS, relay echo, security), explain every failure, and exit 0 only when everything holds')
            [CompletionResult]::new('devices', 'devices', [CompletionResultType]::ParameterValue, 'List audio inputs and outputs (cpal) and video capture devices (FFmpeg)')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Mint an access token for a room on a `serve --secret` server (printed on stdout)')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'Draw a call: rtcstats dumps (--stats-dump) or NDJSON (--json) of one or both sides into a self-contained HTML report and PNG/SVG pictures')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages generated from these definitions')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rtccall;help;serve' {
            break
        }
        'rtccall;help;dial' {
            break
        }
        'rtccall;help;answer' {
            break
        }
        'rtccall;help;publish' {
            break
        }
        'rtccall;help;play' {
            break
        }
        'rtccall;help;load' {
            break
        }
        'rtccall;help;probe' {
            break
        }
        'rtccall;help;devices' {
            break
        }
        'rtccall;help;token' {
            break
        }
        'rtccall;help;report' {
            break
        }
        'rtccall;help;generate' {
            break
        }
        'rtccall;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
