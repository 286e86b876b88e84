//! Live flow metering against real attacks, in the namespace lab of
//! util/lab.rs: `rampart serve --enforce` captures on the defender's side
//! of the veth pair with `[[sources.capture]]`, meters flows and scores
//! them with a flow model; attacks from the attacker's namespace must be
//! banned in nftables while a visitor's browsing and downloads on the same
//! link raise nothing. The model is trained in the test, the way a user
//! would on their own traffic: a first round of the same kinds of traffic
//! (other ports, other addresses) recorded with tcpdump, turned into flows
//! by `rampart flows extract`, trained by `rampart train flows`. The second
//! round is also recorded, and metering that file offline must give the
//! flows the live source stored. The attacks: nmap SYN and connect scans,
//! an hping3 SYN flood, hydra against sshd, slowloris (slowhttptest); the
//! visitor's page loads, downloads, TCP connections and ssh sessions. Needs
//! root, those tools, sshd, tcpdump and python3 (scripts/test installs
//! them).

#![allow(clippy::unwrap_used)]

mod util;

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use util::lab::{Lab, WEB_PORT, ip};
use util::{Reaped, Server, api_get, bin, eventually};

fn run_in(ns: &str, argv: &[&str]) -> Output {
    Command::new("ip").args(["netns", "exec", ns]).args(argv).stdin(Stdio::null()).output().unwrap()
}

/// `argv` run quietly in the defender's namespace, killed when dropped.
fn in_defender<'a>(lab: &Lab, argv: impl IntoIterator<Item = &'a OsStr>) -> Reaped {
    let child = Command::new("ip")
        .args(["netns", "exec", &lab.defender])
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Reaped(child)
}

/// A web server in the defender with a page and a 2 MB file.
fn web_server(lab: &Lab, root: &Path) -> Reaped {
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(root.join("index.html"), "<html><body>shop</body></html>\n".repeat(40)).unwrap();
    std::fs::write(root.join("big.bin"), vec![7u8; 2 << 20]).unwrap();
    let server = in_defender(
        lab,
        ["python3", "-m", "http.server", "80", "--bind", &lab.defender_ip, "--directory"]
            .map(OsStr::new)
            .into_iter()
            .chain([root.as_os_str()]),
    );
    eventually(20, "the web server", || lab.connects(&lab.visitor_ip, 80).then_some(()));
    server
}

