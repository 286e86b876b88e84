//! Running statistics over a stream of whole numbers (bytes, microseconds):
//! count, mean and variance by Welford's update, minimum and maximum — the
//! summaries CICFlowMeter keeps, without keeping the values.

/// 28 bytes whatever the count (packed to 4-byte alignment: a flow holds
/// seven of these, and the flow table's memory is the meter's budget).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[repr(C, packed(4))]
pub struct Running {
    n: u32,
    min: u32,
    max: u32,
    mean: f64,
    /// Sum of squared distances from the mean.
    m2: f64,
}

impl Running {
    pub fn push(&mut self, x: u32) {
        self.n += 1;
        if self.n == 1 {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        let x = f64::from(x);
        let delta = x - self.mean;
        self.mean += delta / f64::from(self.n);
        self.m2 += delta * (x - self.mean);
    }

    pub fn count(&self) -> u32 {
        self.n
    }

    /// 0 when empty, as the reference writes it.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The sample variance (n − 1), as Apache Commons Math's
    /// `SummaryStatistics` (CICFlowMeter's) gives it; 0 below two values.
    pub fn variance(&self) -> f64 {
        if self.n < 2 { 0.0 } else { (self.m2 / f64::from(self.n - 1)).max(0.0) }
    }

    pub fn std(&self) -> f64 {
        self.variance().sqrt()
    }

    pub fn min(&self) -> f64 {
        f64::from(self.min)
    }

    pub fn max(&self) -> f64 {
        f64::from(self.max)
    }

    /// Sum, from the mean (exact for the small counts where it matters;
    /// totals that must be exact are kept apart by the flow).
    pub fn sum(&self) -> f64 {
        (self.mean * f64::from(self.n)).round()
    }
}

impl Running {
    /// The statistics of both streams together (Chan et al.'s pairwise
    /// update), so a flow keeps per-direction summaries only.
    pub fn merged(a: &Running, b: &Running) -> Running {
        if a.n == 0 {
            return *b;
        }
        if b.n == 0 {
            return *a;
        }
        let (na, nb) = (f64::from(a.n), f64::from(b.n));
        let n = na + nb;
        let delta = b.mean - a.mean;
        Running {
            n: a.n + b.n,
            min: a.min.min(b.min),
            max: a.max.max(b.max),
            mean: a.mean + delta * nb / n,
            m2: a.m2 + b.m2 + delta * delta * na * nb / n,
        }
    }
}
