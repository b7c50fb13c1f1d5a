//! Network namespaces of the tests' own: created with `ip netns`, joined by veth pairs, shaped
//! with nftables and tc, and deleted (with their interfaces) on drop.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Run a system command that must succeed (`ip`, `nft`, `tc`): its stdout, or a panic naming the
/// command, its error output and what the test needs (root, iproute2, nftables).
pub fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| {
            panic!("{args:?}: {e} (install iproute2 and nftables: bash .ci/install-deps)")
        });
    assert!(
        out.status.success(),
        "{args:?} failed (network namespace tests need root): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A name unique to this process and call, at most `8 + prefix` characters (interface names
/// are limited to 15).
fn unique(prefix: &str) -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}x{n}", std::process::id() % 100_000)
}

/// A network namespace with its loopback up, deleted on drop.
pub struct Netns {
    pub name: String,
    /// Interfaces created in the root namespace for this one, deleted with it.
    root_links: Vec<String>,
}

impl Netns {
    /// A new namespace named `rtccall-WHAT-…`.
    pub fn new(what: &str) -> Netns {
        let name = unique(&format!("rtccall-{what}-"));
        sh(&["ip", "netns", "add", &name]);
        let ns = Netns {
            name,
            root_links: Vec::new(),
        };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NS ARGS`.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut v = vec!["ip", "-n", self.name.as_str()];
        v.extend_from_slice(args);
        sh(&v)
    }

    /// `ARGS` run inside the namespace (`ip netns exec NS ARGS`).
    pub fn exec(&self, args: &[&str]) -> String {
        let mut v = self.wrapper().to_vec();
        v.extend_from_slice(args);
        sh(&v)
    }

    /// `nft SCRIPT` inside the namespace, the script given as one string split on spaces.
    pub fn nft(&self, script: &str) {
        let mut v = vec!["nft"];
        v.extend(script.split(' '));
        self.exec(&v);
    }

    /// Drop every UDP datagram arriving in the namespace (`true`) or stop (`false`): a network
    /// outage that signaling (TCP) survives.
    pub fn blackout(&self, on: bool) {
        if on {
            self.nft("add table inet blackout");
            self.nft("add chain inet blackout input { type filter hook input priority -10; }");
            self.nft("add rule inet blackout input meta l4proto udp drop");
        } else {
            self.nft("delete table inet blackout");
        }
    }

    /// The prefix that runs a command inside the namespace.
    pub fn wrapper(&self) -> [&str; 4] {
        ["ip", "netns", "exec", self.name.as_str()]
    }

    /// A veth pair from the root namespace (`root_cidr` there) into this one (`ns_cidr` here),
    /// both ends up. Returns the name of the end inside this namespace.
    pub fn veth_to_root(&mut self, root_cidr: &str, ns_cidr: &str) -> String {
        let outer = unique("vr");
        let inner = format!("{outer}n");
        sh(&[
            "ip", "link", "add", &outer, "type", "veth", "peer", "name", &inner,
        ]);
        self.root_links.push(outer.clone());
        sh(&["ip", "link", "set", &inner, "netns", &self.name]);
        sh(&["ip", "addr", "add", root_cidr, "dev", &outer]);
        sh(&["ip", "link", "set", &outer, "up"]);
        self.ip(&["addr", "add", ns_cidr, "dev", &inner]);
        self.ip(&["link", "set", &inner, "up"]);
        self.wait_up(&inner);
        inner
    }

    /// A veth pair between this namespace (`my_cidrs`) and `other` (`other_cidrs`), both ends
    /// up. Returns (the end here, the end there).
    pub fn veth_to(
        &self,
        my_cidrs: &[&str],
        other: &Netns,
        other_cidrs: &[&str],
    ) -> (String, String) {
        let mine = unique("va");
        let theirs = format!("{mine}p");
        sh(&[
            "ip", "link", "add", &mine, "type", "veth", "peer", "name", &theirs,
        ]);
        sh(&["ip", "link", "set", &mine, "netns", &self.name]);
        sh(&["ip", "link", "set", &theirs, "netns", &other.name]);
        for (ns, dev, cidrs) in [(self, &mine, my_cidrs), (other, &theirs, other_cidrs)] {
            for c in cidrs {
                ns.ip(&["addr", "add", c, "dev", dev]);
            }
            ns.ip(&["link", "set", dev, "up"]);
        }
        self.wait_up(&mine);
        other.wait_up(&theirs);
        (mine, theirs)
    }

    /// Wait until `dev` has its carrier (a new veth is `UP` only a moment after it is set up,
    /// and until then interface enumeration, ICE gathering's included, skips it).
    pub fn wait_up(&self, dev: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !self
            .ip(&["-o", "link", "show", "dev", dev])
            .contains("state UP")
        {
            assert!(
                std::time::Instant::now() < deadline,
                "{dev} in {} did not come up",
                self.name
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for l in &self.root_links {
            let _ = Command::new("ip").args(["link", "del", l]).output();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}
