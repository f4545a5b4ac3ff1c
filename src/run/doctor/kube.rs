//! Whether a kubeconfig context exists, found as the cluster code finds it
//! (`KUBECONFIG` of the task or of `ops`, else `~/.kube/config`; `--context-map`
//! already applied). Only the kubeconfig is read: no cluster is contacted.

use std::collections::HashMap;
use std::path::PathBuf;

use kube::config::Kubeconfig;

use super::lack::{Context, Lack};
use crate::kube::{self as cluster, KubeError};

/// The kubeconfigs read so far, by the files they come from.
#[derive(Default)]
pub(super) struct Kubeconfigs {
    read: HashMap<Vec<PathBuf>, Result<Option<Kubeconfig>, KubeError>>,
}

impl Kubeconfigs {
    /// Check `context` against the kubeconfig of an environment (`env` first, then
    /// that of `ops`); `at` is where the task file names it.
    pub(super) fn check(
        &mut self,
        context: &cluster::Context,
        at: String,
        env: &[(String, String)],
    ) -> Result<(), Lack> {
        let paths = cluster::context::kubeconfig_paths(env);
        let config = self
            .read
            .entry(paths.clone())
            .or_insert_with(|| cluster::context::read_kubeconfig(&paths));
        let config = match config {
            Ok(config) => config.as_ref(),
            Err(e) => {
                return Err(Lack::BadKubeconfig {
                    reason: e.to_string(),
                });
            }
        };
        let named = Context {
            named: context.named.clone(),
            used: context.used.clone(),
            at,
        };
        match cluster::context::check(context, config, &paths) {
            Ok(()) => Ok(()),
            Err(KubeError::NoKubeconfig { paths, .. }) => Err(Lack::NoKubeconfig {
                context: named,
                paths,
            }),
            Err(KubeError::UnknownContext {
                kubeconfig,
                available,
                ..
            }) => Err(Lack::UnknownContext {
                context: named,
                kubeconfig,
                available,
            }),
            Err(other) => Err(Lack::BadKubeconfig {
                reason: other.to_string(),
            }),
        }
    }
}
