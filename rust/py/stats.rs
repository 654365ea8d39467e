//! `LatencyStats`: the latency histograms of `crate::stats` for Python. `hftpy.exchange`
//! records request round trips and stream delays into one per API / stream object.
//!
//! The hot path (`record`, `record_since`) is one bounds-checked index and one histogram
//! increment: no allocation, no lock. The class is a plain (not `frozen`) pyclass, so each
//! call takes PyO3's borrow flag for `&mut self`: one uncontended compare-and-swap, which
//! never waits (a second borrower gets an error instead). That keeps it sound on any build,
//! free-threaded ones included, without `unsafe`. The alternatives buy nothing: `frozen` +
//! `unsendable` + `RefCell` swaps the CAS for a thread-id check on every call and measured
//! no faster, and `frozen` + `UnsafeCell` would lean on the GIL for soundness (racing on
//! free-threaded Python). Almost all of a call's cost is PyO3's call path itself:
//! benches/test_stats.py measures `record` beside a bare no-op method call.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::errors::unknown_latency_key as no_key;
use crate::clock;
use crate::stats::{LatencyRecorder, Summary};

/// Latency histograms per key, in ns, 3 significant digits; negative samples counted apart.
#[pyclass(module = "hftpy._core")]
pub struct LatencyStats {
    inner: LatencyRecorder,
}

#[pymethods]
impl LatencyStats {
    #[new]
    fn new() -> Self {
        Self {
            inner: LatencyRecorder::new(),
        }
    }

    /// The id of key `name` (made on first use); record with the id.
    fn key(&mut self, name: &str) -> usize {
        self.inner.key(name)
    }

    /// Records one sample of `value_ns` ns under key id `key`.
    fn record(&mut self, key: usize, value_ns: i64) -> PyResult<()> {
        if self.inner.record(key, value_ns) {
            Ok(())
        } else {
            Err(no_key(key))
        }
    }

    /// Records `mono_ns() - start_mono_ns` (CLOCK_MONOTONIC, as `time.monotonic_ns()`).
    fn record_since(&mut self, key: usize, start_mono_ns: i64) -> PyResult<()> {
        let value = (clock::mono_ns() as i64).saturating_sub(start_mono_ns);
        if self.inner.record(key, value) {
            Ok(())
        } else {
            Err(no_key(key))
        }
    }

    /// Both stream delays of one event in one call (half the call overhead of two): records
    /// `recv_ns - exch_ns` (wall clock) under `exch_key` unless `exch_ns` is None or 0, then
    /// `mono_ns() - recv_mono_ns` (monotonic) under `recv_key`.
    fn record_event(
        &mut self,
        exch_key: usize,
        recv_key: usize,
        exch_ns: Option<i64>,
        recv_ns: i64,
        recv_mono_ns: i64,
    ) -> PyResult<()> {
        if let Some(exch_ns) = exch_ns.filter(|&ns| ns != 0) {
            if !self.inner.record(exch_key, recv_ns.saturating_sub(exch_ns)) {
                return Err(no_key(exch_key));
            }
        }
        self.record_since(recv_key, recv_mono_ns)
    }

    /// `{name: (count, p50_ns, p90_ns, p99_ns, p999_ns, max_ns, min_ns, negative)}` for each
    /// key with a sample.
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (name, s) in self.inner.summaries() {
            out.set_item(name, summary_tuple(py, &s)?)?;
        }
        Ok(out)
    }

    /// The name of key id `key`.
    fn name(&self, key: usize) -> PyResult<&str> {
        self.inner.name(key).ok_or_else(|| no_key(key))
    }

    /// Forgets every sample; key ids stay valid.
    fn reset(&mut self) {
        self.inner.reset();
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!("LatencyStats(keys={})", self.inner.len())
    }
}

fn summary_tuple<'py>(py: Python<'py>, s: &Summary) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(
        py,
        [
            s.count as i64,
            s.p50_ns as i64,
            s.p90_ns as i64,
            s.p99_ns as i64,
            s.p999_ns as i64,
            s.max_ns,
            s.min_ns,
            s.negative as i64,
        ],
    )
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<LatencyStats>()
}
