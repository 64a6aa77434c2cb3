//! Order statistics over samples: median, percentiles and the maximum.

use serde::Serialize;

/// The median of `values` (the mean of the two middle values for an even count); `None`
/// when empty. NaNs are ignored.
pub fn median(values: &[f64]) -> Option<f64> {
    let sorted = sorted(values);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The `p`-th percentile (0..=100) by nearest rank of sorted values; `None` when empty.
fn percentile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    // Less a hair: 99.9% of 1,000 is rank 999, not the 1,000 a rounding error would give.
    let rank = (p.clamp(0.0, 100.0) / 100.0 * sorted.len() as f64 - 1e-9).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// p50, p99, p99.9 and max of a latency sample, plus its size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Samples.
    pub count: usize,
    /// Median.
    pub p50: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// 99.9th percentile (nearest rank).
    pub p999: f64,
    /// Largest sample.
    pub max: f64,
}

impl Summary {
    /// Summarises `values`; all zero when empty.
    pub fn of(values: &[f64]) -> Summary {
        let sorted = sorted(values);
        Summary {
            count: sorted.len(),
            p50: median(&sorted).unwrap_or(0.0),
            p99: percentile_sorted(&sorted, 99.0).unwrap_or(0.0),
            p999: percentile_sorted(&sorted, 99.9).unwrap_or(0.0),
            max: sorted.last().copied().unwrap_or(0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 5.0]), Some(5.0));
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let percentile = |v: &[f64], p| percentile_sorted(&sorted(v), p);
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
    }

    #[test]
    fn summary() {
        let s = Summary::of(&[5.0, 1.0, 3.0]);
        assert_eq!(
            (s.count, s.p50, s.p99, s.p999, s.max),
            (3, 3.0, 5.0, 5.0, 5.0)
        );
        let thousand: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(Summary::of(&thousand).p999, 999.0);
        assert_eq!(Summary::of(&[]), Summary::default());
    }
}
