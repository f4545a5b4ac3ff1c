//! The environment a task gets beyond its `env`: its env files, read when it starts,
//! and the check that the variables of `ops` its `env` and `dir` need are set.

use std::path::Path;

use crate::task::{EnvFile, Task};

/// Why the task cannot start: a variable its `env` or `dir` reads is not set.
pub(super) fn unset(task: &Task) -> Option<String> {
    let missing: Vec<String> = task
        .required_env()
        .into_iter()
        .filter(|(var, _)| std::env::var_os(var).is_none())
        .map(|(var, key)| format!("`${var}` (in `{key}`)"))
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "{} not set in the environment of ops; set it, or give a default: `${{NAME:-default}}`",
            if missing.len() == 1 {
                format!("{} is", missing[0])
            } else {
                format!("{} are", missing.join(", "))
            }
        )
    })
}

/// The variables of the env files, in order (a later file overrides an earlier one).
pub(super) fn read_files(root: &Path, files: &[EnvFile]) -> Result<Vec<(String, String)>, String> {
    let mut vars = Vec::new();
    for file in files {
        let path = root.join(&file.path);
        if file.optional && !path.exists() {
            continue;
        }
        let lines = dotenvy::from_path_iter(&path).map_err(|e| describe(&file.path, &e))?;
        for line in lines {
            vars.push(line.map_err(|e| describe(&file.path, &e))?);
        }
    }
    Ok(vars)
}

fn describe(path: &str, error: &dotenvy::Error) -> String {
    match error {
        dotenvy::Error::Io(e) if e.kind() == std::io::ErrorKind::NotFound => format!(
            "env file `{path}` does not exist (mark it `{{ path = \"{path}\", optional = true }}` if it may be missing)"
        ),
        dotenvy::Error::LineParse(line, at) => {
            // The library gives the line's text and the offset of the problem in it,
            // never a value on another line.
            let first = line.lines().next().unwrap_or_default();
            match first.split_once('=') {
                Some((name, _)) => format!(
                    "env file `{path}`: cannot read the line of `{}` (at its character {})",
                    name.trim().trim_start_matches("export ").trim(),
                    at + 1
                ),
                None => format!("env file `{path}`: a line without `=` (`NAME=value`)"),
            }
        }
        other => format!("env file `{path}`: {other}"),
    }
}
