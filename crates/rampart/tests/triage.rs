//! LLM triage through `rampart serve`: an OpenAI-compatible stand-in (the
//! only kind of stand-in the tests allow: the real service is paid) answers;
//! the alert's triage carries its advice with the redacted address put back;
//! nothing identifying left the host; applying the suggestion is an admin's
//! decision through the normal path — observe mode records it, the
//! allowlist refuses it, a reader may not.

#![allow(clippy::unwrap_used)]

mod util;

use serde_json::{Value, json};
use util::{ADMIN, Server, api_get, chat_stand_in, client, eventually};

const ANSWER: &str = r#"{"summary": "IP_1 tried passwords for six users within seconds.",
  "verdict": "likely_malicious", "reason": "A burst of failures for many users from one address (USER_1 among them).",
  "suggested_response": {"action": "ban", "target": "IP_1", "duration": "2h"}, "cited_event_ids": [1, 2, 99999]}"#;

fn brute_force(server: &Server, ip: &str) -> String {
    let lines: Vec<String> = (0..6)
        .map(|i| {
            json!({"event": {"category": "authentication", "outcome": "failure", "action": "ssh_login"},
                   "source": {"ip": ip}, "user": {"name": format!("user{i}")}, "host": {"name": "bastion-3"},
                   "message": format!("Failed password for user{i} from {ip} port 4000{i} ssh2")})
            .to_string()
        })
        .collect();
    assert_eq!(util::post_events(server, &lines), 200);
    eventually(10, "the brute-force alert", || {
        let page = api_get(server, "/api/v1/alerts?rule=ssh-brute-force");
        page["alerts"]
            .as_array()?
            .iter()
            .find(|a| a["entity"]["value"] == ip)
            .map(|a| a["id"].as_str().unwrap().to_owned())
    })
}

