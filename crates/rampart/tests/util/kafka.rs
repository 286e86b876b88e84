//! A real Kafka-protocol broker for tests: `nisshi` (tansu's successor, a
//! crate; scripts/test builds it once into a cache directory), in memory,
//! on a loopback port of its own. Stopped when dropped.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::Reaped;

pub struct Broker {
    pub addr: String,
    _process: Reaped,
}

fn nisshi() -> PathBuf {
    let path = std::env::var_os("NISSHI_BIN").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
        cache.join("rampart/nisshi-crates/bin/nisshi")
    });
    assert!(path.exists(), "{} is missing: scripts/test builds it (cargo install nisshi)", path.display());
    path
}

impl Broker {
    pub fn start() -> Broker {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(nisshi())
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://nisshi/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let broker = Broker { addr: format!("127.0.0.1:{port}"), _process: Reaped(child) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(&broker.addr).is_err() {
            assert!(Instant::now() < deadline, "nisshi did not listen within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        broker
    }

    /// Creates a topic with `partitions` partitions and extra `config` (`key=value`).
    pub fn create_topic(&self, name: &str, partitions: u32, config: &[&str]) {
        let mut command = Command::new(nisshi());
        command.args(["topic", "create", name, "--partitions", &partitions.to_string()]);
        command.args(["--broker", &format!("tcp://{}", self.addr)]);
        for entry in config {
            command.args(["--config", entry]);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "topic {name}: {}", String::from_utf8_lossy(&output.stderr));
    }
}
