//! The flow detector: classifies `network flow` events with the active
//! flow model, in one batch per pipeline batch, and raises a finding for
//! each flow a model calls an attack. A shadow model, when set, scores the
//! same batch; only its disagreements with the active one are counted.
//!
//! Models are swapped through `ModelSlot` while the detector runs: the
//! detector takes the current pair at the start of each batch.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock, RwLock};

use rampart_core::{Body, Entity, Event, FeatureName, Finding, FlowFeatures, RuleCard, Severity};
use rampart_ml::flow_model::{FlowModel, Scorer};
use rampart_ml::preprocess::Cell;
use serde_json::json;

/// A model ready to score live flows.
pub struct LiveModel {
    pub name: String,
    pub classes: Vec<String>,
    pub normal: usize,
    scorer: Scorer,
    rules: Vec<Arc<RuleCard>>,
    /// `flow.attributes.<input>` per input, made once rather than per event.
    attribute_keys: Vec<String>,
    /// The inputs' names in sorted order with their positions: named
    /// features (a sorted map) are matched in one merge walk, not one
    /// search per input.
    sorted_inputs: Vec<(String, usize)>,
    /// For the column layout seen first (the packet meter's): each input's
    /// column, so the meter's flows are read by position.
    columns: OnceLock<(usize, Vec<Option<usize>>)>,
}

impl LiveModel {
    /// `name` is the model's name in the registry.
    pub fn new(model: &FlowModel, name: &str) -> LiveModel {
        let rules = model.classes.iter().map(|c| Arc::new(rule_for(c, name))).collect();
        let attribute_keys = model.preprocessing.inputs.iter().map(|i| format!("flow.attributes.{}", i.name)).collect();
        let mut sorted_inputs: Vec<(String, usize)> =
            model.preprocessing.inputs.iter().enumerate().map(|(i, input)| (input.name.clone(), i)).collect();
        sorted_inputs.sort();
        LiveModel {
            attribute_keys,
            sorted_inputs,
            columns: OnceLock::new(),
            name: name.to_owned(),
            classes: model.classes.clone(),
            normal: model.normal_class,
            scorer: model.compile(),
            rules,
        }
    }

    /// Features of one flow event in the model's input order: numeric
    /// inputs from `flow.features.*`, symbolic ones from
    /// `flow.attributes.*` (or `network.transport` for the protocol).
    fn encode(&self, event: &Event, out: &mut Vec<f32>, numbers: &mut Vec<Option<f64>>) {
        let Some(Body::Flow { transport, features }) = &event.body else { return };
        let inputs = &self.scorer.preprocessing().inputs;
        numbers.clear();
        numbers.resize(inputs.len(), None);
        match features {
            FlowFeatures::Named(map) => self.match_names(map, numbers),
            FlowFeatures::Columns { layout, values } => {
                let id = layout.as_ptr() as usize;
                let (seen, positions) = self.columns.get_or_init(|| {
                    (id, inputs.iter().map(|input| layout.iter().position(|n| *n == input.name)).collect())
                });
                if *seen == id {
                    for (number, at) in numbers.iter_mut().zip(positions) {
                        *number = at.map(|at| values[at]);
                    }
                } else {
                    for (number, input) in numbers.iter_mut().zip(inputs) {
                        *number = features.get(&input.name);
                    }
                }
            }
        }
        self.scorer.encode(
            |i| {
                let name = &inputs[i].name;
                if let Some(v) = numbers[i] {
                    return Cell::Num(v);
                }
                match event.extra.get(&self.attribute_keys[i]) {
                    Some(serde_json::Value::String(s)) => Cell::Text(s),
                    Some(serde_json::Value::Number(n)) => n.as_f64().map_or(Cell::Missing, Cell::Num),
                    _ if name == "protocol_type" => transport.as_deref().map_or(Cell::Missing, Cell::Text),
                    _ => Cell::Missing,
                }
            },
            out,
        );
    }

