//! When an alert becomes a notification.
//!
//! Like Alertmanager's group_wait and group_interval: a new alert is held
//! for `notify_delay` so the burst that opened it lands in one message with
//! its full count; later growth is re-sent at most once per
//! `renotify_interval`. On shutdown everything pending is sent at once.

use std::collections::HashMap;
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
        loop {
            let next_due = pending.values().filter_map(|p| p.due).min();
            let sleep_until = next_due.unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
            tokio::select! {
                changed = rx.recv() => match changed {
                    Some(alert) => self.schedule(&mut pending, alert),
                    None => break,
                },
                () = tokio::time::sleep_until(sleep_until) => {
                    let now = Instant::now();
                    for p in pending.values_mut() {
                        if p.due.is_some_and(|d| d <= now) {
                            send(&sinks, p, now);
                        }
                    }
                    // Forget alerts that have been quiet for two intervals.
                    let horizon = self.renotify * 2;
                    pending.retain(|_, p| p.due.is_some() || p.last_sent.is_none_or(|t| now - t < horizon));
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

    fn schedule(&self, pending: &mut HashMap<String, Pending>, alert: Alert) {
        let now = Instant::now();
        match pending.get_mut(&alert.id) {
            None => {
                let id = alert.id.clone();
                pending.insert(id, Pending { alert, due: Some(now + self.delay), last_sent: None, sent_count: 0 });
            }
            Some(p) => {
                let grew = alert.count != p.sent_count;
                p.alert = alert;
                if p.due.is_none() && grew {
                    let earliest = p.last_sent.map_or(now, |t| t + self.renotify);
                    p.due = Some(earliest.max(now));
                }
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
