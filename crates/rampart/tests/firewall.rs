//! The nftables enforcer against the real kernel, inside the namespace lab
//! of util/lab.rs: the defender runs a TCP server and `rampart serve
//! --enforce`, the attacker connects or is dropped. Needs root
//! (CAP_NET_ADMIN), nftables and iproute2; scripts/test installs the
//! packages, and CI runs as root.

#![allow(clippy::unwrap_used)]

mod util;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use util::lab::{API_PORT, Lab};
use util::{ADMIN, Reaped, Server, bin, client, eventually};

fn post_ban(server: &Server, body: Value) -> (u16, Value) {
    let r = client().post(format!("{}/api/v1/decisions", server.url)).bearer_auth(ADMIN).json(&body).send().unwrap();
    (r.status().as_u16(), r.json().unwrap())
}

fn delete(server: &Server, path: &str) -> Value {
    let r = client().delete(format!("{}/api/v1/{path}", server.url)).bearer_auth(ADMIN).send().unwrap();
    assert!(r.status().is_success(), "DELETE {path}: {}", r.status());
    r.json().unwrap()
}

fn get(server: &Server, path: &str) -> Value {
    client().get(format!("{}/api/v1/{path}", server.url)).bearer_auth(ADMIN).send().unwrap().json().unwrap()
}

fn blocked(lab: &Lab) -> bool {
    !lab.attacker_connects()
}

/// An empty auth.log in `dir` and a config that follows it closely.
fn followed_log(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let log = dir.join("auth.log");
    std::fs::write(&log, "").unwrap();
    let config = format!(
        "[sinks]\nstdout = false\n\n[[sources.files]]\npaths = [\"{}\"]\nformat = \"syslog\"\npoll_interval_ms = 20\n",
        log.display()
    );
    (log, config)
}

/// Five failed SSH logins from `ip`, appended to `log` at once.
fn brute_force(log: &std::path::Path, ip: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(log).unwrap();
    for i in 0..5 {
        writeln!(file, "Nov 21 10:00:0{i} web-1 sshd[40{i}]: Failed password for root from {ip} port 5100{i} ssh2")
            .unwrap();
    }
    file.flush().unwrap();
}

#[test]
fn bans_block_until_deleted_or_expired_ranges_count_allowlists_win_and_restarts_reconcile() {
    let lab = Lab::with_tcp_server();
    let dir = tempfile::tempdir().unwrap();
    let config = "[sinks]\nstdout = false\n\n[respond]\nallowlist = [\"192.0.2.0/24\"]\n";
    let server = lab.serve(dir.path(), config);
    assert!(lab.attacker_connects(), "no ban yet");

    // A ban made with the CLI, as an operator would.
    let out = Command::new(bin())
        .args(["decisions", "add", &lab.attacker_ip, "--duration", "1h", "--reason", "test ban"])
        .args(["--server", &server.url, "--token", ADMIN])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&lab.attacker_ip));
    assert!(blocked(&lab), "banned: the connection must fail");
    let listed = get(&server, "decisions");
    let id = listed["decisions"][0]["id"].as_i64().unwrap();
    assert_eq!(listed["decisions"][0]["origin"], "manual");
    assert!(lab.nft(&["list", "set", "inet", "rampart", "ban_v4"]).contains(&lab.attacker_ip));

    delete(&server, &format!("decisions/{id}"));
    assert!(lab.attacker_connects(), "deleted: connections succeed again");

    // A range covers the address inside it; delete by value lifts it.
    let range = format!("{}.0/29", lab.attacker_ip.rsplit_once('.').unwrap().0);
    assert_eq!(post_ban(&server, json!({"value": range, "duration": "1h"})).0, 201);
    assert!(blocked(&lab), "an address inside a banned range is blocked");
    let gone = delete(&server, &format!("decisions?value={range}"));
    assert_eq!(gone["deleted"].as_array().unwrap().len(), 1);
    assert!(lab.attacker_connects());

    // Expiry is the kernel's: a 2 s ban lifts itself.
    assert_eq!(post_ban(&server, json!({"value": lab.attacker_ip, "duration": "2s"})).0, 201);
    assert!(blocked(&lab));
    std::thread::sleep(Duration::from_millis(2_500));
    assert!(lab.attacker_connects(), "expired: connections succeed again");

    // Allowlists win, and the refusal is on record.
    for value in ["127.0.0.1", "192.0.2.10", "0.0.0.0/0"] {
        let (status, body) = post_ban(&server, json!({"value": value}));
        assert_eq!(status, 422, "{value}: {body}");
        assert!(body["error"].as_str().unwrap().starts_with("refused"), "{body}");
    }
    let actions = get(&server, "actions?limit=100");
    let results: Vec<&str> =
        actions["actions"].as_array().unwrap().iter().map(|a| a["result"].as_str().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| **r == "refused").count(), 3, "{actions}");
    assert!(results.contains(&"applied"));
    assert!(!lab.nft(&["list", "table", "inet", "rampart"]).contains("127.0.0.1"));

    // Reconciliation: the table deleted by hand comes back on restart, bans and all.
    assert_eq!(post_ban(&server, json!({"value": lab.attacker_ip, "duration": "1h"})).0, 201);
    assert!(blocked(&lab));
    lab.nft(&["delete", "table", "inet", "rampart"]);
    assert!(lab.attacker_connects(), "table gone: nothing enforced");
    assert!(server.terminate().success());
    let server = lab.serve(dir.path(), config);
    eventually(10, "the ban restored from the store", || blocked(&lab).then_some(()));

    // `rampart firewall status` and `teardown`, run on the defender.
    let status = Command::new("ip")
        .args(["netns", "exec", &lab.defender])
        .arg(bin())
        .args(["firewall", "status"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains(&lab.attacker_ip));
    drop(server);
    let teardown =
        Command::new("ip").args(["netns", "exec", &lab.defender]).arg(bin()).args(["firewall", "teardown"]).output();
    assert!(teardown.unwrap().status.success());
    assert!(lab.attacker_connects(), "teardown lifts every ban");
}

