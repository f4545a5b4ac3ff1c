//! Values produced by tasks (`{{ tasks.NAME.KEY }}`).

use std::collections::{BTreeMap, HashMap};

use crate::template::Outputs;

/// The values of each task, by task (a task's own are read when it ends: one look-up,
/// not a scan of every task's), and the secrets of the task about to run.
#[derive(Clone, Debug, Default)]
pub(crate) struct OutputMap(HashMap<String, BTreeMap<String, String>>, HashMap<String, String>);

impl OutputMap {
    pub(crate) fn insert(&mut self, task: &str, key: String, value: String) {
        self.0.entry(task.to_owned()).or_default().insert(key, value);
    }

    /// Everything one task produced.
    pub(crate) fn of_task(&self, task: &str) -> BTreeMap<String, String> {
        self.0.get(task).cloned().unwrap_or_default()
    }

    /// A secret's value, for the task about to run.
    pub(crate) fn insert_secret(&mut self, name: &str, value: String) {
        self.1.insert(name.to_owned(), value);
    }

    /// The outputs of the named tasks only.
    #[must_use]
    pub(crate) fn subset(&self, tasks: &[String]) -> Self {
        let of = tasks
            .iter()
            .filter_map(|task| Some((task.clone(), self.0.get(task)?.clone())))
            .collect();
        Self(of, HashMap::new())
    }
}

impl Outputs for OutputMap {
    fn output(&self, task: &str, key: &str) -> Option<&str> {
        self.0.get(task)?.get(key).map(String::as_str)
    }

    fn secret(&self, name: &str) -> Option<&str> {
        self.1.get(name).map(String::as_str)
    }
}
