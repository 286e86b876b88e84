//! Real scanners against a real site, as an attacker would run them: in
//! the namespace lab of util/lab.rs, Debian's nginx serves a small shop in
//! the defender; Debian's `wapiti` and `sqlmap` scan it from the attacker's
//! address while a visitor on the same network browses it (one odd URL
//! included). Rampart runs in enforce mode either following nginx's access
//! log or in front of nginx as the web gatekeeper. Each scanner must end up
//! banned in nftables — its connections dropped — and the visitor must not.
//! Needs root, nftables, nginx, wapiti and sqlmap (scripts/test installs them).

#![allow(clippy::unwrap_used)]

mod util;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use util::lab::Lab;
use util::{Reaped, Server, api_get, eventually, nginx};

/// Where nginx listens in the gatekeeper runs (the gatekeeper takes port 80).
const UPSTREAM: &str = "127.0.0.1:8081";

/// How the defender watches its site.
#[derive(Clone, Copy, Debug)]
enum Watch {
    /// nginx on port 80; Rampart follows its access log.
    AccessLog,
    /// `rampart serve`'s gatekeeper on port 80, blocking, in front of nginx.
    Gatekeeper,
}

#[derive(Clone, Copy, Debug)]
enum Scanner {
    Wapiti,
    Sqlmap,
}

/// A shop whose pages link to URLs with parameters, for a scanner to find.
fn site(root: &Path) {
    let www = root.join("www");
    std::fs::create_dir_all(&www).unwrap();
    let page = "<html><body><h1>Shop</h1>\n<a href=\"/index.html?page=home\">home</a>\n\
                <a href=\"/search.html?q=lamp\">lamps</a>\n\
                <form action=\"/search.html\" method=\"get\"><input name=\"q\" value=\"chair\"><input type=\"submit\"></form>\n\
                </body></html>\n";
    for name in ["index.html", "search.html"] {
        std::fs::write(www.join(name), page).unwrap();
    }
}

/// nginx serving the shop in the defender on `listen`, and Rampart's config.
fn defender(lab: &Lab, root: &Path, watch: Watch) -> (Reaped, String) {
    site(root);
    let (listen, config) = match watch {
        Watch::AccessLog => (
            format!("{}:80", lab.defender_ip),
            format!(
                "[sinks]\nstdout = false\n\n[[sources.files]]\npaths = [\"{}\"]\nformat = \"combined\"\npoll_interval_ms = 50\n",
                root.join("access.log").display()
            ),
        ),
        Watch::Gatekeeper => (
            UPSTREAM.to_owned(),
            format!(
                "[sinks]\nstdout = false\n\n[proxy]\nenabled = true\nlisten = \"{}:80\"\nupstream = \"http://{UPSTREAM}\"\nmode = \"block\"\n",
                lab.defender_ip
            ),
        ),
    };
    let server = format!("server {{\n    listen {listen};\n    root {}/www;\n  }}", root.display());
    let nginx = nginx(root, &lab.in_defender(), &server);
    (nginx, config)
}

/// The visitor's browsing, from its own address: each path's status, or `down`.
fn visit(lab: &Lab, paths: &[&str]) -> Vec<String> {
    let script = "import http.client,sys\nout=[]\nfor p in sys.argv[3:]:\n  try:\n    c=http.client.HTTPConnection(sys.argv[1],80,timeout=2,source_address=(sys.argv[2],0))\n    c.request('GET',p,headers={'User-Agent':'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'})\n    out.append(str(c.getresponse().status)); c.close()\n  except OSError: out.append('down')\nprint(' '.join(out))";
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.attacker, "python3", "-c", script, &lab.defender_ip, &lab.visitor_ip])
        .args(paths)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_owned).collect()
}

/// A visitor's session: the shop's pages, a search for a name with an
/// apostrophe, and one odd URL (a 404) — nothing a scanner would do.
const BROWSING: [&str; 5] =
    ["/", "/index.html?page=home", "/search.html?q=lamp", "/search.html?q=O%27Brien+desk", "/favicon.ico"];
const BROWSED: [&str; 5] = ["200", "200", "200", "200", "404"];

