//! `aliases = ["bc"]`: other names that select a task on the command line. Each is
//! a valid name that is neither a task's name nor another alias; a collision is
//! reported at the alias, with a note at what it collides with.

use std::collections::HashMap;
use std::ops::Range;

use super::error::LoadError;
use super::load::{Pending, valid_name};
use crate::diagnostic::{SourceFile, span};

/// Whether `alias` is a valid name; reported when not.
fn valid(source: &SourceFile, alias: &toml::Spanned<String>, errors: &mut Vec<LoadError>) -> bool {
    let ok = valid_name(alias.get_ref());
    if !ok {
        errors.push(LoadError::InvalidName {
            src: source.named(),
            span: span(alias.span()),
            name: alias.get_ref().clone(),
        });
    }
    ok
}

/// Report every invalid or colliding alias. `index` maps task names to `pending`.
pub(super) fn check(
    files: &[SourceFile],
    pending: &[Pending],
    index: &super::NameMap<&str, usize>,
    errors: &mut Vec<LoadError>,
) {
    // Alias → the task that gives it, and where.
    let mut given: HashMap<&str, (usize, Range<usize>)> = HashMap::new();
    for (owner, p) in pending.iter().enumerate() {
        let source = &files[p.file];
        for alias in &p.aliases {
            let name = alias.get_ref().as_str();
            if !valid(source, alias, errors) {
                continue;
            }
            let (what, other, at, label) = if let Some(&task) = index.get(name) {
                let what = if task == owner {
                    "the task's own name".to_owned()
                } else {
                    format!("the name of task `{name}`")
                };
                (what, task, pending[task].name.span(), "the task")
            } else if let Some((first, at)) = given.get(name) {
                let what = format!("an alias of task `{}`", pending[*first].name.get_ref());
                (what, *first, at.clone(), "the first alias")
            } else {
                given.insert(name, (owner, alias.span()));
                continue;
            };
            let there = &files[pending[other].file];
            errors.push(LoadError::AliasCollision {
                src: source.named(),
                span: span(alias.span()),
                alias: name.to_owned(),
                task: p.name.get_ref().clone(),
                first: vec![LoadError::note(
                    there,
                    at,
                    format!("`{name}` is {what}, in {}", there.name()),
                    label,
                )],
                what,
            });
        }
    }
}

/// The aliases of the tasks that take arguments (`usages`: file, task, alias): each
/// valid, and neither a task's name nor another alias.
pub(super) fn check_usages(
    files: &[SourceFile],
    usages: &[(usize, String, toml::Spanned<String>)],
    known: &super::NameSet<String>,
    pending: &[Pending],
    errors: &mut Vec<LoadError>,
) {
    for (i, (file, task, alias)) in usages.iter().enumerate() {
        let name = alias.get_ref().as_str();
        let source = &files[*file];
        if !valid(source, alias, errors) {
            continue;
        }
        let taken = if known.contains(name) {
            Some(format!("the name of task `{name}`"))
        } else if let Some(p) = pending
            .iter()
            .find(|p| p.aliases.iter().any(|a| a.get_ref() == name))
        {
            Some(format!("an alias of task `{}`", p.name.get_ref()))
        } else {
            usages[..i]
                .iter()
                .find(|(_, _, a)| a.get_ref() == name)
                .map(|(_, other, _)| format!("an alias of task `{other}`"))
        };
        if let Some(what) = taken {
            errors.push(LoadError::AliasCollision {
                src: source.named(),
                span: span(alias.span()),
                alias: name.to_owned(),
                task: task.clone(),
                what,
                first: Vec::new(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::diagnostic::SourceFile;
    use crate::task::{LoadErrors, TaskSet, Vars, load_sources};

    fn load(files: &[(&str, &str)]) -> Result<TaskSet, LoadErrors> {
        let files = files
            .iter()
            .map(|(name, text)| SourceFile::new(*name, (*text).to_owned()))
            .collect();
        load_sources(Path::new("/repo"), files, &Vars::default())
    }

    fn messages(errors: &LoadErrors) -> Vec<String> {
        errors.errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn an_alias_finds_its_task() {
        let set = load(&[(
            "tasks/t.toml",
            "[tasks.build-container]\nshell = \"b\"\naliases = [\"bc\", \"b\"]\n",
        )])
        .unwrap();
        let id = set.find("build-container").unwrap();
        assert_eq!(set.alias("bc"), Some(id));
        assert_eq!(set.alias("b"), Some(id));
        assert_eq!(set.find("bc"), None, "names and aliases are looked up apart");
    }

    #[test]
    fn an_alias_that_is_a_task_name_or_another_alias_is_refused() {
        let errors = load(&[
            (
                "tasks/a.toml",
                "[tasks.build]\nshell = \"b\"\naliases = [\"deploy\", \"b\"]\n",
            ),
            (
                "tasks/b.toml",
                "[tasks.deploy]\nshell = \"d\"\naliases = [\"b\", \"deploy\"]\n",
            ),
        ])
        .unwrap_err();
        assert_eq!(
            messages(&errors),
            [
                "alias `deploy` of task `build` is already the name of task `deploy`",
                "alias `b` of task `deploy` is already an alias of task `build`",
                "alias `deploy` of task `deploy` is already the task's own name",
            ]
        );
    }

    #[test]
    fn an_alias_must_be_a_valid_name() {
        let errors = load(&[(
            "tasks/t.toml",
            "[tasks.a]\nshell = \"a\"\naliases = [\"two words\"]\n",
        )])
        .unwrap_err();
        assert_eq!(messages(&errors), ["invalid task name `two words`"]);
    }
}
