//! Runs the real `rampart` binary for end-to-end tests, in the manner of
//! ripgrep's tests/util.rs: a temp dir per test, a config file, the process,
//! and its output lines collected as they arrive.

#![allow(dead_code)]
// Test support: a failed setup step should abort the test loudly.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod dashboard;
pub mod kafka;
pub mod lab;

pub const ADMIN: &str = "test-admin-token-5f0c9e2a7b1d4c38";

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rampart"))
}

/// A tool scripts/test builds into the cache outside the clone: `$var` when
/// set, else `~/.cache/rampart/<cached>` (or under `XDG_CACHE_HOME`).
pub fn cached_tool(var: &str, cached: &str, builder: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
        cache.join("rampart").join(cached)
    });
    assert!(path.exists(), "{} is missing: scripts/test builds it ({builder})", path.display());
    path
}

/// A running `rampart serve`.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    pub stdout: Arc<Mutex<Vec<String>>>,
    pub stderr: Arc<Mutex<Vec<String>>>,
}

/// Collects `stream`'s lines into `into` as they arrive, on a thread of its own.
pub fn collect(stream: impl std::io::Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            into.lock().unwrap().push(line);
        }
    });
}

impl Server {
    /// Starts a server on a free loopback port with `config` as its TOML file.
    pub fn start(dir: &Path, config: &str) -> Server {
        Server::start_with(dir, config, &[], "127.0.0.1:0", &[])
    }

    /// Starts a server through `wrapper` (e.g. `ip netns exec NS`), listening
    /// on `listen`, with extra `serve` flags.
    pub fn start_with(dir: &Path, config: &str, wrapper: &[&str], listen: &str, flags: &[&str]) -> Server {
        let data_dir = dir.join("data");
        let config_path = dir.join("rampart.toml");
        std::fs::write(&config_path, config).unwrap();
        let bin = bin();
        let mut argv: Vec<&str> = wrapper.to_vec();
        argv.push(bin.to_str().unwrap());
        let mut command = Command::new(argv[0]);
        command
            .args(&argv[1..])
            .args(["--config", config_path.to_str().unwrap(), "--log-format", "json", "serve"])
            .args(["--listen", listen, "--data-dir", data_dir.to_str().unwrap()])
            .args(flags)
            .env("RAMPART_ADMIN_TOKEN", ADMIN);
        let (child, addr, stdout, stderr) = spawn_listening(command, "Rampart is listening.");
        Server { child, url: format!("http://{addr}"), data_dir, stdout, stderr }
    }

    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "rampart did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child process that ends with the test, passed or failed: a child left
/// running would hold the test's output pipes open. SIGTERM first, so a
/// master process (nginx) takes its workers with it; SIGKILL after 5 s.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's nginx with `server` (an nginx `server { … }` block) as its one
/// site, everything it writes under `root` (its access log is
/// `root/access.log`, combined format), started through `wrapper` (e.g.
/// `ip netns exec NS`). It is not yet ready to answer when this returns.
pub fn nginx(root: &Path, wrapper: &[&str], server: &str) -> Reaped {
    let conf = format!(
        "user root;\nworker_processes 1;\npid {root}/nginx.pid;\nerror_log {root}/error.log;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  access_log {root}/access.log combined;\n  client_body_temp_path {root}/body;\n  proxy_temp_path {root}/proxy;\n\
           fastcgi_temp_path {root}/fastcgi;\n  uwsgi_temp_path {root}/uwsgi;\n  scgi_temp_path {root}/scgi;\n\
           {server}\n}}\n",
        root = root.display()
    );
    let conf_path = root.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let mut argv: Vec<&str> = wrapper.to_vec();
    argv.extend(["nginx", "-p", root.to_str().unwrap(), "-c", conf_path.to_str().unwrap(), "-g", "daemon off;"]);
    let child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run nginx ({e}); scripts/deps nginx"));
    Reaped(child)
}

/// The `addr` field of the JSON log line whose message is `message`,
/// waiting up to 30 s for it (and failing if the process exits first).
pub fn logged_addr(lines: &Arc<Mutex<Vec<String>>>, message: &str, child: &mut Child) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = lines.lock().unwrap().iter().find_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            (v["fields"]["message"] == message).then(|| v["fields"]["addr"].as_str().unwrap().to_owned())
        });
        if let Some(addr) = found {
            return addr;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("rampart exited early ({status}): {:?}", lines.lock().unwrap());
        }
        assert!(Instant::now() < deadline, "no {message:?} in {:?}", lines.lock().unwrap());
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

/// A client that speaks HTTP/2 in clear from the first byte (prior knowledge).
pub fn h2_client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder().http2_prior_knowledge().timeout(Duration::from_secs(30)).build().unwrap()
}

