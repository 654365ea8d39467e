//! Latency statistics: one HDR histogram per key (a request method, a stream channel), in ns,
//! with 3 significant digits.
//!
//! Recording is O(1) and allocation-free: a key is a small index handed out once by
//! [`LatencyRecorder::key`], and each histogram covers 1 ns .. 1 h from the start, so it never
//! resizes. A negative sample (a venue clock ahead of ours) cannot go into a histogram of
//! non-negative values; it is counted apart, never clamped to 0, and the most negative one
//! is kept (as the key's exact minimum).

use std::collections::HashMap;

use hdrhistogram::Histogram;

/// Significant decimal digits kept by every histogram: values are exact below 2048 ns and
/// within 0.1% above.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// The largest value a histogram tells apart: 1 hour in ns. Larger samples count as 1 h in
/// the percentiles (the exact maximum is kept beside the histogram).
pub const HIGHEST_NS: u64 = 3_600_000_000_000;

/// One key's samples: the histogram of the non-negative ones, the count of negative ones,
/// and the exact extremes of all of them.
#[derive(Debug, Clone)]
struct Series {
    histogram: Histogram<u64>,
    negative: u64,
    min: i64,
    max: i64,
}

impl Series {
    fn new() -> Self {
        Series {
            histogram: Histogram::new_with_bounds(1, HIGHEST_NS, SIGNIFICANT_DIGITS)
                .expect("constant histogram bounds are valid"),
            negative: 0,
            min: i64::MAX,
            max: i64::MIN,
        }
    }

    #[inline]
    fn record(&mut self, value_ns: i64) {
        self.min = self.min.min(value_ns);
        self.max = self.max.max(value_ns);
        if value_ns < 0 {
            self.negative += 1;
        } else {
            self.histogram.saturating_record(value_ns as u64);
        }
    }

    fn reset(&mut self) {
        self.histogram.reset();
        self.negative = 0;
        self.min = i64::MAX;
        self.max = i64::MIN;
    }

    fn summary(&self) -> Summary {
        let h = &self.histogram;
        let count = h.len();
        // A percentile is the highest value equivalent to the true one, which can lie above
        // the exact maximum: never report a percentile past it.
        let ceiling = u64::try_from(self.max).unwrap_or(0);
        let at = |q: f64| {
            if count == 0 {
                0
            } else {
                h.value_at_quantile(q).min(ceiling)
            }
        };
        let any = count + self.negative > 0;
        Summary {
            count,
            p50_ns: at(0.50),
            p90_ns: at(0.90),
            p99_ns: at(0.99),
            p999_ns: at(0.999),
            max_ns: if any { self.max } else { 0 },
            min_ns: if any { self.min } else { 0 },
            negative: self.negative,
        }
    }
}

/// What one key's samples look like. Percentiles are over the non-negative samples (`count`
/// of them), as the histogram's values: the highest value equivalent to the true one at 3
/// significant digits, capped at the exact maximum. `min_ns` and `max_ns` are the exact extremes of every sample,
/// negative ones included, so `min_ns` is the most negative sample when `negative > 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Non-negative samples (those in the histogram).
    pub count: u64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    /// Largest sample, exact (0 when there is none).
    pub max_ns: i64,
    /// Smallest sample, exact, negative ones included (0 when there is none).
    pub min_ns: i64,
    /// Negative samples, counted apart from the histogram.
    pub negative: u64,
}

impl Summary {
    /// Whether any sample, negative or not, was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0 && self.negative == 0
    }
}

/// A set of named latency series. Key ids are dense indices, stable until the recorder is
/// dropped (`reset` keeps them), so callers look a name up once and record by id.
#[derive(Debug, Clone, Default)]
pub struct LatencyRecorder {
    names: Vec<String>,
    ids: HashMap<String, usize>,
    series: Vec<Series>,
}

