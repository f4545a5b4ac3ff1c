//! What the cluster code needs from the step that drives it: where it runs, where its
//! progress lines go, when to stop, and how to run `kubectl kustomize`.

use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::KubeError;
use crate::process::{self, LineSink, Stream};

pub(crate) struct Session<'a> {
    /// Where relative paths start, and where `kubectl kustomize` runs.
    pub dir: &'a Path,
    /// The environment of `kubectl kustomize`.
    pub env: &'a [(String, String)],
    pub timeout: Option<Duration>,
    pub sink: &'a LineSink,
    pub cancel: &'a CancellationToken,
}

impl Session<'_> {
    /// A line of the step's report (progress, a diff).
    pub(crate) fn report(&self, line: impl Into<String>) {
        (self.sink)(Stream::Stdout, line.into());
    }

    /// Sleep, unless the run is cancelled.
    pub(crate) async fn pause(&self, d: Duration) -> Result<(), KubeError> {
        tokio::select! {
            () = self.cancel.cancelled() => Err(KubeError::Cancelled),
            () = tokio::time::sleep(d) => Ok(()),
        }
    }

    /// Run a program with the step's environment and timeout, keeping up to
    /// `capture` bytes of its (unshown) standard output.
    pub(crate) async fn output(
        &self,
        program: &str,
        args: Vec<String>,
        capture: usize,
    ) -> Result<String, KubeError> {
        let mut spec = process::Spec::new(program, args, self.dir.to_path_buf())
            .quiet()
            .capture(capture);
        spec.env = self.env.to_vec();
        spec.timeout = self.timeout;
        let output = process::run(&spec, self.sink, self.cancel)
            .await?
            .check(program)?;
        Ok(output.stdout_tail)
    }
}
