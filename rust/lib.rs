//! hftpy's per-message core: fixed-point decimals read from JSON text, request signing,
//! nanosecond clocks and latency histograms. Pure Rust: the PyO3 bindings live in `py/`
//! behind the `python` feature, so `cargo test` runs without an interpreter and nothing here
//! depends on `py/`.

pub mod backpack;
pub mod binance;
pub mod book;
pub mod clock;
pub mod decimal;
pub mod frame;
pub mod json;
pub mod kraken;
pub mod market;
pub mod ratelimit;
pub mod sign;
pub mod stats;
pub mod sync;
pub mod upbit;

#[cfg(test)]
mod tests_replay;

/// Property-test and cargo-fuzz harnesses (`fuzz/` enables the `fuzzing` feature).
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;

#[cfg(feature = "python")]
mod py;

/// A panic that reaches Python must be an exception (`pyo3_runtime.PanicException`), never an
/// abort of the interpreter: PyO3 can only catch a panic that unwinds. No profile may set
/// `panic = "abort"`, and the build must not be configured to abort either.
#[cfg(test)]
mod panic_strategy {
    /// `[profile.*]` settings, comments dropped: `(profile, key, value)`.
    fn profile_settings(manifest: &str) -> Vec<(String, String, String)> {
        let mut section = String::new();
        let mut settings = Vec::new();
        for line in manifest.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = header.trim().to_owned();
            } else if let (Some(profile), Some((key, value))) =
                (section.strip_prefix("profile."), line.split_once('='))
            {
                settings.push((
                    profile.to_owned(),
                    key.trim().to_owned(),
                    value.trim().trim_matches('"').to_owned(),
                ));
            }
        }
        settings
    }

    #[test]
    fn no_profile_aborts_on_panic() {
        let manifest = include_str!("../Cargo.toml");
        let settings = profile_settings(manifest);
        // The parser sees the profiles the wheels and the everyday build use.
        for profile in ["release", "dist"] {
            assert!(
                settings.iter().any(|(p, _, _)| p == profile),
                "no [profile.{profile}] found"
            );
        }
        let aborting: Vec<_> = settings
            .iter()
            .filter(|(_, key, value)| key == "panic" && value != "unwind")
            .collect();
        assert!(aborting.is_empty(), "{aborting:?}");
        assert!(
            profile_settings("[profile.x]\npanic = \"abort\" # no\n")
                == [("x".into(), "panic".into(), "abort".into())],
            "the check would not see an aborting profile"
        );
    }

    #[test]
    fn no_cargo_config_or_target_aborts_on_panic() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for config in [".cargo/config.toml", ".cargo/config"] {
            if let Ok(text) = std::fs::read_to_string(root.join(config)) {
                assert!(!text.contains("panic=abort"), "{config} sets panic=abort");
                assert!(
                    !text.contains("panic = \"abort\""),
                    "{config} sets panic=abort"
                );
            }
        }
        // This test binary itself unwinds (a target default of abort would show here).
        const { assert!(cfg!(panic = "unwind")) };
        assert!(std::panic::catch_unwind(|| panic!("caught")).is_err());
    }
}
