//! The context guard: every Kubernetes step names the kubeconfig context it talks
//! to, and gets exactly that one (never the current context). `--context-map
//! name=other` points a named context at another one, for CI and test clusters.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::ops::Range;
use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use super::error::KubeError;

/// `--context-map` pairs: the context a task names → the context used instead.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextMap(BTreeMap<String, String>);

impl ContextMap {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    /// The context to use for a task's `context`.
    pub fn target(&self, named: &str) -> String {
        self.0.get(named).cloned().unwrap_or_else(|| named.to_owned())
    }
}

/// A step's context: as written in the task, and the one used after `--context-map`.
/// `at` is where the task file names it (for diagnostics; not part of identity, so
/// moving a task in its file does not change its definition).
#[derive(Clone, Debug)]
pub(crate) struct Context {
    pub named: String,
    pub used: String,
    pub at: Range<usize>,
}

impl PartialEq for Context {
    fn eq(&self, other: &Self) -> bool {
        (&self.named, &self.used) == (&other.named, &other.used)
    }
}

impl Eq for Context {}

impl Hash for Context {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.named.hash(state);
        self.used.hash(state);
    }
}

impl Context {
    pub(crate) fn new(named: String, map: &ContextMap, at: Range<usize>) -> Self {
        let used = map.target(&named);
        Self { named, used, at }
    }

    /// `k3s-ringtail` or `k3s-ringtail (→ kind-ci, --context-map)`.
    pub(crate) fn describe(&self) -> String {
        if self.named == self.used {
            format!("`{}`", self.named)
        } else {
            format!("`{}` (→ `{}`, --context-map)", self.named, self.used)
        }
    }
}

/// The kubeconfig files in effect: `KUBECONFIG` from the step's environment or ops's
/// own (a `:`-separated list), else `~/.kube/config`.
pub(crate) fn kubeconfig_paths(env: &[(String, String)]) -> Vec<PathBuf> {
    let from_env = env
        .iter()
        .rev()
        .find(|(k, _)| k == "KUBECONFIG")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var("KUBECONFIG").ok())
        .filter(|v| !v.is_empty());
    match from_env {
        Some(list) => std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => std::env::var_os("HOME")
            .map(|home| vec![Path::new(&home).join(".kube").join("config")])
            .unwrap_or_default(),
    }
}

/// Read and merge the kubeconfig files; `None` when none of them exists.
pub(crate) fn read_kubeconfig(paths: &[PathBuf]) -> Result<Option<Kubeconfig>, KubeError> {
    let mut merged: Option<Kubeconfig> = None;
    for path in paths.iter().filter(|p| p.exists()) {
        let config = Kubeconfig::read_from(path).map_err(|e| KubeError::Kubeconfig {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        merged = Some(match merged {
            None => config,
            Some(m) => m.merge(config).map_err(|e| KubeError::Kubeconfig {
                path: shown(paths),
                reason: e.to_string(),
            })?,
        });
    }
    Ok(merged)
}

fn shown(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// Check that `context` exists in the kubeconfig; the error lists those that do.
pub(crate) fn check(
    context: &Context,
    config: Option<&Kubeconfig>,
    paths: &[PathBuf],
) -> Result<(), KubeError> {
    let Some(config) = config else {
        return Err(KubeError::NoKubeconfig {
            context: context.describe(),
            paths: shown(paths),
        });
    };
    if config.contexts.iter().any(|c| c.name == context.used) {
        return Ok(());
    }
    Err(KubeError::UnknownContext {
        context: context.describe(),
        kubeconfig: shown(paths),
        available: config.contexts.iter().map(|c| c.name.clone()).collect(),
    })
}

/// A client for exactly this context.
pub(crate) async fn connect(context: &Context, env: &[(String, String)]) -> Result<Client, KubeError> {
    let paths = kubeconfig_paths(env);
    let kubeconfig = read_kubeconfig(&paths)?;
    check(context, kubeconfig.as_ref(), &paths)?;
    let kubeconfig = kubeconfig.unwrap_or_default();
    let options = KubeConfigOptions {
        context: Some(context.used.clone()),
        ..KubeConfigOptions::default()
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| KubeError::Connect {
            context: context.describe(),
            reason: e.to_string(),
        })?;
    crate::http::install_crypto();
    Client::try_from(config).map_err(|e| KubeError::Connect {
        context: context.describe(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECONFIG: &str = "apiVersion: v1
kind: Config
current-context: minikube-indri
clusters:
- name: a
  cluster: {server: 'http://127.0.0.1:1'}
contexts:
- name: minikube-indri
  context: {cluster: a, user: u}
- name: kind-ci
  context: {cluster: a, user: u}
users:
- name: u
  user: {token: t}
";

    #[test]
    fn a_missing_context_is_refused_never_replaced_by_the_current_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, KUBECONFIG).unwrap();
        let paths = vec![path];
        let config = read_kubeconfig(&paths).unwrap();
        let config = config.as_ref();
        let wanted = Context::new("k3s-ringtail".into(), &ContextMap::default(), 0..0);
        let err = check(&wanted, config, &paths).unwrap_err().to_string();
        assert!(err.contains("`k3s-ringtail`"), "{err}");
        let mapped = Context::new(
            "k3s-ringtail".into(),
            &ContextMap::new([("k3s-ringtail".to_owned(), "kind-ci".to_owned())]),
            0..0,
        );
        check(&mapped, config, &paths).unwrap();
        assert_eq!(mapped.describe(), "`k3s-ringtail` (→ `kind-ci`, --context-map)");
    }

    #[test]
    fn kubeconfig_comes_from_the_step_environment_first() {
        let env = vec![("KUBECONFIG".to_owned(), "/a/one:/b/two".to_owned())];
        assert_eq!(
            kubeconfig_paths(&env),
            [PathBuf::from("/a/one"), PathBuf::from("/b/two")]
        );
    }
}