    fn match_names(&self, features: &BTreeMap<FeatureName, f64>, numbers: &mut [Option<f64>]) {
        let mut wanted = self.sorted_inputs.iter().peekable();
        for (name, value) in features {
            while let Some((input, _)) = wanted.peek() {
                if input.as_str() < name.as_ref() {
                    wanted.next();
                } else {
                    break;
                }
            }
            if let Some((_, i)) = wanted.peek().filter(|(input, _)| input.as_str() == name.as_ref()) {
                numbers[*i] = Some(*value);
                wanted.next();
            }
        }
    }

    /// The class the model decides and the attack score (1 − P(normal))
    /// for each encoded row.
    fn classify(&self, features: &[f32], scratch: &mut Vec<f32>) -> Vec<(usize, f32)> {
        self.scorer.predict(features, scratch);
        scratch.chunks(self.classes.len()).map(|p| (self.scorer.decide(p), 1.0 - p[self.normal])).collect()
    }
}

fn rule_for(class: &str, model: &str) -> RuleCard {
    let lower = class.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    let (severity, technique) = if has(&["anomaly"]) {
        (Severity::Medium, None)
    } else if has(&["u2r"]) {
        (Severity::Critical, Some("T1068"))
    } else if has(&["dos"]) {
        (Severity::High, Some("T1498"))
    } else if has(&["probe", "portscan", "scan"]) {
        (Severity::Medium, Some("T1046"))
    } else if has(&["r2l", "patator", "brute"]) {
        (Severity::High, Some("T1110"))
    } else if has(&["web attack", "sql", "xss", "heartbleed"]) {
        (Severity::High, Some("T1190"))
    } else if has(&["bot"]) {
        (Severity::High, Some("T1071"))
    } else {
        (Severity::High, None)
    };
    let slug: String = lower
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .into();
    RuleCard {
        id: format!("flow-{slug}"),
        title: format!("Network flow classified as {class}"),
        description: format!("The flow model {model:?} classified flows from this source as {class}."),
        severity,
        score: match severity {
            Severity::Critical => 90.0,
            Severity::High => 75.0,
            _ => 55.0,
        },
        technique: technique.map(str::to_owned),
        // The novelty guard's "unlike any normal training flow" is for an
        // analyst to look at; only a known attack class carries the tag the
        // built-in ban playbook acts on.
        tags: vec!["network".into(), if has(&["anomaly"]) { "flow-novelty" } else { "flow-model" }.into()],
        logic: Some(format!("the active flow model {model:?} says {class} at its stored operating point")),
    }
}

/// The active model and the shadow, either possibly absent.
type Pair = (Option<Arc<LiveModel>>, Option<Arc<LiveModel>>);

/// The live and shadow models, swappable while the detector runs.
#[derive(Default)]
pub struct ModelSlot {
    models: RwLock<Pair>,
}

impl ModelSlot {
    pub fn set_active(&self, model: Option<Arc<LiveModel>>) {
        self.models.write().unwrap_or_else(|p| p.into_inner()).0 = model;
    }

    pub fn set_shadow(&self, model: Option<Arc<LiveModel>>) {
        self.models.write().unwrap_or_else(|p| p.into_inner()).1 = model;
    }

    /// The names of the active and shadow models.
    pub fn names(&self) -> (Option<String>, Option<String>) {
        let m = self.current();
        (m.0.map(|m| m.name.clone()), m.1.map(|m| m.name.clone()))
    }

