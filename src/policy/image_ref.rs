//! Container image references, parsed by the distribution reference grammar:
//! `[host[:port]/]path[:tag][@algorithm:hex]`. A `host:port/path` has a port, not a
//! tag; `name@sha256:…` is pinned by digest; repository paths are lowercase; tags
//! are at most 128 characters of `[A-Za-z0-9_.-]` not starting with `.` or `-`.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// The registry host (and port), when the reference names one.
    pub domain: Option<String>,
    /// The repository path: `library/redis`, `homelab/authentik`.
    pub path: String,
    pub tag: Option<String>,
    /// `algorithm:hex`
    pub digest: Option<String>,
}

impl ImageRef {
    /// The name as written, without tag or digest (what kustomize `images:` match).
    pub fn name(&self) -> String {
        match &self.domain {
            Some(d) => format!("{d}/{}", self.path),
            None => self.path.clone(),
        }
    }

    pub fn parse(reference: &str) -> Result<Self, String> {
        let reference = reference.trim();
        if reference.is_empty() {
            return Err("empty image reference".into());
        }
        let (rest, digest) = match reference.rsplit_once('@') {
            Some((rest, digest)) => {
                check_digest(digest)?;
                (rest, Some(digest.to_owned()))
            }
            None => (reference, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &rest[last_slash + i + 1..];
                check_tag(tag)?;
                (&rest[..last_slash + i], Some(tag.to_owned()))
            }
            None => (rest, None),
        };
        let (domain, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                check_domain(first)?;
                (Some(first.to_owned()), path)
            }
            _ => (None, name),
        };
        check_path(path)?;
        Ok(Self {
            domain,
            path: path.to_owned(),
            tag,
            digest,
        })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn check_tag(tag: &str) -> Result<(), String> {
    let valid = !tag.is_empty()
        && tag.len() <= 128
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if valid {
        Ok(())
    } else if tag.len() > 128 {
        Err(format!(
            "tag is {} characters long; at most 128 are allowed",
            tag.len()
        ))
    } else {
        Err(format!("invalid tag `{tag}`"))
    }
}

fn check_digest(digest: &str) -> Result<(), String> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(format!("invalid digest `{digest}`: expected algorithm:hex"));
    };
    let algorithm_ok = !algorithm.is_empty()
        && algorithm
            .split(['+', '.', '_', '-'])
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    let hex_ok = hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit());
    let sha256_ok = algorithm != "sha256" || hex.len() == 64;
    if algorithm_ok && hex_ok && sha256_ok {
        Ok(())
    } else {
        Err(format!("invalid digest `{digest}`"))
    }
}

fn check_domain(domain: &str) -> Result<(), String> {
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || domain.starts_with('[') => (host, Some(port)),
        _ => (domain, None),
    };
    if let Some(port) = port
        && (port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(format!("invalid registry port `{port}`"));
    }
    let host_ok = (host.starts_with('[') && host.ends_with(']'))
        || host.split('.').all(|c| {
            !c.is_empty()
                && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
                && !c.starts_with('-')
                && !c.ends_with('-')
        });
    if host_ok {
        Ok(())
    } else {
        Err(format!("invalid registry host `{host}`"))
    }
}

fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("missing repository name".into());
    }
    for component in path.split('/') {
        if component.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(format!("repository name `{path}` must be lowercase"));
        }
        if !valid_component(component) {
            return Err(format!("invalid repository path component `{component}`"));
        }
    }
    Ok(())
}

/// A path component as the distribution grammar has it: lowercase alphanumeric runs
/// joined by one separator each, `.`, `_`, `__` or any number of `-`.
fn valid_component(component: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut rest = component;
    loop {
        let run = rest.find(|c: char| !alnum(c)).unwrap_or(rest.len());
        if run == 0 {
            return false;
        }
        rest = &rest[run..];
        if rest.is_empty() {
            return true;
        }
        let sep = rest.find(alnum).unwrap_or(rest.len());
        let separator = &rest[..sep];
        if !(matches!(separator, "." | "_" | "__") || separator.chars().all(|c| c == '-')) {
            return false;
        }
        rest = &rest[sep..];
    }
}

#[cfg(test)]
mod tests {
    use super::ImageRef;

    type Parts = (Option<String>, String, Option<String>, Option<String>);

    fn parts(r: &str) -> Parts {
        let i = ImageRef::parse(r).unwrap_or_else(|e| panic!("{r}: {e}"));
        (i.domain, i.path, i.tag, i.digest)
    }

    #[allow(clippy::unnecessary_wraps)] // reads better in the table than `Some(x.into())`
    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn table() {
        let sha = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let cases: Vec<(&str, Parts)> = vec![
            ("redis", (None, "redis".into(), None, None)),
            ("redis:7-alpine", (None, "redis".into(), s("7-alpine"), None)),
            (
                "library/redis:latest",
                (None, "library/redis".into(), s("latest"), None),
            ),
            (
                "registry:5000/app",
                (s("registry:5000"), "app".into(), None, None),
            ),
            (
                "registry:5000/app:v1",
                (s("registry:5000"), "app".into(), s("v1"), None),
            ),
            ("localhost/app:1", (s("localhost"), "app".into(), s("1"), None)),
            (
                "registry.example.net/homelab/authentik:v2026.2.0-nix",
                (
                    s("registry.example.net"),
                    "homelab/authentik".into(),
                    s("v2026.2.0-nix"),
                    None,
                ),
            ),
            (
                "[::1]:5000/app:v1",
                (s("[::1]:5000"), "app".into(), s("v1"), None),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(parts(input), expected, "{input}");
        }
        assert_eq!(
            parts(&format!("nginx@{sha}")),
            (None, "nginx".into(), None, s(sha))
        );
        assert_eq!(
            parts(&format!("nginx:1.27@{sha}")),
            (None, "nginx".into(), s("1.27"), s(sha))
        );
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "",
            "NGINX",
            "nginx/App:1",
            "app:",
            "app:-bad",
            "app@sha256:short",
            "app@sha256:0123456789abcdef0123456789abcdef",
            "registry:port/app",
            "a//b",
            "nginx._x:1",
            "web-.app:1",
            "a.-b",
            "a___b",
            "a_-b",
            "app-",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad} should be rejected");
        }
        assert!(ImageRef::parse(&format!("app:{}", "a".repeat(128))).is_ok());
        assert!(
            ImageRef::parse(&format!("app:{}", "a".repeat(129)))
                .unwrap_err()
                .contains("at most 128")
        );
    }

    #[test]
    fn separators_of_the_distribution_grammar() {
        for good in ["a__b/c--d", "my-app/web---x", "a.b_c", "x9"] {
            assert!(ImageRef::parse(good).is_ok(), "{good} should be accepted");
        }
    }

    #[test]
    fn uppercase_first_component_is_a_registry() {
        // Docker treats an uppercase first component as a host name.
        assert_eq!(parts("Registry/app:1").0, s("Registry"));
    }
}
