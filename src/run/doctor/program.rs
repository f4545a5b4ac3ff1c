//! Whether a task has a program.

use std::path::PathBuf;

use super::Subject;
use super::lack::Lack;
use crate::process;

/// Where the program `name` (named by `key`) is for `task`: a name is looked up on
/// the task's `PATH` (its `env` may set one) or else that of `ops`; a path (it has
/// a `/`) must be an executable file, relative to the task's directory. Every
/// program check goes through here, the one place that knows where a task's
/// programs come from. `None`: it cannot be told before the run (a relative path
/// in a directory not known yet, or a program the task's `nix-tools` may provide:
/// they are built when it runs, and put first on its `PATH`; the Nix programs that
/// build them are needed instead).
pub(super) fn program_available(task: &Subject<'_>, name: &str, key: &str) -> Option<Result<PathBuf, Lack>> {
    if name.contains('/') {
        let path = PathBuf::from(name);
        let full = if path.is_absolute() {
            path
        } else {
            task.dir.as_ref()?.join(path)
        };
        if process::is_executable(&full) {
            return Some(Ok(full));
        }
        return Some(Err(Lack::NotExecutable {
            path: name.to_owned(),
            key: key.to_owned(),
            exists: full.exists(),
        }));
    }
    let own_path = task.own_var("PATH");
    let found = match &own_path {
        Some(path) => process::find_on_path(name, path.as_ref()),
        None => process::find_on_path(name, process::own_path()),
    };
    if found.is_none() && task.task.nix_tools.is_some() {
        return None;
    }
    Some(found.ok_or_else(|| Lack::NotOnPath {
        names: vec![name.to_owned()],
        key: key.to_owned(),
        task_path: own_path.is_some(),
    }))
}