    fn current(&self) -> Pair {
        self.models.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

pub struct FlowDetector {
    slot: Arc<ModelSlot>,
    /// Attacks with an attack score (1 − P(normal)) below this raise nothing.
    min_attack_score: f32,
    features: Vec<f32>,
    scratch: Vec<f32>,
    flows: Vec<usize>,
    numbers: Vec<Option<f64>>,
}

impl FlowDetector {
    pub fn new(slot: Arc<ModelSlot>, min_attack_score: f64) -> FlowDetector {
        FlowDetector {
            slot,
            min_attack_score: min_attack_score as f32,
            features: Vec::new(),
            scratch: Vec::new(),
            flows: Vec::new(),
            numbers: Vec::new(),
        }
    }
}

impl rampart_core::Detector for FlowDetector {
    fn name(&self) -> &str {
        "flow-model"
    }

    fn detect(&mut self, event: &Event, out: &mut Vec<Finding>) {
        self.detect_batch(std::slice::from_ref(event), out);
    }

    fn detect_batch(&mut self, events: &[Event], out: &mut Vec<Finding>) {
        let (Some(active), shadow) = self.slot.current() else { return };
        self.flows.clear();
        self.flows.extend(
            events.iter().enumerate().filter(|(_, e)| matches!(e.body, Some(Body::Flow { .. }))).map(|(i, _)| i),
        );
        if self.flows.is_empty() {
            return;
        }
        self.features.clear();
        for &i in &self.flows {
            active.encode(&events[i], &mut self.features, &mut self.numbers);
        }
        let verdicts = active.classify(&self.features, &mut self.scratch);
        let mut counts: HashMap<usize, u64> = HashMap::new();
        // One finding per class and entity per batch, as the aggregator
        // would merge them: a scan's hundreds of flows in a batch make one
        // finding (and one context) rather than hundreds.
        let mut open: HashMap<(usize, Entity), usize> = HashMap::new();
        for (&i, &(class, p)) in self.flows.iter().zip(&verdicts) {
            *counts.entry(class).or_default() += 1;
            if class != active.normal && p >= self.min_attack_score {
                let event = &events[i];
                let key = (class, blamed(event));
                if let Some(&at) = open.get(&key)
                    && event.timestamp_ms.abs_diff(out[at].last_seen_ms) <= MERGE_GAP_MS
                {
                    let f = &mut out[at];
                    f.count += 1;
                    f.first_seen_ms = f.first_seen_ms.min(event.timestamp_ms);
                    f.last_seen_ms = f.last_seen_ms.max(event.timestamp_ms);
                    f.evidence.extend(event.id);
                    continue;
                }
                out.push(finding(event, key.1.clone(), &active, class, p));
                open.insert(key, out.len() - 1);
            }
        }
        for (class, n) in counts {
            metrics::counter!(crate::metrics::FLOWS_CLASSIFIED, "model" => active.name.clone(), "class" => active.classes[class].clone())
                .increment(n);
        }
        if let Some(shadow) = shadow {
            self.features.clear();
            for &i in &self.flows {
                shadow.encode(&events[i], &mut self.features, &mut self.numbers);
            }
            let theirs = shadow.classify(&self.features, &mut self.scratch);
            // Compared as verdicts (attack or not) and as class names.
            let disagree = verdicts
                .iter()
                .zip(&theirs)
                .filter(|((a, _), (s, _))| {
                    (*a != active.normal) != (*s != shadow.normal) || active.classes[*a] != shadow.classes[*s]
                })
                .count();
            let labels = [("active", active.name.clone()), ("shadow", shadow.name.clone())];
            metrics::counter!(crate::metrics::SHADOW_SCORED, &labels).increment(verdicts.len() as u64);
            metrics::counter!(crate::metrics::SHADOW_DISAGREEMENTS, &labels).increment(disagree as u64);
        }
    }
}

/// Flows within this of each other merge into one finding in a batch:
/// far below any alert deduplication window.
const MERGE_GAP_MS: u64 = 1_000;

/// Who a flow's verdict is about: its source — unless this host opened it
/// (the capture source says `outbound`): then the host's doing, so the peer
/// it talked to is never banned, nor, with the source address, the host.
fn blamed(event: &Event) -> Entity {
    let outbound = event.extra.get("network.direction").and_then(|v| v.as_str()) == Some("outbound");
    match event.source.ip.map(rampart_core::ip_string) {
        Some(src) if !outbound => Entity { field: "source.ip".into(), value: src },
        _ => Entity { field: "host.name".into(), value: event.host_name.clone().unwrap_or_else(|| "this host".into()) },
    }
}

fn finding(event: &Event, entity: Entity, model: &LiveModel, class: usize, p: f32) -> Finding {
    let ip = |e: &rampart_core::Endpoint| e.ip.map(rampart_core::ip_string);
    let transport = match &event.body {
        Some(Body::Flow { transport, .. }) => transport.clone(),
        _ => None,
    };
    let context = json!({
        "model": model.name,
        "class": model.classes[class],
        "attack_score": p,
        "flow": {
            "source.ip": ip(&event.source), "source.port": event.source.port,
            "destination.ip": ip(&event.destination), "destination.port": event.destination.port,
            "network.transport": transport,
        },
    });
    Finding {
        rule: model.rules[class].clone(),
        entity,
        count: 1,
        first_seen_ms: event.timestamp_ms,
        last_seen_ms: event.timestamp_ms,
        evidence: event.id.into_iter().collect(),
        context: Some(Arc::new(context)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rampart_core::{Detector, EventKind};
    use rampart_ml::flow_model::FlowModel;

    use super::*;

    static LAYOUT: [&str; 3] = ["Flow Duration", "Total Fwd Packet", "Dst Port"];

    /// A forest that calls one-packet flows to high ports attacks.
    fn model() -> FlowModel {
        let mut text = String::from("Flow Duration,Total Fwd Packet,Dst Port,Label\n");
        for i in 0..40 {
            text += &format!("{},{},443,BENIGN\n{},1,{},Portscan\n", 50_000 + i * 1000, 10 + i, i, 1000 + i * 7);
        }
        FlowModel::fit_small(&text, "Label", "BENIGN").unwrap()
    }

    fn flow(id: i64, src: &str, values: [f64; 3], named: bool) -> Event {
        let mut e = Event::new(EventKind::Event, 1_000 + id);
        e.id = Some(id);
        e.source.ip = Some(src.parse().unwrap());
        let features = if named {
            LAYOUT.iter().zip(values).map(|(n, v)| (FeatureName::Borrowed(n), v)).collect()
        } else {
            FlowFeatures::columns(&LAYOUT, &values)
        };
        e.body = Some(Body::Flow { transport: Some("tcp".into()), features });
        e
    }

    fn detector() -> FlowDetector {
        let slot = Arc::new(ModelSlot::default());
        slot.set_active(Some(Arc::new(LiveModel::new(&model(), "t"))));
        FlowDetector::new(slot, 0.5)
    }

    #[test]
    fn columns_and_names_score_alike() {
        let rows = [[90_000.0, 30.0, 443.0], [1.0, 1.0, 1234.0], [60_000.0, 12.0, 443.0], [3.0, 1.0, 1300.0]];
        let verdicts = |named: bool| {
            let mut d = detector();
            let mut out = Vec::new();
            // One flow per batch and address: nothing merges.
            for (i, r) in rows.iter().enumerate() {
                d.detect_batch(&[flow(i as i64, &format!("203.0.113.{i}"), *r, named)], &mut out);
            }
            out.iter().map(|f| (f.evidence.clone(), f.entity.value.clone())).collect::<Vec<_>>()
        };
        let by_position = verdicts(false);
        assert_eq!(by_position, verdicts(true));
        assert_eq!(by_position.iter().map(|v| v.0[0]).collect::<Vec<_>>(), [1, 3]);
    }

    #[test]
    fn a_scans_flows_in_one_batch_make_one_finding_per_address() {
        let mut events: Vec<Event> =
            (0..50).map(|i| flow(i, "203.0.113.9", [2.0, 1.0, 1000.0 + i as f64], false)).collect();
        events.push(flow(50, "198.51.100.4", [2.0, 1.0, 5000.0], false));
        events.push(flow(51, "192.0.2.7", [80_000.0, 25.0, 443.0], false));
        let mut out = Vec::new();
        detector().detect_batch(&events, &mut out);
        let mut found: Vec<(String, u64, usize)> =
            out.iter().map(|f| (f.entity.value.clone(), f.count, f.evidence.len())).collect();
        found.sort();
        assert_eq!(found, [("198.51.100.4".into(), 1, 1), ("203.0.113.9".into(), 50, 50)]);
        assert_eq!(out.iter().find(|f| f.count == 50).unwrap().evidence, (0..50).collect::<Vec<_>>());
    }
}
