//! `rampart demo` makes every view come alive: within its first twenty
//! seconds a brute force and a web scan have raised alerts, the host
//! collector reports processes, and the dashboard is served; the host's
//! packets are metered into flows, among them the demo's own loopback
//! visitors and the port sweep that the port-scan rule flags. Needs root
//! (to capture), as the suite's other packet tests do.

#![allow(clippy::unwrap_used)]

mod util;

use std::process::Command;

#[test]
fn demo_raises_brute_force_and_scan_alerts_and_reports_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let mut demo = Command::new(util::bin());
    demo.args(["--log-format", "json", "demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("RAMPART_ADMIN_TOKEN", util::ADMIN);
    let (mut child, addr, _, _) = util::spawn_listening(demo, "Rampart is listening.");
    let url = format!("http://{addr}");
    let client = util::client();
    let get = |path: &str| -> serde_json::Value {
        client.get(format!("{url}{path}")).bearer_auth(util::ADMIN).send().unwrap().json().unwrap()
    };
    let rules = util::eventually(40, "brute force and scan alerts", || {
        let stats = get("/api/v1/stats");
        let alerts = get("/api/v1/alerts?limit=100");
        let fired: Vec<String> =
            alerts["alerts"].as_array().unwrap().iter().map(|a| a["rule_id"].as_str().unwrap().to_owned()).collect();
        (fired.iter().any(|r| r == "ssh-brute-force") && fired.iter().any(|r| r.starts_with("web-")))
            .then_some((stats, fired))
    });
    assert!(rules.0["events"]["total"].as_u64().unwrap() > 20, "{:?}", rules.0);
    let processes = get("/api/v1/processes");
    assert!(!processes["processes"].as_array().unwrap().is_empty(), "{processes}");
    // The shipped demo flow model is registered and live: the Models view is not empty.
    let models = get("/api/v1/models");
    assert_eq!(models["models"][0]["name"], "demo-cic2017", "{models}");
    assert_eq!(models["models"][0]["role"], "active", "{models}");
    assert_eq!(models["live"]["active"], "demo-cic2017", "{models}");
    let page = client.get(format!("{url}/")).send().unwrap().text().unwrap();
    assert!(page.contains("<title>Rampart</title>"));
    let scanner = "127.0.0.66";
    let scan = util::eventually(60, "the loopback sweep flagged from metered flows", || {
        let alerts = get("/api/v1/alerts?limit=200");
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["rule_id"] == "net-port-scan" && a["entity"]["value"] == scanner)
            .cloned()
    });
    assert!(scan["count"].as_u64().unwrap() >= 20, "{scan}");
    let flows = get(&format!("/api/v1/events?source.ip={scanner}&limit=200"));
    let flows = flows["events"].as_array().unwrap();
    assert!(flows.len() >= 20, "{} flows from the scanner", flows.len());
    for flow in flows {
        assert_eq!(flow["event"]["dataset"], "capture", "{flow}");
        assert_eq!(flow["network"]["transport"], "tcp", "{flow}");
        assert_eq!(flow["network"]["direction"], "inbound", "{flow}");
        assert!(flow["destination"]["port"].as_u64().unwrap() <= 100, "{flow}");
    }
    // The visitors' health checks are flows too, answered by the server's port.
    let port: u64 = addr.rsplit(':').next().unwrap().parse().unwrap();
    util::eventually(20, "a visitor's flow", || {
        let n: usize = (20..60)
            .map(|i| {
                let page = get(&format!("/api/v1/events?source.ip=127.0.0.{i}&limit=50"));
                let events = page["events"].as_array().unwrap().clone();
                events.iter().filter(|e| e["destination"]["port"] == port && e["event"]["dataset"] == "capture").count()
            })
            .sum();
        (n > 0).then_some(())
    });
    let _ = child.kill();
    let _ = child.wait();
}
