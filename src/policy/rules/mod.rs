//! The built-in rules, one per file.

pub mod argocd_app_path;
pub mod kustomize_resources;
pub mod nix_container;
pub mod no_helm;
pub mod no_plain_secret;
pub mod pinned_image;