#[test]
fn a_brute_force_written_to_a_log_gets_the_attacker_banned() {
    let lab = Lab::with_tcp_server();
    let dir = tempfile::tempdir().unwrap();
    let (log, config) = followed_log(dir.path());
    let server = lab.serve(dir.path(), &config);
    assert!(lab.attacker_connects());
    let written = Instant::now();
    brute_force(&log, &lab.attacker_ip);
    eventually(10, "the brute-forcing address banned", || blocked(&lab).then_some(()));
    eprintln!("log line → ban in force within {:?} (including one connect probe)", written.elapsed());
    let decisions = get(&server, "decisions");
    let d = &decisions["decisions"][0];
    assert_eq!((d["value"].as_str(), d["origin"].as_str()), (Some(lab.attacker_ip.as_str()), Some("rule")));
    assert_eq!(d["playbook"], "ban-ssh-attackers");
    assert!(d["alert_id"].is_string());
    // First offence: ten minutes.
    assert!((590..=600).contains(&d["remaining_secs"].as_u64().unwrap()), "{d}");
}

#[test]
fn observe_mode_records_decisions_without_touching_the_firewall() {
    let lab = Lab::with_tcp_server();
    let dir = tempfile::tempdir().unwrap();
    let (log, config) = followed_log(dir.path());
    // No --enforce: observe is the default.
    let server = lab.serve_with(dir.path(), &config, &[]);
    brute_force(&log, &lab.attacker_ip);
    let actions = eventually(10, "the dry-run action", || {
        let a = get(&server, "actions");
        (a["actions"].as_array().is_some_and(|v| !v.is_empty())).then_some(a)
    });
    assert_eq!(actions["actions"][0]["result"], "dry_run");
    assert_eq!(get(&server, "decisions")["decisions"][0]["value"], lab.attacker_ip.as_str());
    assert!(lab.attacker_connects(), "observe mode never blocks");
    let tables = Command::new("ip").args(["netns", "exec", &lab.defender, "nft", "list", "tables"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&tables.stdout).contains("rampart"));
}

