//! When an alert becomes a notification.
//!
//! Like Alertmanager's group_wait and group_interval: a new alert is held
//! for `notify_delay` so the burst that opened it lands in one message with
//! its full count; later growth is re-sent at most once per
//! `renotify_interval`. On shutdown everything pending is sent at once.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use rampart_core::Alert;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::delivery::SinkWorker;
use crate::metrics::SINK_DROPPED;

/// Timing of notifications.
#[derive(Debug, Clone, Copy)]
pub struct Notifier {
    pub delay: Duration,
    pub renotify: Duration,
}

/// Feeds alert changes to a running notifier.
pub struct NotifierHandle {
    tx: mpsc::Sender<Alert>,
    task: JoinHandle<()>,
}

struct Pending {
    alert: Alert,
    due: Option<Instant>,
    last_sent: Option<Instant>,
    sent_count: u64,
}

impl Notifier {
    /// Starts the notifier over these sinks; call from within a tokio runtime.
    pub fn spawn(self, sinks: Vec<SinkWorker>, capacity: usize) -> NotifierHandle {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let task = tokio::spawn(self.run(rx, sinks));
        NotifierHandle { tx, task }
    }

    async fn run(self, mut rx: mpsc::Receiver<Alert>, sinks: Vec<SinkWorker>) {
        let mut pending: HashMap<String, Pending> = HashMap::new();
        // When each pending alert is due, soonest first. An entry whose alert
        // was sent or forgotten since is stale and skipped: thousands of
        // growing alerts must not cost a scan of all of them per change.
        let mut due: BinaryHeap<Reverse<(Instant, String)>> = BinaryHeap::new();
        let mut swept = Instant::now();
        loop {
            while let Some(Reverse((at, id))) = due.peek() {
                if pending.get(id).and_then(|p| p.due) == Some(*at) {
                    break;
                }
                due.pop();
            }
            let sleep_until =
                due.peek().map_or_else(|| Instant::now() + Duration::from_secs(1), |Reverse((at, _))| *at);
            tokio::select! {
                changed = rx.recv() => match changed {
                    Some(alert) => {
                        let id = alert.id.clone();
                        if let Some(at) = self.schedule(&mut pending, alert) {
                            due.push(Reverse((at, id)));
                        }
                    }
                    None => break,
                },
                () = tokio::time::sleep_until(sleep_until) => {
                    let now = Instant::now();
                    while let Some(Reverse((at, _))) = due.peek() {
                        if *at > now {
                            break;
                        }
                        let Some(Reverse((at, id))) = due.pop() else { break };
                        if let Some(p) = pending.get_mut(&id).filter(|p| p.due == Some(at)) {
                            send(&sinks, p, now);
                        }
                    }
                    // Forget alerts that have been quiet for two intervals
                    // (looked for once a second, not at every send).
                    let horizon = self.renotify * 2;
                    if now - swept >= Duration::from_secs(1) {
                        pending.retain(|_, p| p.due.is_some() || p.last_sent.is_none_or(|t| now - t < horizon));
                        swept = now;
                    }
                }
            }
        }
        let now = Instant::now();
        for p in pending.values_mut().filter(|p| p.due.is_some()) {
            send(&sinks, p, now);
        }
        for sink in sinks {
            sink.finish(Duration::from_secs(10)).await;
        }
    }

    /// Takes in a changed alert; returns when it became due, if it did.
    fn schedule(&self, pending: &mut HashMap<String, Pending>, alert: Alert) -> Option<Instant> {
        let now = Instant::now();
        match pending.get_mut(&alert.id) {
            None => {
                let id = alert.id.clone();
                let at = now + self.delay;
                pending.insert(id, Pending { alert, due: Some(at), last_sent: None, sent_count: 0 });
                Some(at)
            }
            Some(p) => {
                let grew = alert.count != p.sent_count;
                p.alert = alert;
                if p.due.is_none() && grew {
                    let earliest = p.last_sent.map_or(now, |t| t + self.renotify);
                    p.due = Some(earliest.max(now));
                    return p.due;
                }
                None
            }
        }
    }
}

fn send(sinks: &[SinkWorker], p: &mut Pending, now: Instant) {
    for sink in sinks {
        sink.offer(&p.alert);
    }
    p.due = None;
    p.last_sent = Some(now);
    p.sent_count = p.alert.count;
}

impl NotifierHandle {
    /// Hands over a changed alert without waiting; a full queue drops and counts.
    pub fn notify(&self, alert: Alert) {
        if let Err(e) = self.tx.try_send(alert) {
            let reason = match e {
                mpsc::error::TrySendError::Full(_) => "queue_full",
                mpsc::error::TrySendError::Closed(_) => "closed",
            };
            metrics::counter!(SINK_DROPPED, "sink" => "notifier", "reason" => reason).increment(1);
        }
    }

    /// Sends what is pending and waits for the sinks to drain.
    pub async fn shutdown(self) {
        drop(self.tx);
        let _ = self.task.await;
    }
}
