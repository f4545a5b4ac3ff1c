//! What a step kind needs from the task file loader while it turns its raw table into
//! a resolved step: templates checked against the known variables, durations, Kubernetes
//! contexts, and a place to report problems at their position. The loader implements
//! it, so executors never depend on the loader.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use crate::kube::Context;
use crate::template::Template;

pub(crate) trait Resolve {
    /// The task being resolved.
    fn task_name(&self) -> &str;

    /// The program and arguments that run the task's `shell` scripts (the script is
    /// passed last): the task's `interpreter`, its file's, or `sh -c`.
    fn interpreter(&self) -> Vec<String>;

    /// A string with `{{ var }}` substituted; unknown names are reported at their position.
    fn template(&mut self, value: &Spanned<String>) -> Template;

    /// A string whose value must be known at load time (no task outputs).
    fn text(&mut self, value: &Spanned<String>) -> String {
        self.template(value).display()
    }

    /// A duration such as `30m`; a bad one is reported.
    fn duration(&mut self, value: &Spanned<String>) -> Option<Duration>;

    /// A string in which only known variables are substituted; other placeholders
    /// stay for a later template language (Jinja in Ansible variables).
    fn expand_known(&self, value: &str) -> String;

    /// A Kubernetes context named by a step, after `--context-map`.
    fn context(&mut self, value: &Spanned<String>) -> Context;

    /// Report a problem with a value of this task.
    fn invalid(&mut self, at: Range<usize>, message: String, label: &str, help: Option<String>);

    /// Report two action keys on one task.
    fn multiple_actions(&mut self, first: (&str, Range<usize>), second: (&str, Range<usize>));
}