/// `GET path` with the admin token, as JSON; a non-2xx answer fails the test.
pub fn api_get(server: &Server, path: &str) -> serde_json::Value {
    let response = client().get(format!("{}{path}", server.url)).bearer_auth(ADMIN).send().unwrap();
    assert!(response.status().is_success(), "GET {path}: {}", response.status());
    response.json().unwrap()
}

/// Polls `check` until it returns Some, or fails after `secs`.
pub fn eventually<T>(secs: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One HTTP/1.1 request read off `stream`: its head and as many body bytes
/// as its Content-Length says (`None` when the peer hung up first).
pub fn read_request(stream: &mut impl std::io::Read) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&buf[..end + 4]).into_owned();
        let len: usize = head
            .to_ascii_lowercase()
            .lines()
            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
            .unwrap_or(0);
        if buf.len() >= end + 4 + len {
            return Some((head, buf[end + 4..end + 4 + len].to_vec()));
        }
    }
}

/// A minimal HTTP server on loopback: each request, head and body, goes to
/// `record`; every answer is `answer`, then the connection closes.
pub fn http_recorder(answer: &'static [u8], record: impl Fn(String, Vec<u8>) + Send + 'static) -> String {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            if let Some((head, body)) = read_request(&mut stream) {
                record(head, body);
            }
            let _ = stream.write_all(answer);
        }
    });
    url
}

/// A webhook receiver that records each request body. Answers 200.
pub fn webhook_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let sink = bodies.clone();
    let url = http_recorder(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n", move |_, body| {
        sink.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
    });
    (format!("{url}/hook"), bodies)
}

/// `rampart proxy` on a free loopback port with `args`: the child (stopped
/// when dropped, a failed assertion included), its URL, and its stdout
/// lines (the verdict events).
pub fn standalone_proxy(args: &[&str]) -> (Reaped, String, Arc<Mutex<Vec<String>>>) {
    let mut command = Command::new(bin());
    command.args(["--log-format", "json", "proxy", "--listen", "127.0.0.1:0"]).args(args);
    let (child, addr, stdout, _) = spawn_listening(command, "The web gatekeeper is listening.");
    (Reaped(child), format!("http://{addr}"), stdout)
}

/// Starts `command` (a rampart that logs JSON) with its output collected
/// line by line, and waits for the log line `message` naming the address
/// it listens on: the child, that address, its stdout and stderr lines.
pub fn spawn_listening(mut command: Command, message: &str) -> (Child, String, Lines, Lines) {
    let mut child = command
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (stdout, stderr) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
    collect(child.stdout.take().unwrap(), stdout.clone());
    collect(child.stderr.take().unwrap(), stderr.clone());
    let addr = logged_addr(&stderr, message, &mut child);
    (child, addr, stdout, stderr)
}

/// A child's output lines, as they arrive.
pub type Lines = Arc<Mutex<Vec<String>>>;

/// A free TCP port on loopback (bound once, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A Debian program (Prometheus, an exporter) started for the test, its output discarded.
pub fn spawn_reaped(program: &str, args: &[String]) -> Reaped {
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); scripts/test installs it"));
    Reaped(child)
}

/// Waits up to 30 s for `url` to answer 2xx.
pub fn wait_http(url: &str) {
    eventually(30, url, || client().get(url).send().ok().filter(|r| r.status().is_success()).map(|_| ()));
}

/// A real Prometheus on a free loopback port scraping `targets` (host:port)
/// every second, its data under `dir`; returns it and its base URL.
pub fn prometheus(dir: &Path, job: &str, targets: &[String]) -> (Reaped, String) {
    let port = free_port();
    let config = dir.join("prometheus.yml");
    let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: {job}\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        ),
    )
    .unwrap();
    let reaped = spawn_reaped(
        "prometheus",
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", dir.join("tsdb").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ],
    );
    let url = format!("http://127.0.0.1:{port}");
    wait_http(&format!("{url}/-/ready"));
    (reaped, url)
}

/// A stand-in for an OpenAI-compatible endpoint (the real one is paid):
/// every chat-completions request is recorded and answered with
/// `content` as the assistant's message. Returns the API root (`…/v1`).
pub fn chat_stand_in(content: &str) -> (String, Arc<Mutex<Vec<String>>>) {
    let body = serde_json::json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 512, "completion_tokens": 64, "total_tokens": 576},
    })
    .to_string();
    let answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let sink = bodies.clone();
    let url = http_recorder(Box::leak(answer.into_bytes().into_boxed_slice()), move |_, body| {
        sink.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
    });
    (format!("{url}/v1"), bodies)
}

/// Posts `lines` (ECS JSON objects) to `/api/v1/events` as NDJSON with the
/// admin token; the answer's status.
pub fn post_events(server: &Server, lines: &[String]) -> u16 {
    client()
        .post(format!("{}/api/v1/events", server.url))
        .bearer_auth(ADMIN)
        .header("content-type", "application/x-ndjson")
        .body(lines.join("\n"))
        .send()
        .unwrap()
        .status()
        .as_u16()
}
