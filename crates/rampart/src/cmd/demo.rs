//! `rampart demo`: `serve` plus a simulation, so a new user sees every
//! dashboard view come alive within a minute. Normal web and SSH traffic
//! flows all the time; every half minute an SSH brute force and a web scan
//! come from fresh documentation addresses (TEST-NET, RFC 5737); after the
//! host's warm-up a CPU burner child process runs for 40 s. The host's own
//! packets are metered into flows for the flow panels, and the simulation
//! adds real ones on loopback: visitors fetch the health page, and every
//! half minute a scanner sweeps a hundred ports. Decisions stay in observe
//! mode unless `--enforce` is given. The data goes to ./rampart-demo-data
//! unless a data directory is set.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use rampart_core::config::{CaptureSourceConfig, Config};
use rampart_core::ecs::decode_event;
use rampart_core::rng::SplitMix64;
use rampart_core::{Event, IngestSender, Limits};
use serde_json::{Value, json};

/// Host samples twice a second and a 100 s warm-up: the 200 points a
/// baseline needs (`min_baseline_points`) in under two minutes, instead of
/// the seven a real host takes at the 2 s default.
pub fn config(mut config: Config) -> Config {
    if config.data_dir == Config::default().data_dir {
        config.data_dir = "./rampart-demo-data".into();
    }
    config.sources.host.enabled = true;
    config.sources.host.interval_ms = 500;
    config.detect.host_anomaly.enabled = true;
    config.detect.host_anomaly.warmup_secs = 100;
    if config.sources.capture.is_empty() {
        config.sources.capture.push(CaptureSourceConfig::on_interface("any"));
    }
    config
}

/// The flow model the demo ships (`crates/ml/models/flows-demo.md` says how
/// it was trained and how well it does): registered and made active when
/// the registry holds none, so the Models view and the flow rules have a
/// model to show. Not for production: train one on your own traffic.
const DEMO_FLOW_MODEL: &str = include_str!("../../../ml/models/flows-demo.json");

fn register_demo_model(config: &Config) -> anyhow::Result<()> {
    use anyhow::Context;
    let store = rampart_store::connect(&config.store, &config.data_dir)
        .with_context(|| format!("cannot open the store in {}", config.data_dir.display()))?;
    if !store.models()?.is_empty() {
        return Ok(());
    }
    let model = rampart_ml::flow_model::FlowModel::from_json(DEMO_FLOW_MODEL)
        .map_err(|e| anyhow::anyhow!("the shipped demo flow model: {e}"))?;
    store.put_model(&rampart_detect::info_of(&model, &model.name), DEMO_FLOW_MODEL)?;
    store.set_model_role(&model.name, Some(rampart_core::ModelRole::Active))?;
    eprintln!("Registered and activated the demo flow model {:?} (rampart models list).", model.name);
    Ok(())
}

pub fn run(config: Config) -> anyhow::Result<ExitCode> {
    register_demo_model(&config)?;
    let warmup = Duration::from_secs(config.detect.host_anomaly.warmup_secs);
    super::serve::run_with(config, |node| {
        eprintln!("Demo running: open http://{}/ and sign in with the admin token.", node.addr);
        eprintln!("Packets on every interface are metered into flows (capturing needs root or CAP_NET_RAW).");
        Some(tokio::spawn(simulate(node.state.ingest.clone(), warmup, loopback_target(node.addr))))
    })
}

/// The burner: one core busy for `secs`, then exit.
pub fn burn(secs: u64) -> ExitCode {
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    let mut x = 0u64;
    while std::time::Instant::now() < until {
        for i in 0..100_000u64 {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
        }
    }
    ExitCode::SUCCESS
}

/// Where the loopback traffic goes: the demo's own server, when it listens
/// on IPv4 loopback or everywhere (the visitors' addresses are 127.0.0.x).
fn loopback_target(addr: SocketAddr) -> Option<SocketAddr> {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_loopback() || ip.is_unspecified() => {
            Some(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()))
        }
        _ => None,
    }
}

