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

    /// A string with `{{ var }}` substituted; unknown names are reported at their
    /// position. Task outputs and secrets stay in the template until the task runs.
    fn template(&mut self, value: &Spanned<String>) -> Template {
        self.template_at(value.get_ref(), value.span())
    }

    /// [`Resolve::template`] for a string of a table read without spans of its own;
    /// problems are reported at the placeholder inside `at`.
    fn template_at(&mut self, value: &str, at: Range<usize>) -> Template;

    /// The words an argv element that is exactly `{{ args.NAME }}` stands for: each
    /// value of the argument its own word, none when it was not given; `None` for any
    /// other element.
    fn arg_words(&self, _element: &str) -> Option<Vec<String>> {
        None
    }

    /// A string that another template language renders later (Jinja in Ansible
    /// variables): variables, task outputs and secrets are substituted as in
    /// [`Resolve::template`]; other names and quoted literals stay as written.
    fn foreign_at(&mut self, value: &str, at: Range<usize>) -> Template;

    /// A string whose value must be known when the files load: task outputs and
    /// secrets are refused here, at their position.
    fn text(&mut self, value: &Spanned<String>) -> String {
        self.text_at(value.get_ref(), value.span())
    }

    /// [`Resolve::text`] for a string of a table read without spans of its own.
    fn text_at(&mut self, value: &str, at: Range<usize>) -> String;

    /// Where Nix steps build when they do not say: the file's `[settings] nix`, each
    /// key it leaves open from the repository's (`ops.toml`).
    fn nix_defaults(&mut self) -> super::NixRemote {
        super::NixRemote::default()
    }

    /// A duration such as `30m`; a bad one is reported.
    fn duration(&mut self, value: &Spanned<String>) -> Option<Duration>;

    /// A Kubernetes context named by a step, after `--context-map`.
    fn context(&mut self, value: &Spanned<String>) -> Context;

    /// Report a problem with a value of this task.
    fn invalid(&mut self, at: Range<usize>, message: String, label: &str, help: Option<String>);

    /// Report two action keys on one task.
    fn multiple_actions(&mut self, first: (&str, Range<usize>), second: (&str, Range<usize>));
}