fn post(server: &Server, path: &str, token: &str) -> (u16, Value) {
    let r = client().post(format!("{}{path}", server.url)).bearer_auth(token).send().unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

#[test]
fn alerts_get_redacted_advice_that_only_an_admin_applies_through_the_decision_path() {
    let dir = tempfile::tempdir().unwrap();
    let (base_url, requests) = chat_stand_in(ANSWER);
    let config = format!(
        r#"
[alerts]
notify_delay_ms = 100
[sinks]
stdout = false
[respond]
builtin_playbooks = false
allowlist = ["192.0.2.0/24"]
[llm]
enabled = true
base_url = "{base_url}"
model = "stand-in-1"
"#
    );
    let server = Server::start(dir.path(), &config);
    let id = brute_force(&server, "203.0.113.9");

    let triage = eventually(15, "the model's triage", || {
        let t = api_get(&server, &format!("/api/v1/alerts/{id}/triage"));
        (t["source"] == "llm").then_some(t)
    });
    assert_eq!(triage["summary"], "203.0.113.9 tried passwords for six users within seconds.");
    assert_eq!(triage["verdict"], "likely_malicious");
    assert_eq!(triage["model"], "stand-in-1");
    assert_eq!(triage["suggested_response"], json!({"action": "ban", "target": "203.0.113.9", "duration": "2h"}));
    assert_eq!(triage["invented_citations"], 1, "99999 was never evidence");
    assert_eq!(triage["cited_event_ids"], json!([1, 2]));

    // What left the host: the alert and its evidence, with placeholders.
    let sent = requests.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "one call per alert");
    for secret in ["203.0.113.9", "bastion-3", "user3"] {
        assert!(!sent[0].contains(secret), "{secret} left the host: {}", sent[0]);
    }
    assert!(sent[0].contains("IP_1") && sent[0].contains("\"model\":\"stand-in-1\""));
    assert!(sent[0].contains("per source.ip within"), "the rule's logic in words: {}", sent[0]);

    // Advice, not action: nothing was decided until an admin applies it.
    assert!(api_get(&server, "/api/v1/decisions")["decisions"].as_array().unwrap().is_empty());
    let reader = client()
        .post(format!("{}/api/v1/tokens", server.url))
        .bearer_auth(ADMIN)
        .json(&json!({"name": "soc", "role": "reader"}))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(post(&server, &format!("/api/v1/alerts/{id}/triage/apply"), &reader).0, 403);
    let (status, decision) = post(&server, &format!("/api/v1/alerts/{id}/triage/apply"), ADMIN);
    assert_eq!(status, 201, "{decision}");
    assert_eq!((decision["kind"].as_str(), decision["value"].as_str()), (Some("ban"), Some("203.0.113.9")));
    assert_eq!(decision["enforced"], false, "observe mode records, does not apply");
    assert!(decision["reason"].as_str().unwrap().starts_with("triage suggestion (llm stand-in-1), applied by hand"));
    let actions = api_get(&server, "/api/v1/actions");
    assert!(
        actions["actions"].as_array().unwrap().iter().any(|a| a["decision_id"] == decision["id"]),
        "audited: {actions}"
    );

    // The allowlist wins over any suggestion.
    let safe = brute_force(&server, "192.0.2.10");
    eventually(15, "the second triage", || {
        (api_get(&server, &format!("/api/v1/alerts/{safe}/triage"))["source"] == "llm").then_some(())
    });
    let (status, refused) = post(&server, &format!("/api/v1/alerts/{safe}/triage/apply"), ADMIN);
    assert_eq!(status, 422, "{refused}");
    assert!(refused["decision_id"].is_number(), "the refusal is on record: {refused}");

    let metrics = client().get(format!("{}/metrics", server.url)).send().unwrap().text().unwrap();
    assert!(metrics.contains(r#"rampart_llm_calls_total{outcome="ok"} 2"#), "{metrics}");
    // 99999 in the first; 1, 2 and 99999 in the second (its evidence is 7 to 12).
    assert!(metrics.contains(r#"rampart_llm_invented_citations_total 4"#), "{metrics}");

    // An incident is triaged when an admin asks, and the answer is kept.
    let incidents = api_get(&server, "/api/v1/incidents");
    let incident = incidents["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["alerts"].as_array().unwrap().iter().any(|a| a == id.as_str()))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/incidents/{incident}/triage");
    assert_eq!(api_get(&server, &path)["source"], "fallback");
    assert_eq!(post(&server, &path, &reader).0, 403);
    let (status, asked) = post(&server, &path, ADMIN);
    assert_eq!(status, 200, "{asked}");
    assert_eq!((asked["source"].as_str(), asked["alert_id"].as_str()), (Some("llm"), Some(incident.as_str())));
    assert_eq!(asked["summary"], "203.0.113.9 tried passwords for six users within seconds.");
    assert_eq!(api_get(&server, &path), asked, "kept");
    let last = requests.lock().unwrap().last().unwrap().clone();
    assert!(last.contains("An incident (entity) of 1 alerts") && !last.contains("203.0.113.9"), "{last}");
    server.terminate();
}

#[test]
fn without_a_model_the_triage_is_rule_based_and_never_empty() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), "[sinks]\nstdout = false\n[respond]\nbuiltin_playbooks = false\n");
    let id = brute_force(&server, "198.51.100.23");
    let triage = api_get(&server, &format!("/api/v1/alerts/{id}/triage"));
    assert_eq!(triage["source"], "fallback");
    assert!(triage["summary"].as_str().unwrap().contains("198.51.100.23"), "{triage}");
    assert_eq!(triage["suggested_response"]["action"], "ban");
    let missing =
        client().get(format!("{}/api/v1/alerts/no-such-alert/triage", server.url)).bearer_auth(ADMIN).send().unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let incident = api_get(&server, "/api/v1/incidents")["incidents"][0]["id"].as_str().unwrap().to_owned();
    let (status, off) = post(&server, &format!("/api/v1/incidents/{incident}/triage"), ADMIN);
    assert_eq!(status, 409, "{off}");
    assert!(off["error"].as_str().unwrap().contains("[llm]"), "{off}");
    server.terminate();
}

#[test]
fn the_log_detector_turns_a_line_no_parser_knew_into_an_alert() {
    let dir = tempfile::tempdir().unwrap();
    // One answer for both callers: the detector reads `findings`, triage the rest.
    let (base_url, requests) = chat_stand_in(
        r#"{"findings": [{"line": 2, "title": "Audit log wiped", "reason": "HOST_1 had its audit log truncated."}],
            "summary": "A log wipe.", "verdict": "unsure", "reason": "One line.", "suggested_response": {"action": "none"},
            "cited_event_ids": []}"#,
    );
    let config = format!(
        "[sinks]\nstdout = false\n[sources.host]\nenabled = false\n[llm]\nenabled = true\nbase_url = \"{base_url}\"\n\
         [llm.detector]\nenabled = true\nbatch_wait_ms = 200\n"
    );
    let server = Server::start(dir.path(), &config);
    let lines: Vec<String> = ["kernel: eth0: link becomes ready", "truncate -s0 /var/log/audit/audit.log"]
        .iter()
        .map(|text| {
            json!({"event": {"kind": "pipeline_error"}, "host": {"name": "web-7"}, "message": text}).to_string()
        })
        .collect();
    assert_eq!(util::post_events(&server, &lines), 200);
    let alert = eventually(15, "the detector's alert", || {
        api_get(&server, "/api/v1/alerts?rule=llm-log-finding")["alerts"].as_array()?.first().cloned()
    });
    assert_eq!(alert["entity"], json!({"field": "host.name", "value": "web-7"}));
    assert_eq!(alert["evidence"], json!([2]));
    assert_eq!(alert["context"]["reason"], "web-7 had its audit log truncated.");
    assert_eq!(alert["severity"], "medium", "the model sets no severity");
    let batch = requests.lock().unwrap().iter().find(|b| b.contains("link becomes ready")).cloned().unwrap();
    assert!(batch.contains("truncate -s0") && !batch.contains("web-7"), "{batch}");
    let rules = api_get(&server, "/api/v1/rules");
    assert!(rules.to_string().contains("llm-log-finding"), "listed among the rules");
    server.terminate();
}
