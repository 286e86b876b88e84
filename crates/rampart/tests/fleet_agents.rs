//! Agents on a fleet's Kafka bus (`rampart agent --ship kafka://…`): a ban
//! made on a worker reaches two agents' real nftables, each in a network
//! namespace of its own; and an agent's on-disk buffer carries its events
//! through a broker restart. Real broker (nisshi), real ClickHouse.
//! Needs root, like the suite's other firewall tests.

#![allow(clippy::unwrap_used)]

#[path = "../../store/tests/clickhouse_server/mod.rs"]
mod clickhouse_server;
mod util;

use std::io::Write;
use std::process::{Command, Stdio};

use clickhouse_server::ClickHouseServer;
use serde_json::json;
use util::kafka::Broker;
use util::lab::{Lab, ip};
use util::{ADMIN, Reaped, Server, bin, client, eventually};

fn worker_config(clickhouse: &ClickHouseServer, database: &str, broker: &Broker) -> String {
    format!(
        "[sinks]\nstdout = false\n\n[sources.host]\nenabled = false\n\n[store]\nkind = \"clickhouse\"\n\n\
         [store.clickhouse]\nurl = \"{}\"\ndatabase = \"{database}\"\nflush_ms = 200\n\n\
         [bus]\nkind = \"kafka\"\n\n[bus.kafka]\nbrokers = \"{}\"\n",
        clickhouse.url(),
        broker.addr
    )
}

/// `rampart agent --ship kafka://…` with `config`, through `wrapper` (a namespace) or not.
fn agent(dir: &std::path::Path, config: &str, wrapper: &[&str], broker: &Broker) -> Reaped {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("agent.toml");
    std::fs::write(&path, format!("data_dir = \"{}\"\n{config}", dir.join("data").display())).unwrap();
    let mut argv: Vec<String> = wrapper.iter().map(|s| s.to_string()).collect();
    argv.push(bin().to_str().unwrap().to_owned());
    let log = std::fs::File::create(dir.join("agent.log")).unwrap();
    Reaped(
        Command::new(&argv[0])
            .args(&argv[1..])
            .args(["--config", path.to_str().unwrap(), "--log-format", "json", "agent"])
            .args(["--ship", &format!("kafka://{}", broker.addr)])
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap(),
    )
}

fn banned_in(lab: &Lab, address: &str) -> bool {
    let out = Command::new("ip").args(["netns", "exec", &lab.defender, "nft", "list", "ruleset"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).contains(address)
}

#[test]
fn a_ban_made_on_a_worker_reaches_two_agents_firewalls() {
    let (first, second) = (Lab::new(), Lab::new());
    // The broker listens beside the first lab's link and both defenders
    // reach it there (the second through its link to this namespace).
    ip(&["-n", &second.defender, "route", "add", &format!("{}/32", first.host_ip), "via", &second.host_ip]);
    let clickhouse = ClickHouseServer::start();
    let broker = Broker::start_on("0.0.0.0", &first.host_ip);
    // Made as an operator would, by Rampart's own command.
    let (code, out, err) = broker.rampart_create_topics(&["--partitions", "2"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("worker")).unwrap();
    let worker = Server::start_with(
        &dir.path().join("worker"),
        &worker_config(&clickhouse, "fleet_bans", &broker),
        &[],
        "127.0.0.1:0",
        &["--role", "worker", "--enforce"],
    );
    let agent_config = "[sinks]\nstdout = false\n\n[sources.host]\nenabled = false\n";
    let _agents = [
        agent(&dir.path().join("a1"), agent_config, &first.in_defender(), &broker),
        agent(&dir.path().join("a2"), agent_config, &second.in_defender(), &broker),
    ];
    // Both agents have read the (empty) topic and built their firewalls.
    for (lab, name) in [(&first, "a1"), (&second, "a2")] {
        eventually(30, "the agent's firewall", || {
            let log = std::fs::read_to_string(dir.path().join(name).join("agent.log")).unwrap_or_default();
            (log.contains("Fleet decisions applied") && banned_in(lab, "table")).then_some(())
        });
    }

    let banned = "203.0.113.77";
    let made = std::time::Instant::now();
    let response = client()
        .post(format!("{}/api/v1/decisions", worker.url))
        .bearer_auth(ADMIN)
        .json(&json!({"value": banned, "duration": "1h", "reason": "fleet test"}))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 201, "{}", response.text().unwrap());
    eventually(10, "the ban on both agents", || {
        (banned_in(&first, banned) && banned_in(&second, banned)).then_some(())
    });
    eprintln!("ban on both agents after {} ms", made.elapsed().as_millis());

    // Deleted on the worker, lifted on both.
    let deleted =
        client().delete(format!("{}/api/v1/decisions?value={banned}", worker.url)).bearer_auth(ADMIN).send().unwrap();
    assert!(deleted.status().is_success());
    eventually(10, "the ban lifted on both agents", || {
        (!banned_in(&first, banned) && !banned_in(&second, banned)).then_some(())
    });
}

#[test]
fn an_agents_buffer_carries_its_events_through_a_broker_restart() {
    // The agent runs in a namespace: its firewall is built there, not on this host.
    let lab = Lab::new();
    let clickhouse = ClickHouseServer::start();
    let mut broker = Broker::start_on("0.0.0.0", &lab.host_ip);
    broker.create_topic("rampart.events", 2, &[]);
    broker.create_topic("rampart.decisions", 1, &["cleanup.policy=compact"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("worker")).unwrap();
    let _worker = Server::start_with(
        &dir.path().join("worker"),
        &worker_config(&clickhouse, "fleet_spool", &broker),
        &[],
        "127.0.0.1:0",
        &["--role", "worker"],
    );
    let log = dir.path().join("auth.log");
    std::fs::write(&log, "").unwrap();
    let config = format!(
        "[sinks]\nstdout = false\n\n[sources.host]\nenabled = false\n\n[[sources.files]]\npaths = [\"{}\"]\nformat = \"syslog\"\npoll_interval_ms = 20\nstart_at = \"beginning\"\n",
        log.display()
    );
    let _agent = agent(&dir.path().join("agent"), &config, &lab.in_defender(), &broker);
    let append = |from: u32, to: u32| {
        let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        for i in from..to {
            writeln!(
                file,
                "Nov 21 10:00:00 web-1 sshd[{i}]: Failed password for root from 198.51.100.{} port 5100 ssh2",
                i % 250 + 1
            )
            .unwrap();
        }
    };
    let stored = || clickhouse.query("SELECT uniqExact(id) FROM fleet_spool.events").trim().parse::<u64>().unwrap();
    let spool = dir.path().join("agent/data/agent-spool");
    let spooled = || -> u64 {
        std::fs::read_dir(&spool)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".spool"))
            .map(|e| e.metadata().unwrap().len())
            .sum()
    };
    append(0, 20);
    eventually(30, "the first lines stored", || (stored() == 20).then_some(()));
    let before = spooled();

    broker.stop();
    append(20, 120);
    // The agent takes the lines (its file offset moves on) into its spool.
    eventually(10, "the lines in the agent's spool", || (spooled() >= before * 5).then_some(()));
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(stored(), 20, "nothing reached the store while the broker was down");

    // A fresh broker (its memory is gone): the topics again, then the spool drains.
    broker.resume();
    broker.create_topic("rampart.events", 2, &[]);
    broker.create_topic("rampart.decisions", 1, &["cleanup.policy=compact"]);
    eventually(90, "the spooled lines stored", || (stored() == 120).then_some(()));
}
