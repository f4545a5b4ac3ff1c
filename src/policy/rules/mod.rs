//! The built-in rules, one per file (`yaml_syntax`, `unreadable_file`, `suppression`
//! and `custom` are the rules whose findings the lint itself makes).

pub(super) mod argocd_app_path;
pub(crate) mod custom;
pub(super) mod kustomize_resources;
pub(super) mod nix_container;
pub(super) mod no_helm;
pub(super) mod no_plain_secret;
pub(super) mod pinned_image;
pub(crate) mod suppression;
pub(super) mod unreadable_file;
pub(crate) mod yaml_syntax;
