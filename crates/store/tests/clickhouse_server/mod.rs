//! A real ClickHouse server for tests: Debian's `clickhouse-server`, on
//! loopback ports of its own, with its data in a temporary directory.
//! Stopped (and its files removed) when dropped; `stop` and `start` let a
//! test take it away and bring it back on the same port and data.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BINARY: &str = "/usr/sbin/clickhouse-server";

pub struct ClickHouseServer {
    pub dir: tempfile::TempDir,
    pub http_port: u16,
    tcp_port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl ClickHouseServer {
    pub fn start() -> ClickHouseServer {
        assert!(
            std::path::Path::new(BINARY).exists(),
            "{BINARY} is missing: scripts/test installs Debian's clickhouse-server"
        );
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut server = ClickHouseServer { dir, http_port: free_port(), tcp_port: free_port(), child: None };
        server.write_config();
        server.resume();
        server
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write_config(&self) {
        let d = self.dir.path().display();
        let config = format!(
            "<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/error.log</errorlog></logger>
  <http_port>{}</http_port><tcp_port>{}</tcp_port><listen_host>127.0.0.1</listen_host>
  <path>{d}/data/</path><tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path><format_schema_path>{d}/schemas/</format_schema_path>
  <mark_cache_size>67108864</mark_cache_size>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile><default_database>default</default_database>
</yandex>
",
            self.http_port, self.tcp_port
        );
        let users = "<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
";
        std::fs::write(self.path("config.xml"), config).expect("config written");
        std::fs::write(self.path("users.xml"), users).expect("users written");
    }

    /// Starts (again) and waits until it answers.
    pub fn resume(&mut self) {
        let log = std::fs::File::create(self.path("stdout.log")).expect("log file");
        let child = Command::new(BINARY)
            .arg(format!("--config-file={}", self.path("config.xml").display()))
            .stdout(Stdio::from(log.try_clone().expect("log file")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("clickhouse-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if ping(self.http_port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("clickhouse-server did not answer within 60 s; see {}", self.path("error.log").display());
    }

    /// Stops it the hard way (a crash, as far as clients can tell).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Merges `table`'s parts now, waiting out background merges: 18.16
    /// skips an OPTIMIZE silently while one holds some of the parts, and
    /// a count taken after that still has the duplicates.
    pub fn merge_final(&self, table: &str) {
        let sql = format!("OPTIMIZE TABLE {table} FINAL");
        for _ in 0..300 {
            match self.post("optimize_throw_if_noop=1", &sql) {
                Ok(_) => return,
                Err(answer) if answer.contains("OPTIMIZE") => std::thread::sleep(Duration::from_millis(100)),
                Err(answer) => panic!("{sql}: {answer}"),
            }
        }
        panic!("{sql}: background merges never let go of {table}'s parts");
    }

    /// Runs one statement and returns the answer's text.
    pub fn query(&self, sql: &str) -> String {
        self.post("", sql).unwrap_or_else(|answer| panic!("{sql}: {answer}"))
    }

    /// One statement with extra URL settings: the body, or the whole answer when not 200.
    fn post(&self, settings: &str, sql: &str) -> Result<String, String> {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.http_port)).expect("connects");
        stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout set");
        let request = format!(
            "POST /?output_format_json_quote_64bit_integers=0&{settings} HTTP/1.0\r\nContent-Length: {}\r\n\r\n{sql}",
            sql.len()
        );
        use std::io::{Read, Write};
        stream.write_all(request.as_bytes()).expect("request sent");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer read");
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        if head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200") {
            Ok(body.to_owned())
        } else {
            Err(answer)
        }
    }
}

fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /ping HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.ends_with("Ok.\n")
}

impl Drop for ClickHouseServer {
    fn drop(&mut self) {
        self.stop();
    }
}
