//! The built-in rules, one per file (`yaml_syntax`, `suppression` and `custom` are
//! the rules whose findings the lint itself makes).

pub mod argocd_app_path;
pub(crate) mod custom;
pub mod kustomize_resources;
pub mod nix_container;
pub mod no_helm;
pub mod no_plain_secret;
pub mod pinned_image;
pub(crate) mod suppression;
pub(crate) mod yaml_syntax;
