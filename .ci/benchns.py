"""A network namespace of a benchmark's own, joined to the root namespace by a veth pair
(browsers offer no loopback candidates, so they need an address on a link): ROOT_IP/30 on the
root side, IP/30 inside, a default route through ROOT_IP, and nftables (table `TABLE`) letting
nothing leave the namespace except to the veth's own /30. `input_chain` also creates an empty
`input` chain in that table, for rules a benchmark adds (random loss). Imported by the .ci
benchmarks that run browsers; needs root, iproute2 and nftables."""

import subprocess


def sh(*args, check=True, **kw):
    return subprocess.run(args, check=check, capture_output=True, text=True, **kw)


class VethNamespace:
    def __init__(self, ns, veth, root_ip, ip, table, input_chain=False):
        self.ns, self.veth, self.root_ip, self.ip = ns, veth, root_ip, ip
        self.table, self.input_chain = table, input_chain

    def exec(self, *args, check=True):
        return sh("ip", "netns", "exec", self.ns, *args, check=check)

    def nft(self, rules):
        subprocess.run(["ip", "netns", "exec", self.ns, "nft", "-f", "-"], input=rules,
                       text=True, check=True)

    def setup(self):
        ns, veth = self.ns, self.veth
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", veth, "type", "veth", "peer", "name", veth + "n")
        sh("ip", "link", "set", veth + "n", "netns", ns)
        sh("ip", "addr", "add", self.root_ip + "/30", "dev", veth)
        sh("ip", "link", "set", veth, "up")
        sh("ip", "-n", ns, "addr", "add", self.ip + "/30", "dev", veth + "n")
        sh("ip", "-n", ns, "link", "set", veth + "n", "up")
        sh("ip", "-n", ns, "route", "add", "default", "via", self.root_ip)
        input_chain = """
  chain input {
    type filter hook input priority 0;
  }""" if self.input_chain else ""
        self.nft(f"""table inet {self.table} {{
  chain output {{
    type filter hook output priority 0; policy drop;
    oifname "lo" accept
    ip daddr {self.root_ip}/30 accept
  }}{input_chain}
}}""")

    def teardown(self):
        sh("ip", "link", "del", self.veth, check=False)
        sh("ip", "netns", "del", self.ns, check=False)
