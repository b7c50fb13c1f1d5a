
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
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages generated from these definitions')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rtccall;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on; port 0 picks a free port')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print `{"type":"listening","url":...}` instead of the bare URL')
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
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the other peer, and then for connecting')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Hang up after this many seconds connected (default: until Ctrl-C or the other side hangs up)')
            [CompletionResult]::new('--audio', '--audio', [CompletionResultType]::ParameterName, 'Audio to send')
            [CompletionResult]::new('--video', '--video', [CompletionResultType]::ParameterName, 'Video to send')
            [CompletionResult]::new('--video-size', '--video-size', [CompletionResultType]::ParameterName, 'Video frame size, WIDTHxHEIGHT (even numbers, 16x16 to 3840x2160)')
            [CompletionResult]::new('--fps', '--fps', [CompletionResultType]::ParameterName, 'Video frames per second (1 to 60)')
            [CompletionResult]::new('--video-bitrate', '--video-bitrate', [CompletionResultType]::ParameterName, 'Video bitrate in bit/s; k and M suffixes work (e.g. 800k, 1.5M)')
            [CompletionResult]::new('--ice-server', '--ice-server', [CompletionResultType]::ParameterName, 'STUN or TURN server (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp]; credentials as turn:USER:PASS@HOST:PORT or with --ice-username/--ice-credential')
            [CompletionResult]::new('--ice-username', '--ice-username', [CompletionResultType]::ParameterName, 'TURN username for --ice-server URLs that carry none')
            [CompletionResult]::new('--ice-credential', '--ice-credential', [CompletionResultType]::ParameterName, 'TURN password for --ice-server URLs that carry none')
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Local UDP address(es) for ICE (repeatable or comma-separated). 0.0.0.0:0 means every non-loopback interface; add 127.0.0.1:0 for loopback')
            [CompletionResult]::new('--bind-tcp', '--bind-tcp', [CompletionResultType]::ParameterName, 'Local TCP address(es) for ICE-TCP candidates (none by default)')
            [CompletionResult]::new('--stats-interval', '--stats-interval', [CompletionResultType]::ParameterName, 'Seconds between stats reports')
            [CompletionResult]::new('--no-embedded-server', '--no-embedded-server', [CompletionResultType]::ParameterName, 'Never start a signaling server in this process, even when none runs on a loopback URL')
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
        'rtccall;answer' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Signaling server URL')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the other peer, and then for connecting')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Hang up after this many seconds connected (default: until Ctrl-C or the other side hangs up)')
            [CompletionResult]::new('--audio', '--audio', [CompletionResultType]::ParameterName, 'Audio to send')
            [CompletionResult]::new('--video', '--video', [CompletionResultType]::ParameterName, 'Video to send')
            [CompletionResult]::new('--video-size', '--video-size', [CompletionResultType]::ParameterName, 'Video frame size, WIDTHxHEIGHT (even numbers, 16x16 to 3840x2160)')
            [CompletionResult]::new('--fps', '--fps', [CompletionResultType]::ParameterName, 'Video frames per second (1 to 60)')
            [CompletionResult]::new('--video-bitrate', '--video-bitrate', [CompletionResultType]::ParameterName, 'Video bitrate in bit/s; k and M suffixes work (e.g. 800k, 1.5M)')
            [CompletionResult]::new('--ice-server', '--ice-server', [CompletionResultType]::ParameterName, 'STUN or TURN server (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp]; credentials as turn:USER:PASS@HOST:PORT or with --ice-username/--ice-credential')
            [CompletionResult]::new('--ice-username', '--ice-username', [CompletionResultType]::ParameterName, 'TURN username for --ice-server URLs that carry none')
            [CompletionResult]::new('--ice-credential', '--ice-credential', [CompletionResultType]::ParameterName, 'TURN password for --ice-server URLs that carry none')
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Local UDP address(es) for ICE (repeatable or comma-separated). 0.0.0.0:0 means every non-loopback interface; add 127.0.0.1:0 for loopback')
            [CompletionResult]::new('--bind-tcp', '--bind-tcp', [CompletionResultType]::ParameterName, 'Local TCP address(es) for ICE-TCP candidates (none by default)')
            [CompletionResult]::new('--stats-interval', '--stats-interval', [CompletionResultType]::ParameterName, 'Seconds between stats reports')
            [CompletionResult]::new('--reject', '--reject', [CompletionResultType]::ParameterName, 'Decline the call; the dialer prints REASON and exits 3')
            [CompletionResult]::new('--no-embedded-server', '--no-embedded-server', [CompletionResultType]::ParameterName, 'Never start a signaling server in this process, even when none runs on a loopback URL')
            [CompletionResult]::new('--relay-only', '--relay-only', [CompletionResultType]::ParameterName, 'Use only relay (TURN) candidates')
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