/// The scanner, started from the attacker's address against the site.
fn scan(lab: &Lab, scanner: Scanner, home: &Path) -> Reaped {
    let site = format!("http://{}", lab.defender_ip);
    let mut argv = lab.in_attacker().into_iter().map(str::to_owned).collect::<Vec<_>>();
    match scanner {
        Scanner::Wapiti => argv.extend(
            [
                "wapiti",
                "-u",
                &format!("{site}/"),
                "--flush-session",
                "--max-scan-time",
                "120",
                "-t",
                "2",
                // Its out-of-band checks ask wapiti3.ovh, out of the lab's reach: they fail fast.
                "-f",
                "txt",
                "-o",
            ]
            .map(str::to_owned),
        ),
        Scanner::Sqlmap => argv.extend(
            [
                "sqlmap",
                "-u",
                &format!("{site}/search.html?q=lamp"),
                "--batch",
                // A real attacker hides sqlmap's name: the ban must come from what it sends.
                "--random-agent",
                "--flush-session",
                "--disable-coloring",
                "--timeout=2",
                "--retries=0",
                "--output-dir",
            ]
            .map(str::to_owned),
        ),
    }
    argv.push(home.join("report").display().to_string());
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .env("HOME", home)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {scanner:?} ({e}); scripts/deps wapiti sqlmap"));
    Reaped(child)
}

fn values(list: &Value, field: &str) -> Vec<String> {
    list.as_array().unwrap().iter().filter_map(|d| d[field].as_str().map(str::to_owned)).collect()
}

fn scanner_is_banned_and_the_visitor_is_not(watch: Watch, scanner: Scanner) {
    let lab = Lab::new();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("site");
    std::fs::create_dir_all(&root).unwrap();
    let (_nginx, config) = defender(&lab, &root, watch);
    let server_dir = dir.path().join("rampart");
    std::fs::create_dir_all(&server_dir).unwrap();
    if let Watch::AccessLog = watch {
        // The file source follows a log that exists; nginx makes it as it starts.
        eventually(30, "nginx's access log", || root.join("access.log").exists().then_some(()));
    }
    let server: Server = lab.serve(&server_dir, &config);
    eventually(30, "the site", || (visit(&lab, &["/"]) == ["200"]).then_some(()));
    assert_eq!(visit(&lab, &BROWSING), BROWSED, "the visitor browses before the scan");

    let started = Instant::now();
    let home = dir.path().join("scanner");
    std::fs::create_dir_all(&home).unwrap();
    let scanning = scan(&lab, scanner, &home);
    let ban = eventually(90, "the scanner banned", || {
        let decisions = api_get(&server, "/api/v1/decisions")["decisions"].clone();
        decisions.as_array().unwrap().iter().find(|d| d["value"] == lab.attacker_ip.as_str()).cloned()
    });
    eprintln!("{watch:?}/{scanner:?}: banned {:?} after the scan started ({})", started.elapsed(), ban["playbook"]);
    assert_eq!(ban["playbook"], "ban-web-attackers", "{ban}");
    let cause = api_get(&server, &format!("/api/v1/alerts/{}", ban["alert_id"].as_str().unwrap()));
    assert_ne!(cause["rule_id"], "web-scanner-user-agent", "banned for its name, not its requests: {cause}");
    // In force in the kernel: the scanner's connections are dropped.
    eventually(10, "the scanner's connections dropped", || (!lab.connects(&lab.attacker_ip, 80)).then_some(()));
    assert!(lab.nft(&["list", "set", "inet", "rampart", "ban_v4"]).contains(&lab.attacker_ip));

    // The visitor, in the same run on the same network, is untouched.
    assert_eq!(visit(&lab, &BROWSING), BROWSED, "the visitor browses after the ban");
    drop(scanning);
    let decisions = api_get(&server, "/api/v1/decisions")["decisions"].clone();
    assert!(!values(&decisions, "value").contains(&lab.visitor_ip), "the visitor was banned: {decisions}");
    let alerts = api_get(&server, "/api/v1/alerts?limit=1000")["alerts"].clone();
    let visitors: Vec<&Value> =
        alerts.as_array().unwrap().iter().filter(|a| a["entity"]["value"] == lab.visitor_ip.as_str()).collect();
    assert!(visitors.is_empty(), "the visitor raised alerts: {visitors:?}");
    let rules = values(&alerts, "rule_id");
    eprintln!("{watch:?}/{scanner:?}: alerts {rules:?}");
}

#[test]
fn wapiti_is_banned_from_the_access_log_and_the_visitor_is_not() {
    scanner_is_banned_and_the_visitor_is_not(Watch::AccessLog, Scanner::Wapiti);
}

#[test]
fn sqlmap_is_banned_from_the_access_log_and_the_visitor_is_not() {
    scanner_is_banned_and_the_visitor_is_not(Watch::AccessLog, Scanner::Sqlmap);
}

#[test]
fn wapiti_is_banned_at_the_gatekeeper_and_the_visitor_is_not() {
    scanner_is_banned_and_the_visitor_is_not(Watch::Gatekeeper, Scanner::Wapiti);
}

#[test]
fn sqlmap_is_banned_at_the_gatekeeper_and_the_visitor_is_not() {
    scanner_is_banned_and_the_visitor_is_not(Watch::Gatekeeper, Scanner::Sqlmap);
}
