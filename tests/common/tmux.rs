//! A tmux server of its own for tests that need a real terminal: send keys, capture the
//! screen with its colours, read its modes and the exit code of what ran in it.

use std::process::Command;
use std::time::{Duration, Instant};

use super::Scratch;

/// A tmux server of its own (its own socket), killed on drop.
pub struct Tmux {
    socket: String,
    _dir: Scratch,
}

impl Tmux {
    /// A 160x48 session running `command` through sh; its exit code is written to `exit`.
    pub fn start(command: &str, env: &[(&str, &str)]) -> Tmux {
        let dir = Scratch::new("tmux");
        let socket = dir.str("sock");
        let script = dir.write(
            "run.sh",
            &format!(
                "{}\n{command}\necho $? > {}\nsleep 120\n",
                env.iter()
                    .map(|(k, v)| format!("export {k}='{v}'"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                dir.str("exit")
            ),
        );
        let ok = Command::new("tmux")
            .args(["-S", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", "160", "-y", "48", "sh", &script])
            .env_remove("TMUX")
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux did not start");
        Tmux { socket, _dir: dir }
    }

    pub fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &str) {
        self.tmux(&["send-keys", "-t", "0", "-l", keys]);
    }

    /// The pane with its colours.
    pub fn capture(&self) -> String {
        self.tmux(&["capture-pane", "-e", "-p", "-t", "0"])
    }

    /// Whether the pane is on the alternate screen, and whether the cursor shows.
    pub fn modes(&self) -> (bool, bool) {
        let m = self.tmux(&["display", "-p", "-t", "0", "#{alternate_on} #{cursor_flag}"]);
        let mut it = m.split_whitespace();
        (it.next() == Some("1"), it.next() == Some("1"))
    }

    /// The exit code the command left, once it exited.
    pub fn exit_code(&self, within: Duration) -> i32 {
        let path = std::path::Path::new(&self.socket).with_file_name("exit");
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(s) = std::fs::read_to_string(&path)
                && let Ok(code) = s.trim().parse()
            {
                return code;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the command in tmux did not exit within {within:?}");
    }

    /// rtccall's pid (the child of the pane's shell).
    pub fn rtccall_pid(&self) -> String {
        let shell = self.tmux(&["display", "-p", "-t", "0", "#{pane_pid}"]);
        let out = Command::new("pgrep")
            .args(["-P", shell.trim(), "rtccall"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .expect("rtccall runs in the pane")
            .to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}
