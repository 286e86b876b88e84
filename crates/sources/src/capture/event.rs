//! A metered flow as a `network flow` event: the 5-tuple in ECS fields,
//! the features under their dataset names (`flow.features.*`), why it was
//! reported (`flow.reason`: closed, idle, early…), and which way it went
//! relative to the capturing host (`network.direction`).

use std::net::IpAddr;

use rampart_core::{Body, Event, EventKind, FlowFeatures};
use rampart_meter::decode::{ICMP, ICMPV6, TCP, UDP};
use rampart_meter::{Ended, FEATURE_NAMES};
use serde_json::json;

/// `locals`: the capturing host's addresses; a flow one of them opened is
/// `network.direction = "outbound"` (the flow detector then blames the
/// host, never bans its peer), one it received `inbound`.
pub fn flow_event(flow: &Ended, locals: &[IpAddr]) -> Event {
    let mut e = Event::new(EventKind::Event, flow.last_us.div_euclid(1000));
    e.category = vec!["network".into()];
    e.action = Some("flow".into());
    e.source.ip = Some(flow.key.src);
    e.destination.ip = Some(flow.key.dst);
    if matches!(flow.key.protocol, TCP | UDP) {
        e.source.port = Some(flow.key.src_port);
        e.destination.port = Some(flow.key.dst_port);
    }
    let transport = match flow.key.protocol {
        TCP => Some("tcp"),
        UDP => Some("udp"),
        ICMP => Some("icmp"),
        ICMPV6 => Some("ipv6-icmp"),
        _ => None,
    };
    // The meter's vector as it is: the flow model reads it by position.
    let features = FlowFeatures::columns(&FEATURE_NAMES, &flow.features);
    e.body = Some(Body::Flow { transport: transport.map(str::to_owned), features });
    e.extra.insert("event.dataset".into(), json!("capture"));
    e.extra.insert("event.start".into(), json!(flow.start_us.div_euclid(1000)));
    e.extra.insert("flow.reason".into(), json!(flow.reason.as_str()));
    e.extra.insert("network.packets".into(), json!(flow.packets));
    let (from_here, to_here) = (locals.contains(&flow.key.src), locals.contains(&flow.key.dst));
    let direction = match (from_here, to_here) {
        (true, true) => Some("internal"),
        (true, false) => Some("outbound"),
        (false, true) => Some("inbound"),
        (false, false) => None,
    };
    if let Some(d) = direction {
        e.extra.insert("network.direction".into(), json!(d));
    }
    e
}