#[test]
fn an_agent_applies_the_servers_bans_and_ships_its_logs_for_detection() {
    let lab = Lab::with_tcp_server();
    let dir = tempfile::tempdir().unwrap();
    // The server runs in the test's own namespace, observing only: it
    // enforces nothing itself; the agent enforces on the defender.
    let server_dir = dir.path().join("server");
    std::fs::create_dir_all(&server_dir).unwrap();
    let listen = format!("{}:{}", lab.host_ip, API_PORT + 1);
    let mut server = Server::start_with(&server_dir, "[sinks]\nstdout = false\n", &[], &listen, &[]);
    server.url = format!("http://{listen}");

    let agent_dir = dir.path().join("agent");
    std::fs::create_dir_all(&agent_dir).unwrap();
    let (log, agent_config) = followed_log(&agent_dir);
    let agent_config = agent_config.replace("[sinks]\nstdout = false\n", "");
    let config_path = agent_dir.join("agent.toml");
    std::fs::write(&config_path, format!("data_dir = \"{}\"\n{agent_config}", agent_dir.join("data").display()))
        .unwrap();
    let _agent = Reaped(
        Command::new("ip")
            .args(["netns", "exec", &lab.defender])
            .arg(bin())
            .args(["--config", config_path.to_str().unwrap(), "agent", "--interval-secs", "1"])
            .args(["--server", &server.url, "--token", ADMIN])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // A ban made on the server is in force on the defender within a poll or two.
    assert_eq!(post_ban(&server, json!({"value": lab.attacker_ip, "duration": "1h"})).0, 201);
    eventually(10, "the server's ban applied by the agent", || blocked(&lab).then_some(()));
    delete(&server, &format!("decisions?value={}", lab.attacker_ip));
    eventually(10, "the server's delete applied by the agent", || lab.attacker_connects().then_some(()));

    // The defender's own auth.log, shipped by the agent: the server detects
    // the brute force, its playbook decides, the agent enforces.
    brute_force(&log, &lab.attacker_ip);
    eventually(15, "a ban decided from the agent's own logs", || blocked(&lab).then_some(()));
    let decisions = get(&server, "decisions");
    assert_eq!(decisions["decisions"][0]["playbook"], "ban-ssh-attackers", "{decisions}");
    let events = get(&server, &format!("events?source.ip={}", lab.attacker_ip));
    assert_eq!(events["events"].as_array().unwrap().len(), 5, "every shipped line stored once");
}

#[test]
fn a_rate_limit_lets_a_few_connections_through_and_drops_the_rest() {
    let lab = Lab::with_tcp_server();
    let dir = tempfile::tempdir().unwrap();
    let config = "[sinks]\nstdout = false\n\n[respond.nftables]\nrate_limit_per_sec = 2\n";
    let server = lab.serve(dir.path(), config);
    assert_eq!(lab.attacker_connections(8), 8, "no limit yet");
    let (status, body) = post_ban(&server, json!({"value": lab.attacker_ip, "kind": "rate_limit", "duration": "1h"}));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["rate_per_sec"], 2);
    // Two a second with a burst of two: of 8 attempts at once, a few pass.
    let through = lab.attacker_connections(8);
    assert!((1..8).contains(&through), "{through} of 8 got through");
    assert!(lab.nft(&["list", "set", "inet", "rampart", "rl_v4"]).contains(&lab.attacker_ip));
    delete(&server, &format!("decisions?value={}", lab.attacker_ip));
    assert_eq!(lab.attacker_connections(8), 8, "lifted");
}

#[test]
fn the_ipset_fallback_bans_ranges_lifts_on_delete_and_reconciles() {
    let lab = Lab::with_tcp_server();
    let dir = tempfile::tempdir().unwrap();
    let config = "[sinks]\nstdout = false\n\n[respond]\nfirewall = \"ipset\"\n";
    let server = lab.serve(dir.path(), config);
    let range = format!("{}.0/29", lab.attacker_ip.rsplit_once('.').unwrap().0);
    assert_eq!(post_ban(&server, json!({"value": range, "duration": "1h"})).0, 201);
    assert!(blocked(&lab), "a range in the ipset blocks the address inside it");
    let actions = get(&server, "actions");
    assert_eq!(actions["actions"][0]["enforcer"], "ipset", "{actions}");
    assert_eq!(actions["actions"][0]["result"], "applied", "{actions}");
    // Restart with the set emptied by hand: the store puts the ban back.
    let flush = Command::new("ip").args(["netns", "exec", &lab.defender, "ipset", "flush", "rampart_v4"]).status();
    assert!(flush.unwrap().success());
    assert!(lab.attacker_connects());
    assert!(server.terminate().success());
    let server = lab.serve(dir.path(), config);
    eventually(10, "the ban restored into the ipset", || blocked(&lab).then_some(()));
    delete(&server, &format!("decisions?value={range}"));
    assert!(lab.attacker_connects(), "deleted: lifted");
    // Rate limits need nftables: refused by this enforcer, and audited.
    assert_eq!(post_ban(&server, json!({"value": lab.attacker_ip, "kind": "rate_limit"})).0, 201);
    let actions = get(&server, "actions");
    assert_eq!(actions["actions"][0]["result"], "failed");
    assert!(actions["actions"][0]["detail"].as_str().unwrap().contains("nftables"));
    drop(server);
    let teardown = Command::new("ip")
        .args(["netns", "exec", &lab.defender])
        .arg(bin())
        .args(["--config", dir.path().join("rampart.toml").to_str().unwrap(), "firewall", "teardown"])
        .output()
        .unwrap();
    assert!(teardown.status.success(), "{}", String::from_utf8_lossy(&teardown.stderr));
    let sets = Command::new("ip").args(["netns", "exec", &lab.defender, "ipset", "list", "-n"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&sets.stdout).contains("rampart"));
}
