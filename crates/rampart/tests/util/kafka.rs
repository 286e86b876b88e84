//! A real Kafka-protocol broker for tests: `nisshi` (tansu's successor, a
//! crate; scripts/test builds it once into a cache directory), in memory,
//! on a loopback port of its own. Stopped when dropped.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::Reaped;

pub struct Broker {
    /// Where clients reach it (its advertised address).
    pub addr: String,
    listen: String,
    process: Option<Reaped>,
}

fn nisshi() -> PathBuf {
    super::cached_tool("NISSHI_BIN", "nisshi-crates/bin/nisshi", "cargo install nisshi")
}

impl Broker {
    /// On a free loopback port.
    pub fn start() -> Broker {
        Broker::start_on("127.0.0.1", "127.0.0.1")
    }

    /// Listening on `listen_ip`, telling clients to come to `advertised_ip`
    /// (an address network namespaces can reach).
    pub fn start_on(listen_ip: &str, advertised_ip: &str) -> Broker {
        let port = TcpListener::bind((listen_ip, 0)).unwrap().local_addr().unwrap().port();
        let mut broker =
            Broker { addr: format!("{advertised_ip}:{port}"), listen: format!("{listen_ip}:{port}"), process: None };
        broker.resume();
        broker
    }

    /// Starts it (again, on the same port: its in-memory topics are gone).
    pub fn resume(&mut self) {
        let (listen, advertised) = (format!("tcp://{}", self.listen), format!("tcp://{}", self.addr));
        let child = Command::new(nisshi())
            .args(["broker", "--listener-url", &listen, "--advertised-listener-url", &advertised])
            .args(["--storage-engine", "memory://nisshi/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.process = Some(Reaped(child));
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(&self.addr).is_err() {
            assert!(Instant::now() < deadline, "nisshi did not listen within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops it.
    pub fn stop(&mut self) {
        self.process = None;
    }

    /// Creates a topic with `partitions` partitions and extra `config`
    /// (`key=value`). A broker just started accepts connections a moment
    /// before it answers requests (a fleet CI run saw the create fail, with
    /// nothing on stderr, right after a restart), so a failure is retried
    /// for a few seconds before it fails the test.
    pub fn create_topic(&self, name: &str, partitions: u32, config: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut command = Command::new(nisshi());
            command.args(["topic", "create", name, "--partitions", &partitions.to_string()]);
            command.args(["--broker", &format!("tcp://{}", self.addr)]);
            for entry in config {
                command.args(["--config", entry]);
            }
            let output = command.output().unwrap();
            if output.status.success() {
                return;
            }
            assert!(Instant::now() < deadline, "topic {name}: {}", String::from_utf8_lossy(&output.stderr));
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Runs `rampart bus create-topics` against this broker with `args`
    /// (and `env`, e.g. another topic's name): (exit code, stdout, stderr).
    pub fn rampart_create_topics(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let output = Command::new(super::bin())
            .args(["bus", "create-topics", "--brokers", &self.addr, "--replication-factor", "1"])
            .args(args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
    }
}