/// What a visitor does: pages, downloads, connections to the TCP service,
/// and (given its key) a short interactive ssh session every third round.
fn browse(lab: &Lab, rounds: usize, key: &Path) {
    let site = format!("http://{}", lab.defender_ip);
    for i in 0..rounds {
        let path = if i % 3 == 2 { "big.bin" } else { "index.html" };
        let out = run_in(
            &lab.attacker,
            &["curl", "-sS", "-o", "/dev/null", "--interface", &lab.visitor_ip, &format!("{site}/{path}")],
        );
        assert!(out.status.success(), "curl: {}", String::from_utf8_lossy(&out.stderr));
        assert!(lab.connects(&lab.visitor_ip, WEB_PORT));
        if i % 3 == 0 {
            let login = format!("root@{}", lab.defender_ip);
            let key = key.to_str().unwrap();
            let out = run_in(
                &lab.attacker,
                &[
                    "ssh",
                    "-i",
                    key,
                    "-b",
                    &lab.visitor_ip,
                    "-o",
                    "StrictHostKeyChecking=no",
                    "-o",
                    "UserKnownHostsFile=/dev/null",
                ]
                .into_iter()
                .chain([
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    "LogLevel=ERROR",
                    &login,
                    "uname -a; ls / | head -5; sleep 0.3; echo done",
                ])
                .collect::<Vec<_>>(),
            );
            assert!(out.status.success(), "the visitor's ssh: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// tcpdump on the defender's side of the attacker link, until dropped.
fn record(lab: &Lab, file: &Path) -> Reaped {
    // IPv4 only, as the capture source is told (`filter`): the namespaces'
    // own IPv6 router solicitations go out when the links come up, before
    // the training round, and a model that never saw one has no business
    // judging them.
    let tcpdump = in_defender(
        lab,
        ["tcpdump", "-i", &lab.defender_if, "-U", "-s", "256", "-w"]
            .map(OsStr::new)
            .into_iter()
            .chain([file.as_os_str(), OsStr::new("ip")]),
    );
    eventually(10, "tcpdump's file", || file.metadata().ok().filter(|m| m.len() > 0).map(|_| ()));
    // It is listening once the file has its header; give the filter a moment.
    std::thread::sleep(Duration::from_millis(500));
    tcpdump
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Attack {
    SynScan,
    ConnectScan,
    SynFlood,
    /// hydra guessing root's password against the defender's sshd.
    SshBruteForce,
    /// slowhttptest holding connections open with headers that never end.
    Slowloris,
}

impl Attack {
    const ALL: [Attack; 5] =
        [Attack::SynScan, Attack::ConnectScan, Attack::SynFlood, Attack::SshBruteForce, Attack::Slowloris];

    fn family(self) -> &'static str {
        match self {
            Attack::SynScan | Attack::ConnectScan => "Portscan",
            Attack::SynFlood | Attack::Slowloris => "DoS",
            Attack::SshBruteForce => "SSH-Patator",
        }
    }
}

/// Runs `argv` in the attacker's namespace with `from` as the source the
/// kernel picks for its connections (tools that cannot bind one).
fn from_source(lab: &Lab, from: &str, argv: &[&str]) -> Output {
    let subnet = format!("{}.0/24", lab.defender_ip.rsplit_once('.').unwrap().0);
    ip(&["-n", &lab.attacker, "route", "replace", &subnet, "dev", &lab.attacker_if, "src", from]);
    let out = run_in(&lab.attacker, argv);
    ip(&["-n", &lab.attacker, "route", "replace", &subnet, "dev", &lab.attacker_if, "src", &lab.attacker_ip]);
    out
}

/// The defender's sshd (root may log in with the visitor's key; password
/// guesses fail: root has no password here) and the visitor's key.
fn sshd(lab: &Lab, dir: &Path) -> (Reaped, std::path::PathBuf) {
    let keygen = |path: &Path| {
        let out = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(path).output().unwrap();
        assert!(out.status.success(), "ssh-keygen: {}", String::from_utf8_lossy(&out.stderr));
    };
    std::fs::create_dir_all(dir).unwrap();
    keygen(&dir.join("host_key"));
    keygen(&dir.join("visitor_key"));
    std::fs::copy(dir.join("visitor_key.pub"), dir.join("authorized_keys")).unwrap();
    let config = format!(
        "ListenAddress {}\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\nAuthorizedKeysFile {d}/authorized_keys\n\
         PermitRootLogin yes\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\nUsePAM no\n\
         StrictModes no\nMaxStartups 200\nMaxAuthTries 10\nLogLevel QUIET\n",
        lab.defender_ip,
        d = dir.display()
    );
    std::fs::write(dir.join("sshd_config"), config).unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    let config = dir.join("sshd_config");
    let server =
        in_defender(lab, ["/usr/sbin/sshd", "-D", "-f"].map(OsStr::new).into_iter().chain([config.as_os_str()]));
    eventually(20, "sshd", || lab.connects(&lab.visitor_ip, 22).then_some(()));
    (server, dir.join("visitor_key"))
}

/// Another address of the attacker's, for one attack: each attack's ban is
/// then its own.
fn attacker_address(lab: &Lab, last_octet: u8) -> String {
    let prefix = lab.attacker_ip.rsplit_once('.').unwrap().0;
    let addr = format!("{prefix}.{last_octet}");
    ip(&["-n", &lab.attacker, "addr", "add", &format!("{addr}/24"), "dev", &lab.attacker_if]);
    addr
}

/// Runs `attack` from `from`; `round` picks other ports for the second round.
fn attack(lab: &Lab, attack: Attack, from: &str, round: u16) -> Output {
    let ports = if round == 0 { "1-1000" } else { "1001-2000" };
    let target = lab.defender_ip.as_str();
    match attack {
        Attack::SynScan => run_in(
            &lab.attacker,
            &[
                "nmap",
                "-sS",
                "-Pn",
                "-n",
                "-T4",
                "--max-retries",
                "0",
                "-S",
                from,
                "-e",
                &lab.attacker_if,
                "-p",
                ports,
                target,
            ],
        ),
        // A connect scan's source is the kernel's choice: make it `from`.
        Attack::ConnectScan => {
            from_source(lab, from, &["nmap", "-sT", "-Pn", "-n", "-T4", "--max-retries", "0", "-p", ports, target])
        }
        Attack::SshBruteForce => {
            let words = std::env::temp_dir().join(format!("rampart-capture-words-{}", std::process::id()));
            let list: Vec<String> = (0..40).map(|i| format!("summer{}{i}", 2020 + round)).collect();
            std::fs::write(&words, list.join("\n")).unwrap();
            let url = format!("ssh://{target}");
            let out = from_source(
                lab,
                from,
                &["hydra", "-I", "-q", "-l", "root", "-P", words.to_str().unwrap(), "-t", "4", &url],
            );
            let _ = std::fs::remove_file(&words);
            out
        }
        Attack::Slowloris => {
            let url = format!("http://{target}/");
            from_source(
                lab,
                from,
                &["slowhttptest", "-H", "-c", "40", "-r", "40", "-i", "1", "-l", "6", "-p", "2", "-u", &url],
            )
        }
        Attack::SynFlood => {
            let port = if round == 0 { "80" } else { &WEB_PORT.to_string() };
            run_in(&lab.attacker, &["hping3", "-q", "-S", "-p", port, "-c", "2000", "-i", "u1000", "-a", from, target])
        }
    }
}

/// Trains a model on a recorded first round, as a user would on theirs.
fn train(lab: &Lab, dir: &Path, key: &Path) -> std::path::PathBuf {
    let pcap = dir.join("train.pcap");
    let tcpdump = record(lab, &pcap);
    let mut labels = Vec::new();
    for (i, kind) in Attack::ALL.into_iter().enumerate() {
        browse(lab, 6, key);
        let from = attacker_address(lab, 10 + i as u8);
        let out = attack(lab, kind, &from, 0);
        assert!(out.status.success(), "{kind:?}: {}", String::from_utf8_lossy(&out.stderr));
        labels.push(format!("{from}={}", kind.family()));
    }
    browse(lab, 6, key);
    std::thread::sleep(Duration::from_millis(500));
    drop(tcpdump);
    let csv = dir.join("train.csv");
    let mut extract = Command::new(bin());
    extract.args(["flows", "extract", "--pcap"]).arg(&pcap).arg("--out").arg(&csv).arg("--snapshots");
    for l in &labels {
        extract.args(["--label-address", l]);
    }
    let out = extract.output().unwrap();
    assert!(out.status.success(), "flows extract: {}", String::from_utf8_lossy(&out.stderr));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr).trim());
    let model = dir.join("lab.json");
    let out = Command::new(bin())
        .args(["train", "flows", "--format", "cic-ids2017", "--classes", "binary", "--algo", "random-forest"])
        // No novelty guard: ~85 normal flows are too few to learn what is
        // unusual, and at its 1% rate it flagged a visitor's connection now
        // and then (a medium `flow-anomaly`, never a ban). The test is about
        // the classifier's attack verdicts.
        .args(["--trees", "30", "--no-family-folds", "--novelty-fpr", "0", "--data"])
        .arg(&csv)
        .arg("--out")
        .arg(&model)
        .output()
        .unwrap();
    assert!(out.status.success(), "train flows: {}", String::from_utf8_lossy(&out.stderr));
    model
}

fn flows_of(server: &Server, addr: &str) -> Vec<Value> {
    let events = api_get(server, &format!("/api/v1/events?source.ip={addr}&limit=1000"))["events"].clone();
    events.as_array().unwrap().iter().filter(|e| e["event"]["action"] == "flow").cloned().collect()
}

#[test]
fn attacks_are_banned_from_live_packets_and_browsing_is_not() {
    let lab = Lab::with_tcp_server();
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("www");
    let _web = web_server(&lab, &web);
    let (_sshd, key) = sshd(&lab, &dir.path().join("ssh"));
    let model = train(&lab, dir.path(), &key);

    let server_dir = dir.path().join("rampart");
    std::fs::create_dir_all(&server_dir).unwrap();
    let config = format!(
        "data_dir = \"{}\"\n\n[sinks]\nstdout = false\n\n[[sources.capture]]\ninterface = \"{}\"\nidle_timeout_secs = 5\nearly_after_secs = 3\nfilter = \"ip\"\n",
        server_dir.join("data").display(),
        lab.defender_if
    );
    let config_path = dir.path().join("models.toml");
    std::fs::write(&config_path, &config).unwrap();
    for args in [vec!["models", "add", model.to_str().unwrap(), "--name", "lab"], vec!["models", "activate", "lab"]] {
        let out = Command::new(bin()).arg("--config").arg(&config_path).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let server = lab.serve(&server_dir, &config);
    let pcap = dir.path().join("live.pcap");
    let tcpdump = record(&lab, &pcap);

    browse(&lab, 9, &key);
    let mut report = Vec::new();
    let mut attackers = Vec::new();
    for (i, kind) in Attack::ALL.into_iter().enumerate() {
        let from = attacker_address(&lab, 20 + i as u8);
        attackers.push(from.clone());
        let started = Instant::now();
        let attacking = {
            let (lab, source) = (&lab, from.clone());
            std::thread::scope(|scope| {
                let attacking = scope.spawn(move || attack(lab, kind, &source, 1));
                let ban = eventually(60, &format!("{kind:?} banned"), || {
                    let decisions = api_get(&server, "/api/v1/decisions")["decisions"].clone();
                    // The scans are also banned by the port-scan rule's playbook;
                    // this test is about the flow model's verdicts.
                    decisions
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|d| d["value"] == from.as_str() && d["playbook"] == "ban-network-attackers")
                        .cloned()
                });
                (ban, started.elapsed(), attacking.join().unwrap())
            })
        };
        let (ban, banned_after, _) = attacking;
        assert_eq!(ban["playbook"], "ban-network-attackers", "{ban}");
        // A decision is stored, and so listed, just before nftables is told (failed once in CI: listed, not yet in the set).
        eventually(10, &format!("{from} in the ban set"), || {
            lab.nft(&["list", "set", "inet", "rampart", "ban_v4"]).contains(&from).then_some(())
        });
        // From the detecting flow's last packet (the alert's first
        // evidence) to the decision.
        let alert = api_get(&server, &format!("/api/v1/alerts/{}", ban["alert_id"].as_str().unwrap()));
        let ms = |v: &Value| rampart_core::time::parse_rfc3339(v.as_str().unwrap()).unwrap();
        let latency = ms(&ban["created"]) - alert["first_seen_ms"].as_i64().unwrap();
        report.push(format!("{kind:?}: banned {banned_after:.1?} after it started, {latency} ms after the last packet of the flow that gave it away ({})", alert["rule_id"]));
        browse(&lab, 3, &key);
    }
    std::thread::sleep(Duration::from_secs(1));
    drop(tcpdump);
    for line in &report {
        eprintln!("{line}");
    }

    // Browsing in the same run raised nothing: no alert about the visitor,
    // the defender or the defender's own flows, and every ban is an
    // attacker's. (Any other alert is printed.)
    let alerts = api_get(&server, "/api/v1/alerts?limit=1000")["alerts"].clone();
    let innocent = [lab.visitor_ip.as_str(), lab.defender_ip.as_str(), "this host"];
    for a in alerts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| !attackers.contains(&a["entity"]["value"].as_str().unwrap_or("").to_owned()))
    {
        eprintln!("other alert: {} {} ({})", a["rule_id"], a["entity"]["value"], a["context"]["flow"]);
    }
    let decisions = api_get(&server, "/api/v1/decisions?active=false")["decisions"].clone();
    let banned: Vec<&str> = decisions.as_array().unwrap().iter().filter_map(|d| d["value"].as_str()).collect();
    assert!(banned.iter().all(|b| attackers.iter().any(|a| a == b)), "someone else was banned: {banned:?}");
    let others: Vec<&Value> = alerts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| innocent.contains(&a["entity"]["value"].as_str().unwrap_or("")))
        .collect();
    assert!(others.is_empty(), "normal traffic raised alerts: {others:?}");

    // The same packets, recorded and metered offline, give the visitor's
    // flows the live source stored (closed ones: same packets, same bytes).
    let csv = dir.path().join("live.csv");
    let out =
        Command::new(bin()).args(["flows", "extract", "--pcap"]).arg(&pcap).arg("--out").arg(&csv).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut offline = offline_flows(&csv, &lab.visitor_ip);
    offline.sort();
    let mut live: Vec<String> = eventually(20, "the visitor's flows stored", || {
        let flows = flows_of(&server, &lab.visitor_ip);
        (flows.len() >= offline.len()).then_some(flows)
    })
    .iter()
    .map(|e| {
        let port = |k: &str| e[k]["port"].as_u64().unwrap();
        flow_line(port("source"), port("destination"), |n| e["flow"]["features"][n].as_f64().unwrap())
    })
    .collect();
    live.sort();
    assert!(live.len() >= 20, "too few flows from the visitor: {live:?}");
    assert_eq!(live, offline, "live and offline metering differ");
}

const COMPARED: [&str; 4] =
    ["Total Fwd Packet", "Total Bwd packets", "Total Length of Fwd Packet", "Total Length of Bwd Packet"];

fn flow_line(sport: u64, dport: u64, feature: impl Fn(&str) -> f64) -> String {
    let values: Vec<String> = COMPARED.iter().map(|n| feature(n).to_string()).collect();
    format!("{sport} {dport} {}", values.join(" "))
}

/// The visitor's flows in an extracted CSV, as `flow_line`s.
fn offline_flows(csv: &Path, visitor: &str) -> Vec<String> {
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|row| row[at("Src IP")] == visitor)
        .map(|row| {
            flow_line(row[at("Src Port")].parse().unwrap(), row[at("Dst Port")].parse().unwrap(), |n| {
                row[at(n)].parse().unwrap()
            })
        })
        .collect()
}
