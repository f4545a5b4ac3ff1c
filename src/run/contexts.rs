//! Before an apply touches anything, every Kubernetes step's context must exist in
//! the kubeconfig: a missing one is a diagnostic at the task file's `context = …`,
//! exit 2, and nothing runs. (`--diff` instead reports it per step and goes on.)

use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};
use thiserror::Error;

use crate::diagnostic::{SourceFile, span};
use crate::kube::context;
use crate::task::{TaskId, TaskSet};

#[derive(Debug, Error, Diagnostic)]
#[error("task `{task}` cannot run: {reason}")]
#[diagnostic(
    code(ops::kube::context),
    help("a Kubernetes step uses exactly the context it names; nothing was run")
)]
pub(crate) struct ContextError {
    task: String,
    reason: String,
    #[source_code]
    src: NamedSource<Arc<str>>,
    #[label("this context")]
    span: SourceSpan,
}

/// Check the contexts of the selected Kubernetes steps against the kubeconfig.
pub(super) fn check(set: &TaskSet, order: &[TaskId]) -> Result<(), Box<ContextError>> {
    let steps: Vec<_> = order
        .iter()
        .map(|&id| set.get(id))
        .filter_map(|task| Some((task, task.action.as_ref()?.kube_context()?)))
        .collect();
    if steps.is_empty() {
        return Ok(());
    }
    let paths = context::kubeconfig_paths(&[]);
    let config = context::read_kubeconfig(&paths);
    for (task, ctx) in steps {
        let problem: Option<String> = match &config {
            Err(e) => Some(e.to_string()),
            Ok(config) => context::check(ctx, config.as_ref(), &paths)
                .err()
                .map(|e| e.to_string()),
        };
        if let Some(problem) = problem {
            let text = std::fs::read_to_string(set.root().join(&task.file)).unwrap_or_default();
            let source = SourceFile::new(task.file.as_str(), text);
            return Err(Box::new(ContextError {
                task: task.name.clone(),
                reason: problem,
                src: source.named(),
                span: span(ctx.at.clone()),
            }));
        }
    }
    Ok(())
}