async fn simulate(ingest: IngestSender, warmup: Duration, server: Option<SocketAddr>) {
    let mut rng = SplitMix64::new(7);
    let started = std::time::Instant::now();
    let mut burner: Option<(std::process::Child, std::time::Instant)> = None;
    let mut tick = 0u64;
    loop {
        let mut batch: Vec<Value> = (0..5).map(|_| normal_request(&mut rng)).collect();
        if tick.is_multiple_of(10) {
            batch.push(ssh_login(&format!("10.0.0.{}", 10 + rng.next_u64() % 5), "deploy", "success"));
        }
        if tick % 30 == 5 {
            let attacker = format!("203.0.113.{}", 10 + (tick / 30) % 200);
            batch.extend((0..12).map(|i| ssh_login(&attacker, ["root", "admin", "oracle"][i % 3], "failure")));
        }
        if tick % 30 == 15 {
            let scanner = format!("198.51.100.{}", 10 + (tick / 30) % 200);
            batch.extend(
                SCAN_PATHS
                    .iter()
                    .map(|path| web_request(&scanner, path, 404, "Mozilla/5.0 (compatible; Nmap Scripting Engine)")),
            );
        }
        deliver(&ingest, batch).await;
        if let Some(server) = server {
            for _ in 0..3 {
                let from = Ipv4Addr::new(127, 0, 0, 20 + (rng.next_u64() % 40) as u8);
                tokio::spawn(packets::visit(server, from));
            }
            if tick % 30 == 20 {
                tokio::spawn(packets::sweep(server, Ipv4Addr::new(127, 0, 0, 66)));
            }
        }
        // The burner starts once the host baseline is learnt, and comes back every five minutes.
        match &mut burner {
            None if started.elapsed() > warmup + Duration::from_secs(10) && tick % 300 < 60 => {
                match std::env::current_exe().and_then(|exe| {
                    std::process::Command::new(exe)
                        .args(["demo", "--burn", "40"])
                        .stdin(std::process::Stdio::null())
                        .stdout(std::process::Stdio::null())
                        .spawn()
                }) {
                    Ok(child) => burner = Some((child, std::time::Instant::now())),
                    Err(error) => tracing::warn!(%error, "Cannot start the demo's CPU burner."),
                }
            }
            Some((child, at)) if at.elapsed() > Duration::from_secs(300) => {
                let _ = child.wait();
                burner = None;
            }
            Some((child, _)) => {
                // Reap it when it ends (or is killed from the dashboard).
                let _ = child.try_wait();
            }
            None => {}
        }
        tick += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Real connections on loopback, for the capture to meter.
mod packets {
    use std::net::{Ipv4Addr, SocketAddr};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpSocket, TcpStream};
    use tokio::time::timeout;

    async fn connect(from: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(from.into(), 0))?;
        timeout(Duration::from_secs(2), socket.connect(to)).await?
    }

    /// One visitor's request for the health page.
    pub async fn visit(server: SocketAddr, from: Ipv4Addr) {
        let fetch = async {
            let mut stream = connect(from, server).await?;
            stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n").await?;
            let mut answer = Vec::new();
            timeout(Duration::from_secs(2), stream.read_to_end(&mut answer)).await??;
            std::io::Result::Ok(())
        };
        if let Err(error) = fetch.await {
            tracing::debug!(%error, "A demo visitor's request failed.");
        }
    }

    /// A connect scan of ports 1-100 of the server's address: closed ports
    /// answer with a reset, each attempt one short flow.
    pub async fn sweep(server: SocketAddr, from: Ipv4Addr) {
        for port in (1..=100u16).filter(|p| *p != server.port()) {
            let _ = connect(from, SocketAddr::new(server.ip(), port)).await;
        }
    }
}

const SCAN_PATHS: [&str; 24] = [
    "/.env",
    "/.git/config",
    "/wp-login.php",
    "/phpmyadmin/",
    "/admin/",
    "/backup.zip",
    "/config.php.bak",
    "/server-status",
    "/.aws/credentials",
    "/db.sql",
    "/old/",
    "/test.php",
    "/cgi-bin/test.cgi",
    "/actuator/env",
    "/console",
    "/.svn/entries",
    "/api/v1/debug",
    "/shell.php",
    "/xmlrpc.php",
    "/.DS_Store",
    "/id_rsa",
    "/dump.sql",
    "/manager/html",
    "/solr/admin/",
];

const PAGES: [&str; 6] = ["/", "/products", "/products/42", "/cart", "/search?q=shoes", "/static/app.css"];

fn normal_request(rng: &mut SplitMix64) -> Value {
    let ip = format!("192.0.2.{}", 20 + rng.next_u64() % 40);
    web_request(&ip, PAGES[(rng.next_u64() % PAGES.len() as u64) as usize], 200, "Mozilla/5.0 (X11; Linux x86_64)")
}

fn web_request(ip: &str, path: &str, status: u16, agent: &str) -> Value {
    json!({
        "event": {"kind": "event", "category": ["web"], "action": "http_request", "outcome": if status < 400 { "success" } else { "failure" }},
        "source": {"ip": ip},
        "url": {"original": path},
        "http": {"request": {"method": "GET"}, "response": {"status_code": status}},
        "user_agent": {"original": agent},
        "message": format!("GET {path} {status}"),
    })
}

fn ssh_login(ip: &str, user: &str, outcome: &str) -> Value {
    let verb = if outcome == "success" { "Accepted publickey" } else { "Failed password" };
    json!({
        "event": {"kind": "event", "category": ["authentication"], "action": "ssh_login", "outcome": outcome},
        "source": {"ip": ip},
        "user": {"name": user},
        "message": format!("{verb} for {user} from {ip} port 50022 ssh2"),
    })
}

async fn deliver(ingest: &IngestSender, batch: Vec<Value>) {
    let now = rampart_core::time::now_ms();
    let limits = Limits::default();
    let events: Vec<Event> = batch.into_iter().filter_map(|v| decode_event(v, &limits, now).ok()).collect();
    match ingest.send(events, "demo", Duration::from_secs(1)).await {
        Ok(ack) => {
            let _ = ack.await;
        }
        Err(error) => tracing::warn!(?error, "The demo's events were not queued."),
    }
}
