//! Server-side apply through kube-rs: resource mapping by discovery, field manager
//! `ops`, and the same request with `dryRun=All` for `--diff`.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{GroupVersion, GroupVersionKind};
use kube::discovery::{self, ApiGroup, ApiResource, Scope};
use serde_json::Value;

use super::error::KubeError;
use super::object::Object;

/// The field manager ops applies as; `kubectl get -o yaml --show-managed-fields` shows it.
pub(crate) const FIELD_MANAGER: &str = "ops";

/// A connection to one cluster, remembering what discovery found.
pub(crate) struct Cluster {
    client: Client,
    /// What discovery found per (group, version); `None` when it is not served.
    groups: HashMap<(String, String), Option<ApiGroup>>,
}

/// How an object is sent.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ApplyOptions {
    /// `dryRun=All`: the server runs admission and defaulting, stores nothing.
    pub dry_run: bool,
    /// `force=true`: take over fields owned by other managers.
    pub force: bool,
}

impl Cluster {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            groups: HashMap::new(),
        }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The REST resource of a kind and whether it is namespaced; `None` when the
    /// cluster does not serve it (a CRD not installed yet). Discovery is asked once
    /// per group-version.
    async fn resource(&mut self, gvk: &GroupVersionKind) -> Result<Option<(ApiResource, bool)>, KubeError> {
        let key = (gvk.group.clone(), gvk.version.clone());
        if !self.groups.contains_key(&key) {
            let gv = GroupVersion::gv(&gvk.group, &gvk.version);
            let group = match discovery::pinned_group(&self.client, &gv).await {
                Ok(group) => Some(group),
                Err(kube::Error::Api(status)) if status.code == 404 => None,
                Err(kube::Error::Discovery(_)) => None,
                Err(e) => {
                    return Err(KubeError::from_kube(format!("discover {}", gv.api_version()), e));
                }
            };
            self.groups.insert(key.clone(), group);
        }
        Ok(self.groups[&key].as_ref().and_then(|group| {
            group
                .versioned_resources(&gvk.version)
                .into_iter()
                .find(|(resource, _)| resource.kind == gvk.kind)
                .map(|(resource, caps)| (resource, caps.scope == Scope::Namespaced))
        }))
    }

    /// Forget what discovery said about a group (after its CRD was applied).
    pub(crate) fn forget(&mut self, group: &str) {
        self.groups.retain(|(g, _), _| g != group);
    }

    /// The API for an object, and the object's body with its effective namespace.
    pub(crate) async fn api_for(
        &mut self,
        object: &Object,
        namespace: Option<&str>,
    ) -> Result<(Api<DynamicObject>, Value), KubeError> {
        let Some((resource, namespaced)) = self.resource(&object.gvk).await? else {
            return Err(not_served(object));
        };
        let mut body = object.body.clone();
        let api = if namespaced {
            let ns = object.namespace_or(namespace).unwrap_or("default").to_owned();
            if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("namespace".into(), Value::String(ns.clone()));
            }
            Api::namespaced_with(self.client.clone(), &ns, &resource)
        } else {
            if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("namespace");
            }
            Api::all_with(self.client.clone(), &resource)
        };
        Ok((api, body))
    }

    /// The namespace an object goes to; `None` for cluster-scoped kinds and kinds the
    /// cluster does not serve.
    pub(crate) async fn target_namespace(
        &mut self,
        object: &Object,
        namespace: Option<&str>,
    ) -> Result<Option<String>, KubeError> {
        Ok(match self.resource(&object.gvk).await? {
            Some((_, true)) => Some(object.namespace_or(namespace).unwrap_or("default").to_owned()),
            _ => None,
        })
    }

    /// Whether a namespace exists.
    pub(crate) async fn namespace_exists(&self, name: &str) -> Result<bool, KubeError> {
        let found = Api::<Namespace>::all(self.client.clone())
            .get_opt(name)
            .await
            .map_err(|e| KubeError::from_kube(format!("get Namespace {name}"), e))?;
        Ok(found.is_some())
    }

    /// Whether the cluster serves the object's kind.
    pub(crate) async fn serves(&mut self, object: &Object) -> Result<bool, KubeError> {
        Ok(self.resource(&object.gvk).await?.is_some())
    }

    /// The live object, if it exists.
    pub(crate) async fn get(
        &mut self,
        object: &Object,
        namespace: Option<&str>,
    ) -> Result<Option<Value>, KubeError> {
        let (api, _) = self.api_for(object, namespace).await?;
        let live = api
            .get_opt(&object.name)
            .await
            .map_err(|e| KubeError::from_kube(format!("get {object}"), e))?;
        Ok(live.map(|o| serde_json::to_value(o).unwrap_or_default()))
    }

    /// Server-side apply of one object; returns what the server made of it.
    pub(crate) async fn apply(
        &mut self,
        object: &Object,
        namespace: Option<&str>,
        options: ApplyOptions,
    ) -> Result<Value, KubeError> {
        let (api, body) = self.api_for(object, namespace).await?;
        let mut params = PatchParams::apply(FIELD_MANAGER);
        params.dry_run = options.dry_run;
        params.force = options.force;
        let verb = if options.dry_run {
            "apply (dry run)"
        } else {
            "apply"
        };
        let result = api
            .patch(&object.name, &params, &Patch::Apply(&body))
            .await
            .map_err(|e| KubeError::from_kube(format!("{verb} {object}"), e))?;
        if let Some((group, _)) = object.defines() {
            self.forget(group);
        }
        Ok(serde_json::to_value(result).unwrap_or_default())
    }
}

fn not_served(object: &Object) -> KubeError {
    let gvk = &object.gvk;
    KubeError::NotServed {
        object: object.to_string(),
        api_version: if gvk.group.is_empty() {
            gvk.version.clone()
        } else {
            format!("{}/{}", gvk.group, gvk.version)
        },
        kind: gvk.kind.clone(),
    }
}
