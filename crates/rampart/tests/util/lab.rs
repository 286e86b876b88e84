//! A lab of network namespaces for tests that need a real kernel between
//! an attacker and a defender: two namespaces joined by a veth pair (the
//! attacker's side carries a second address, a visitor's), and a third
//! link from the test's own namespace to the defender for the API.
//! Needs root (CAP_NET_ADMIN) and iproute2; scripts/test installs the
//! packages, and CI runs as root.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use super::{Reaped, Server, eventually};

/// The port of the defender's plain TCP server ([`Lab::with_tcp_server`]).
pub const WEB_PORT: u16 = 9000;
/// The port `rampart serve` listens on in the defender.
pub const API_PORT: u16 = 18080;

/// Two namespaces and their links, removed on drop with what runs in them.
pub struct Lab {
    pub defender: String,
    pub attacker: String,
    /// The veth ends on the attacker link, in the defender and the attacker.
    pub defender_if: String,
    pub attacker_if: String,
    host_link: String,
    /// The defender's address on the attacker link.
    pub defender_ip: String,
    pub attacker_ip: String,
    /// A second address in the attacker's namespace: someone else on the
    /// same network, who must not pay for the attacker.
    pub visitor_ip: String,
    /// The defender's address on the link to the test's namespace.
    pub api_ip: String,
    /// The test namespace's own address on that link.
    pub host_ip: String,
    children: Vec<Reaped>,
}

pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Lab {
    /// The namespaces and their links, nothing running yet.
    pub fn new() -> Lab {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        // Unique per process and test; interface names stay under 15 bytes.
        let tag = format!("{}{n}", std::process::id() % 10_000);
        let subnet = 100 + (std::process::id() % 50) * 2 + n;
        let lab = Lab {
            defender: format!("rdef{tag}"),
            attacker: format!("ratt{tag}"),
            defender_if: format!("rd{tag}"),
            attacker_if: format!("ra{tag}"),
            host_link: format!("rh{tag}"),
            defender_ip: format!("10.231.{subnet}.1"),
            attacker_ip: format!("10.231.{subnet}.2"),
            visitor_ip: format!("10.231.{subnet}.3"),
            api_ip: format!("10.232.{subnet}.1"),
            host_ip: format!("10.232.{subnet}.2"),
            children: Vec::new(),
        };
        let (d, a) = (lab.defender.as_str(), lab.attacker.as_str());
        ip(&["netns", "add", d]);
        ip(&["netns", "add", a]);
        let (vd, va, hd) = (lab.defender_if.clone(), lab.attacker_if.clone(), format!("rx{tag}"));
        ip(&["link", "add", &vd, "type", "veth", "peer", "name", &va]);
        ip(&["link", "set", &vd, "netns", d]);
        ip(&["link", "set", &va, "netns", a]);
        ip(&["-n", d, "addr", "add", &format!("{}/24", lab.defender_ip), "dev", &vd]);
        // The first address is the namespace's source address; the visitor's binds explicitly.
        ip(&["-n", a, "addr", "add", &format!("{}/24", lab.attacker_ip), "dev", &va]);
        ip(&["-n", a, "addr", "add", &format!("{}/24", lab.visitor_ip), "dev", &va]);
        ip(&["link", "add", &lab.host_link, "type", "veth", "peer", "name", &hd]);
        ip(&["link", "set", &hd, "netns", d]);
        ip(&["-n", d, "addr", "add", &format!("{}/24", lab.api_ip), "dev", &hd]);
        ip(&["addr", "add", &format!("{}/24", lab.host_ip), "dev", &lab.host_link]);
        for (ns, dev) in [(d, vd.as_str()), (a, va.as_str()), (d, hd.as_str()), (d, "lo"), (a, "lo")] {
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        ip(&["link", "set", &lab.host_link, "up"]);
        lab
    }

    /// A lab whose defender runs a TCP server on [`WEB_PORT`] that accepts
    /// and closes, with a deep backlog so bursts of connects all land.
    pub fn with_tcp_server() -> Lab {
        let mut lab = Lab::new();
        let script = "import socket,sys\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind((sys.argv[1], int(sys.argv[2])))\ns.listen(1024)\nwhile True:\n  c,_=s.accept(); c.close()";
        let mut server = Command::new("ip");
        server.args(["netns", "exec", &lab.defender, "python3", "-c", script, &lab.defender_ip]);
        lab.spawn(server.arg(WEB_PORT.to_string()));
        eventually(10, "the web server in the defender", || lab.attacker_connects().then_some(()));
        lab
    }

    pub fn in_defender(&self) -> Vec<&str> {
        vec!["ip", "netns", "exec", &self.defender]
    }

    pub fn in_attacker(&self) -> Vec<&str> {
        vec!["ip", "netns", "exec", &self.attacker]
    }

    /// Starts `command` (quiet) and keeps it until the lab goes.
    pub fn spawn(&mut self, command: &mut Command) {
        let child: Child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        self.children.push(Reaped(child));
    }

    /// Whether a TCP connection from `from` (an address in the attacker's
    /// namespace) to the defender's `port` succeeds within a second (a
    /// dropped SYN times out).
    pub fn connects(&self, from: &str, port: u16) -> bool {
        let script = "import socket,sys\nsocket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1, source_address=(sys.argv[3], 0)).close()";
        Command::new("ip")
            .args(["netns", "exec", &self.attacker, "python3", "-c", script, &self.defender_ip])
            .args([&port.to_string(), from])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    }

    /// Whether the attacker reaches the TCP server on [`WEB_PORT`].
    pub fn attacker_connects(&self) -> bool {
        self.connects(&self.attacker_ip, WEB_PORT)
    }

    /// How many of `n` back-to-back connections from the attacker succeed.
    pub fn attacker_connections(&self, n: u32) -> u32 {
        let script = "import socket,sys\nok=0\nfor _ in range(int(sys.argv[3])):\n  try:\n    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=0.3).close(); ok+=1\n  except OSError: pass\nprint(ok)";
        let out = Command::new("ip")
            .args(["netns", "exec", &self.attacker, "python3", "-c", script, &self.defender_ip])
            .args([WEB_PORT.to_string(), n.to_string()])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    pub fn nft(&self, args: &[&str]) -> String {
        let out = Command::new("ip").args(["netns", "exec", &self.defender, "nft"]).args(args).output().unwrap();
        assert!(out.status.success(), "nft {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `rampart serve --enforce` in the defender, its API on the link to the test.
    pub fn serve(&self, dir: &std::path::Path, config: &str) -> Server {
        self.serve_with(dir, config, &["--enforce"])
    }

    pub fn serve_with(&self, dir: &std::path::Path, config: &str, flags: &[&str]) -> Server {
        let listen = format!("{}:{API_PORT}", self.api_ip);
        let mut server = Server::start_with(dir, config, &self.in_defender(), &listen, flags);
        server.url = format!("http://{listen}");
        server
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.children.clear();
        // Deleting a namespace deletes its interfaces and their peers.
        for ns in [&self.defender, &self.attacker] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = Command::new("ip").args(["link", "del", &self.host_link]).stderr(Stdio::null()).status();
    }
}
