//! How a running consumer is doing: what the live terminal line and the JSON status file say.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PartitionStatus {
    pub topic: String,
    pub partition: i32,
    /// The next offset this consumer will read (its last answered alert's + 1).
    pub next_offset: Option<i64>,
    /// The partition's end on the broker, when last asked.
    pub high_watermark: Option<i64>,
    /// Messages not yet answered.
    pub lag: Option<i64>,
    /// Objects held in memory for the partition.
    pub objects: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StreamStatus {
    pub pid: u32,
    pub group: String,
    pub topics: Vec<String>,
    /// `starting`, `running`, `stopping` or `stopped`.
    pub state: String,
    /// Seconds since the consumer started.
    pub uptime_s: f64,
    pub messages: u64,
    pub alerts: u64,
    pub answered: u64,
    pub dead_letters: u64,
    pub batches: u64,
    pub commits: u64,
    pub rebalances: u64,
    /// Alerts answered per second over the last ten seconds.
    pub alerts_per_s: f64,
    pub partitions: Vec<PartitionStatus>,
    pub last_error: Option<String>,
}

impl StreamStatus {
    pub fn total_lag(&self) -> Option<i64> {
        self.partitions.iter().map(|p| p.lag).sum()
    }

    /// The live terminal line.
    pub fn line(&self) -> String {
        let lag = match self.total_lag() {
            Some(l) => l.to_string(),
            None => "?".into(),
        };
        format!(
            "{}: {} alerts ({:.0}/s), {} dead letters, lag {lag} over {} partitions{}",
            self.state,
            self.alerts,
            self.alerts_per_s,
            self.dead_letters,
            self.partitions.len(),
            self.last_error
                .as_deref()
                .map(|e| format!(", last error: {e}"))
                .unwrap_or_default()
        )
    }
}

/// Alerts per second over a sliding window.
pub struct RateMeter {
    window: Duration,
    points: VecDeque<(Instant, u64)>,
}

impl RateMeter {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            points: VecDeque::new(),
        }
    }

    pub fn record(&mut self, now: Instant, total: u64) -> f64 {
        self.points.push_back((now, total));
        while self
            .points
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > self.window)
        {
            self.points.pop_front();
        }
        match (self.points.front(), self.points.back()) {
            (Some((t0, n0)), Some((t1, n1))) if t1 > t0 => {
                (n1 - n0) as f64 / t1.duration_since(*t0).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_over_the_window() {
        let mut m = RateMeter::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(m.record(t0, 0), 0.0);
        let r = m.record(t0 + Duration::from_secs(2), 1000);
        assert!((r - 500.0).abs() < 1e-9);
        // Points older than the window drop out.
        let r = m.record(t0 + Duration::from_secs(20), 1100);
        assert_eq!(r, 0.0);
    }

    #[test]
    fn lag_is_unknown_until_every_partition_is_known() {
        let mut s = StreamStatus {
            partitions: vec![
                PartitionStatus {
                    lag: Some(3),
                    ..Default::default()
                },
                PartitionStatus::default(),
            ],
            ..Default::default()
        };
        assert_eq!(s.total_lag(), None);
        s.partitions[1].lag = Some(4);
        assert_eq!(s.total_lag(), Some(7));
        assert!(s.line().contains("lag 7"));
    }
}
