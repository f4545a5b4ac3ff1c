//! Values produced by tasks (`{{ tasks.NAME.KEY }}`).

use std::collections::HashMap;

use crate::template::Outputs;

#[derive(Clone, Debug, Default)]
pub(crate) struct OutputMap(HashMap<(String, String), String>, HashMap<String, String>);

impl OutputMap {
    pub(crate) fn insert(&mut self, task: &str, key: String, value: String) {
        self.0.insert((task.to_owned(), key), value);
    }

    /// Everything one task produced.
    pub(crate) fn of_task(&self, task: &str) -> std::collections::BTreeMap<String, String> {
        self.0
            .iter()
            .filter(|((t, _), _)| t == task)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect()
    }

    /// A secret's value, for the task about to run.
    pub(crate) fn insert_secret(&mut self, name: &str, value: String) {
        self.1.insert(name.to_owned(), value);
    }

    /// The outputs of the named tasks only.
    #[must_use]
    pub(crate) fn subset(&self, tasks: &[String]) -> Self {
        if tasks.is_empty() {
            return Self::default();
        }
        Self(
            self.0
                .iter()
                .filter(|((task, _), _)| tasks.contains(task))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            HashMap::new(),
        )
    }
}

impl Outputs for OutputMap {
    fn output(&self, task: &str, key: &str) -> Option<&str> {
        self.0.get(&(task.to_owned(), key.to_owned())).map(String::as_str)
    }

    fn secret(&self, name: &str) -> Option<&str> {
        self.1.get(name).map(String::as_str)
    }
}