impl LatencyRecorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `name`, made on first use (the only step that allocates).
    pub fn key(&mut self, name: &str) -> usize {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.series.len();
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        self.series.push(Series::new());
        id
    }

    /// The name of key `id`, if there is such a key.
    pub fn name(&self, id: usize) -> Option<&str> {
        self.names.get(id).map(String::as_str)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Records one sample of key `id`; false (nothing recorded) when there is no such key.
    #[inline]
    pub fn record(&mut self, id: usize, value_ns: i64) -> bool {
        match self.series.get_mut(id) {
            Some(series) => {
                series.record(value_ns);
                true
            }
            None => false,
        }
    }

    /// The summary of key `id`.
    pub fn summary(&self, id: usize) -> Option<Summary> {
        self.series.get(id).map(Series::summary)
    }

    /// `(name, summary)` of every key with at least one sample, in key order.
    pub fn summaries(&self) -> impl Iterator<Item = (&str, Summary)> {
        self.names
            .iter()
            .zip(&self.series)
            .map(|(name, series)| (name.as_str(), series.summary()))
            .filter(|(_, summary)| !summary.is_empty())
    }

    /// Forgets every sample; keys and their ids stay.
    pub fn reset(&mut self) {
        self.series.iter_mut().for_each(Series::reset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within hdrhistogram's precision: the reported value is the top of the true value's
    /// bucket, at most 0.1% above it (exact below 2048).
    fn close(reported: u64, exact: u64) -> bool {
        reported >= exact && (reported - exact) * 1000 <= exact
    }

    #[test]
    fn keys_are_dense_and_stable() {
        let mut r = LatencyRecorder::new();
        assert!(r.is_empty());
        assert_eq!(r.key("request:add_order"), 0);
        assert_eq!(r.key("request:cancel_order"), 1);
        assert_eq!(r.key("request:add_order"), 0);
        assert_eq!(r.len(), 2);
        assert_eq!(r.name(1), Some("request:cancel_order"));
        assert_eq!(r.name(2), None);
        assert!(!r.record(2, 5));
    }

    #[test]
    fn uniform_distribution_percentiles() {
        let mut r = LatencyRecorder::new();
        let k = r.key("k");
        // 1 µs .. 10 ms in 1 µs steps: every percentile is known exactly.
        for v in 1..=10_000i64 {
            assert!(r.record(k, v * 1000));
        }
        let s = r.summary(k).unwrap();
        assert_eq!(s.count, 10_000);
        assert!(close(s.p50_ns, 5_000_000), "{s:?}");
        assert!(close(s.p90_ns, 9_000_000), "{s:?}");
        assert!(close(s.p99_ns, 9_900_000), "{s:?}");
        assert!(close(s.p999_ns, 9_990_000), "{s:?}");
        assert_eq!((s.min_ns, s.max_ns), (1000, 10_000_000));
        assert_eq!(s.negative, 0);
    }

    #[test]
    fn small_values_are_exact() {
        let mut r = LatencyRecorder::new();
        let k = r.key("k");
        for v in [0, 7, 7, 7, 1500, 2047] {
            r.record(k, v);
        }
        let s = r.summary(k).unwrap();
        assert_eq!(s.count, 6);
        assert_eq!(s.p50_ns, 7);
        assert_eq!(s.p90_ns, 2047);
        assert_eq!((s.min_ns, s.max_ns), (0, 2047));
    }

    #[test]
    fn negatives_are_counted_apart_not_clamped() {
        let mut r = LatencyRecorder::new();
        let k = r.key("exch_to_recv:book");
        for v in [100, 200, 300] {
            r.record(k, v);
        }
        r.record(k, -5);
        r.record(k, -1_000_000);
        let s = r.summary(k).unwrap();
        assert_eq!(s.count, 3, "negatives stay out of the histogram");
        assert_eq!(s.negative, 2);
        assert_eq!(s.min_ns, -1_000_000, "the most negative sample is kept");
        assert_eq!(s.p50_ns, 200, "no zeros were added");
        assert_eq!(s.max_ns, 300);
    }

    #[test]
    fn only_negatives() {
        let mut r = LatencyRecorder::new();
        let k = r.key("k");
        r.record(k, -3);
        r.record(k, -9);
        let s = r.summary(k).unwrap();
        assert_eq!((s.count, s.negative, s.min_ns, s.max_ns), (0, 2, -9, -3));
        assert_eq!((s.p50_ns, s.p999_ns), (0, 0));
        assert!(!s.is_empty());
    }

    #[test]
    fn percentiles_never_exceed_the_exact_maximum() {
        let mut r = LatencyRecorder::new();
        let k = r.key("k");
        for v in [453_600, 1000, 2000] {
            r.record(k, v);
        }
        let s = r.summary(k).unwrap();
        assert_eq!(s.max_ns, 453_600);
        assert!(s.p999_ns <= 453_600 && s.p99_ns <= 453_600, "{s:?}");
    }

    #[test]
    fn values_past_the_range_saturate_with_exact_max() {
        let mut r = LatencyRecorder::new();
        let k = r.key("k");
        let huge = 2 * HIGHEST_NS as i64;
        r.record(k, huge);
        let s = r.summary(k).unwrap();
        assert_eq!(s.count, 1);
        assert!(close(s.p50_ns, HIGHEST_NS), "{s:?}");
        assert_eq!(s.max_ns, huge);
        r.record(k, i64::MAX);
        assert_eq!(r.summary(k).unwrap().max_ns, i64::MAX);
    }

    #[test]
    fn summaries_skip_empty_keys_and_reset_keeps_ids() {
        let mut r = LatencyRecorder::new();
        let a = r.key("a");
        let b = r.key("b");
        r.record(b, 42);
        let names: Vec<_> = r.summaries().map(|(n, _)| n.to_owned()).collect();
        assert_eq!(names, ["b"]);
        assert!(r.summary(a).unwrap().is_empty());
        r.reset();
        assert_eq!(r.summaries().count(), 0);
        assert_eq!(r.summary(b).unwrap(), Summary::default());
        assert_eq!(r.key("b"), b);
        r.record(b, 7);
        assert_eq!(r.summary(b).unwrap().p50_ns, 7);
    }

    #[test]
    fn keys_are_independent() {
        let mut r = LatencyRecorder::new();
        let a = r.key("a");
        let b = r.key("b");
        for _ in 0..10 {
            r.record(a, 1_000);
        }
        r.record(b, 50_000_000);
        assert_eq!(r.summary(a).unwrap().max_ns, 1_000);
        assert_eq!(r.summary(b).unwrap().count, 1);
        assert!(close(r.summary(b).unwrap().p50_ns, 50_000_000));
    }
}
