//! Secrets, read when a task that uses them runs: from the environment, or from
//! 1Password with `op read`. Each is read once per run and registered with the
//! [`Redactor`] before any task sees it.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::process::{self, LineSink};
use crate::redact::{MIN_LEN, Redactor};
use crate::task::SecretSource;

#[derive(Default)]
pub(super) struct SecretStore {
    cache: Mutex<HashMap<SecretSource, String>>,
    pub redactor: Arc<Redactor>,
}

impl SecretStore {
    pub(super) fn new(redactor: Arc<Redactor>) -> Self {
        Self {
            cache: Mutex::default(),
            redactor,
        }
    }

    /// The value of a secret; `sink` gets the reader's error output (never the value).
    pub(super) async fn get(
        &self,
        source: &SecretSource,
        sink: &LineSink,
        cancel: &CancellationToken,
    ) -> Result<String, String> {
        let mut cache = self.cache.lock().await;
        if let Some(value) = cache.get(source) {
            return Ok(value.clone());
        }
        let value = match source {
            SecretSource::Env(var) => {
                std::env::var(var).map_err(|_| format!("the environment variable {var} is not set"))?
            }
            SecretSource::OnePassword(reference) => {
                let args = vec!["read".to_owned(), "--no-newline".to_owned(), reference.clone()];
                let spec =
                    process::Spec::new("op", args, std::env::current_dir().unwrap_or_default()).quiet();
                let output = process::run(&spec, sink, cancel)
                    .await
                    .map_err(|e| e.to_string())?;
                if !output.success() {
                    return Err(format!(
                        "`op read {reference}` failed (is the 1Password CLI signed in?)"
                    ));
                }
                output.stdout_tail
            }
        };
        self.redactor.add(&value).map_err(|short| {
            format!(
                "its value is {} bytes long; a secret must have at least {MIN_LEN}, or it could not be told apart from ordinary output",
                short.len
            )
        })?;
        cache.insert(source.clone(), value.clone());
        Ok(value)
    }

    /// Register the secrets whose values are known at the start (from the
    /// environment), so they are redacted from the first byte of the run, in every
    /// task, whether it uses them or not.
    pub(super) fn preload(&self, sources: &[SecretSource]) {
        for source in sources {
            if let SecretSource::Env(var) = source
                && let Ok(value) = std::env::var(var)
            {
                // Too short: refused when a task uses it; nothing to redact meanwhile.
                let _ = self.redactor.add(&value);
            }
        }
    }
}
