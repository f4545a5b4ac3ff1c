//! Hostile input for `ops lint`: the manifests of `tests/bad-input/manifests/` and
//! cases built at test time (big, deep or special files are generated in a temporary
//! directory, never committed). Each case has a definite exit code and, where there
//! is a finding, its rule and position; none may panic, and each must finish within
//! the harness limit (the child is killed after 30 s).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::common::{Limited, ops_bin, repo_root, run_limited};

struct Linted {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Linted {
    /// `(rule, line, column)` of every finding of a `--format json` run.
    fn findings(&self) -> Vec<(String, u64, u64)> {
        self.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["rule"].as_str().unwrap().to_owned(),
                    f["line"].as_u64().unwrap(),
                    f["column"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", self.stdout, self.stderr))
    }

    fn messages(&self) -> Vec<String> {
        let json = self.json();
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["message"].as_str().unwrap().to_owned())
            .collect()
    }

    fn files_scanned(&self) -> u64 {
        self.json()["files_scanned"].as_u64().unwrap()
    }
}

/// `ops lint ARGS…` in `dir`, killed after 30 s; it must not panic.
fn lint(dir: &Path, args: &[&str]) -> Linted {
    let mut command = Command::new(ops_bin());
    command
        .arg("lint")
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1");
    let what = format!("ops lint {args:?} in {}", dir.display());
    let Limited {
        status,
        stdout,
        stderr,
    } = run_limited(command, &what);
    let linted = Linted {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
    };
    assert!(
        !linted.stderr.contains("panicked") && status.code().is_some(),
        "{status:?} {}",
        linted.stderr
    );
    linted
}

/// A repository root (marked by `.git`) in a temporary directory.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    dir
}

fn write(dir: &Path, path: &str, text: impl AsRef<[u8]>) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A Pod whose image floats: one `pinned-image` finding at 8:14.
const FLOATING: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: a\n      image: nginx:latest\n";

/// A finding's rule, line and column.
type Expected = (&'static str, u64, u64);

/// The committed corpus: each file alone in a repository, with what it must give.
#[test]
fn every_manifest_of_the_corpus() {
    let expected: &[(&str, &[Expected])] = &[
        ("alias-bomb.yaml", &[("yaml-syntax", 5, 36)]),
        ("anchor-across-documents.yaml", &[("yaml-syntax", 6, 7)]),
        ("binary-junk.yaml", &[("yaml-syntax", 1, 2)]),
        ("bom.yaml", &[("pinned-image", 8, 14)]),
        ("crlf-mix.yaml", &[("pinned-image", 8, 14)]),
        // `a: [[[…`: saphyr's scanner stops flow nesting at its 256th bracket.
        ("deep-flow.yaml", &[("yaml-syntax", 1, 259)]),
        ("duplicate-directive.yaml", &[("yaml-syntax", 2, 1)]),
        ("duplicate-key.yaml", &[("yaml-syntax", 2, 1)]),
        ("escape-character.yaml", &[("yaml-syntax", 4, 11)]),
        ("invalid-utf8.yaml", &[("yaml-syntax", 1, 1)]),
        // Wrong types in a kustomization are ignored, not a crash.
        ("kustomization.yaml", &[]),
        ("nul-byte.yaml", &[("yaml-syntax", 4, 8)]),
        ("self-alias-nested.yaml", &[("yaml-syntax", 3, 8)]),
        ("self-alias.yaml", &[("yaml-syntax", 1, 8)]),
        ("tab-indent.yaml", &[("yaml-syntax", 4, 2)]),
        ("truncated.yaml", &[("yaml-syntax", 6, 1)]),
        ("undefined-alias.yaml", &[("yaml-syntax", 3, 28)]),
        ("wrong-types.yaml", &[("pinned-image", 10, 18)]),
    ];
    let dir = repo_root().join("tests/bad-input/manifests");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort_unstable();
    let listed: Vec<&str> = expected.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, listed, "every corpus file has its expectation");
    for (name, findings) in expected {
        let root = repo();
        std::fs::copy(dir.join(name), root.path().join(name)).unwrap();
        let linted = lint(root.path(), &["--format", "json"]);
        let found = linted.findings();
        let want: Vec<(String, u64, u64)> = findings
            .iter()
            .map(|(r, l, c)| ((*r).to_owned(), *l, *c))
            .collect();
        assert_eq!(found, want, "{name}: {:?}", linted.messages());
        assert_eq!(linted.code, i32::from(!findings.is_empty()), "{name}");
        assert_eq!(linted.files_scanned(), 1, "{name}");
    }
}

#[test]
fn messages_of_the_corpus_say_what_is_wrong() {
    let dir = repo_root().join("tests/bad-input/manifests");
    for (name, message) in [
        ("binary-junk.yaml", "not UTF-8 text"),
        ("invalid-utf8.yaml", "byte 0xFF"),
        ("self-alias.yaml", "alias to a node that contains it"),
        ("deep-flow.yaml", "nesting deeper than 255 levels"),
        ("alias-bomb.yaml", "alias expansion"),
        ("nul-byte.yaml", "control character U+0000"),
    ] {
        let root = repo();
        std::fs::copy(dir.join(name), root.path().join(name)).unwrap();
        let messages = lint(root.path(), &["--format", "json"]).messages();
        assert!(
            messages.iter().any(|m| m.contains(message)),
            "{name}: {messages:?}"
        );
    }
}

/// Nesting past the limit, in every style, is a finding where the limit is passed.
#[test]
fn deep_nesting_is_a_finding_at_the_limit() {
    let root = repo();
    write(
        root.path(),
        "block-seq.yaml",
        format!("{}1\n", "- ".repeat(20_000)),
    );
    write(
        root.path(),
        "flow-seq.yaml",
        format!("{}{}\n", "[".repeat(20_000), "]".repeat(20_000)),
    );
    let maps = (0..300).fold(String::new(), |text, i| text + &" ".repeat(i) + "k:\n");
    write(root.path(), "block-map.yaml", maps);
    let flow_maps = format!("{}1{}\n", "{a: ".repeat(20_000), "}".repeat(20_000));
    write(root.path(), "flow-map.yaml", flow_maps);
    // An anchor 200 deep used 100 deep.
    let alias = format!(
        "a: &x {}1{}\nb: {}*x{}\n",
        "[".repeat(200),
        "]".repeat(200),
        "[".repeat(100),
        "]".repeat(100)
    );
    write(root.path(), "alias.yaml", alias);
    let linted = lint(root.path(), &["--format", "json"]);
    assert_eq!(linted.code, 1);
    assert_eq!(
        linted.findings(),
        vec![
            ("yaml-syntax".to_owned(), 2, 104),
            ("yaml-syntax".to_owned(), 256, 256),
            ("yaml-syntax".to_owned(), 1, 511),
            ("yaml-syntax".to_owned(), 1, 1021),
            ("yaml-syntax".to_owned(), 1, 256),
        ],
        "{:?}",
        linted.messages()
    );
    assert!(
        linted
            .messages()
            .iter()
            .all(|m| m.ends_with("nesting deeper than 255 levels"))
    );
}

/// Big input: a sparse 1 GiB file is refused by its size, before it is read; a
/// 1 MB line, 100,000 empty documents and a 100 KB key are checked.
#[test]
fn big_input() {
    let root = repo();
    let big = std::fs::File::create(root.path().join("big.yaml")).unwrap();
    big.set_len(1 << 30).unwrap();
    let line = format!("data: [{}\n", "a, ".repeat(350_000));
    write(root.path(), "long-line.yaml", &line);
    write(root.path(), "documents.yaml", "---\n".repeat(100_000));
    let key = "k".repeat(100 * 1024);
    write(root.path(), "long-key.yaml", format!("? {key}\n: v\n"));
    write(root.path(), "long-implicit-key.yaml", format!("{key}: v\n"));
    let linted = lint(root.path(), &["--format", "json"]);
    assert_eq!(linted.code, 1);
    assert_eq!(
        linted.findings(),
        vec![
            ("unreadable-file".to_owned(), 1, 1),
            ("yaml-syntax".to_owned(), 1, 102_401),
            ("yaml-syntax".to_owned(), 2, 1),
        ],
        "{:?}",
        linted.messages()
    );
    assert!(linted.messages()[0].contains("1073741824 bytes, more than the limit of 8388608 bytes"));
    assert_eq!(linted.files_scanned(), 4);
    // The human report shows a window of the long line, not the line.
    let human = lint(root.path(), &["long-line.yaml"]);
    assert_eq!(human.code, 1);
    assert!(human.stdout.len() < 4096, "{} bytes", human.stdout.len());
    assert!(
        human.stdout.contains("long-line.yaml line 2 column 1, shortened"),
        "{}",
        human.stdout
    );
}

/// Many findings: every format is linear in them (a quadratic report of 20,000
/// findings does not finish within the harness limit in a debug build).
#[test]
fn many_findings_in_every_format() {
    let root = repo();
    let mut pods = String::from("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n");
    for i in 0..20_000 {
        let _ = write!(pods, "    - name: c{i}\n      image: nginx:latest\n");
    }
    write(root.path(), "pods.yaml", pods);
    for format in ["human", "json", "sarif", "github"] {
        let linted = lint(root.path(), &["--format", format]);
        assert_eq!(linted.code, 1, "{format}");
        let last = "pods.yaml:40006:14";
        match format {
            "human" => assert!(linted.stdout.contains(last) && linted.stdout.contains("20000 errors")),
            "json" => assert_eq!(linted.findings().len(), 20_000),
            _ => assert!(linted.stdout.contains("40006"), "{format}"),
        }
    }
}

/// FIFOs are findings and are never opened (opening one for reading would block).
#[test]
fn a_fifo_is_a_finding_and_never_opened() {
    let root = repo();
    nix::unistd::mkfifo(&root.path().join("pipe.yaml"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    write(root.path(), "pod.yaml", FLOATING);
    for args in [&["--format", "json"][..], &["--format", "json", "pipe.yaml"]] {
        let linted = lint(root.path(), args);
        assert_eq!(linted.code, 1, "{args:?}");
        let found = linted.findings();
        assert!(found.contains(&("unreadable-file".to_owned(), 1, 1)), "{found:?}");
        assert!(
            linted
                .messages()
                .iter()
                .any(|m| m.contains("not a regular file (a FIFO)"))
        );
    }
}

/// Command-line paths that do not exist or cannot be read are exit 2, naming them.
#[test]
fn bad_command_line_paths_are_usage_errors() {
    let root = repo();
    write(root.path(), "argocd/manifests/pod.yaml", FLOATING);
    std::os::unix::fs::symlink("loop.yaml", root.path().join("loop.yaml")).unwrap();
    for (path, says) in [
        ("nope.yaml", "nope.yaml: no such file or directory"),
        ("argocd/manfests", "did you mean `argocd/manifests`?"),
        ("loop.yaml", "loop.yaml: cannot be read"),
    ] {
        let linted = lint(root.path(), &[path]);
        assert_eq!(linted.code, 2, "{path}: {}", linted.stdout);
        assert!(linted.stderr.contains(says), "{path}: {}", linted.stderr);
    }
    // The walk does not follow symbolic links: the loop is not looked at.
    let linted = lint(root.path(), &["--format", "json"]);
    assert_eq!((linted.code, linted.files_scanned()), (1, 1));
}

/// A file or directory the walk cannot read is a finding. (Skipped as root, who
/// reads everything.)
#[test]
fn unreadable_files_found_while_walking_are_findings() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = repo();
    write(root.path(), "secret.yaml", FLOATING);
    write(root.path(), "locked/pod.yaml", FLOATING);
    let mode = |path: &str, mode: u32| {
        std::fs::set_permissions(root.path().join(path), std::fs::Permissions::from_mode(mode)).unwrap();
    };
    mode("secret.yaml", 0o000);
    mode("locked", 0o000);
    let root_reads_anyway = std::fs::read(root.path().join("secret.yaml")).is_ok();
    let linted = lint(root.path(), &["--format", "json"]);
    mode("locked", 0o755);
    if root_reads_anyway {
        eprintln!("skipped: running as root, permissions do not stop reading");
        return;
    }
    assert_eq!(linted.code, 1);
    assert_eq!(
        linted.findings(),
        vec![
            ("unreadable-file".to_owned(), 1, 1),
            ("unreadable-file".to_owned(), 1, 1)
        ]
    );
}

/// An unreadable `policies/` is exit 2, not the built-in rules instead.
#[test]
fn an_unreadable_policies_directory_is_a_usage_error() {
    let root = repo();
    write(root.path(), "pod.yaml", FLOATING);
    std::os::unix::fs::symlink("policies", root.path().join("policies")).unwrap();
    let linted = lint(root.path(), &[]);
    assert_eq!(linted.code, 2, "{}", linted.stdout);
    assert!(
        linted.stderr.contains("cannot read the policies directory"),
        "{}",
        linted.stderr
    );
}

/// Kustomizations: a resource outside the repository is a finding (not a file of
/// the root), one that includes itself or a long chain of bases terminates.
#[test]
fn hostile_kustomizations() {
    let root = repo();
    write(root.path(), "stray.yaml", FLOATING);
    write(
        root.path(),
        "apps/web/kustomization.yaml",
        "resources:\n  - ../../../../stray.yaml\n  - /etc/hostname\n  - ../../stray.yaml\n",
    );
    write(
        root.path(),
        "self/kustomization.yaml",
        "resources:\n  - .\n  - kustomization.yaml\n",
    );
    // 100 bases, each including the next; a floating image at the bottom.
    let mut dir = String::from("chain");
    for _ in 0..100 {
        write(
            root.path(),
            &format!("{dir}/kustomization.yaml"),
            "resources:\n  - next\n",
        );
        dir.push_str("/next");
    }
    write(
        root.path(),
        &format!("{dir}/kustomization.yaml"),
        "resources:\n  - pod.yaml\n",
    );
    write(root.path(), &format!("{dir}/pod.yaml"), FLOATING);
    let linted = lint(root.path(), &["--format", "json"]);
    assert_eq!(linted.code, 1);
    let findings = linted.findings();
    let messages = linted.messages();
    assert_eq!(
        findings
            .iter()
            .filter(|f| f.0 == "kustomize-resources")
            .cloned()
            .collect::<Vec<_>>(),
        vec![
            ("kustomize-resources".to_owned(), 2, 5),
            ("kustomize-resources".to_owned(), 3, 5)
        ],
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .filter(|m| m.contains("a resource outside the repository"))
            .count()
            == 2
    );
    // The stray file keeps its own finding; so does the bottom of the chain.
    assert_eq!(
        findings.iter().filter(|f| f.0 == "pinned-image").count(),
        2,
        "{messages:?}"
    );
}

/// An image reference of 10,000 characters is judged, with its position.
#[test]
fn a_huge_image_reference() {
    let root = repo();
    let image = format!("registry.example.net/{}:latest", "a".repeat(10_000));
    write(root.path(), "pod.yaml", FLOATING.replace("nginx:latest", &image));
    let linted = lint(root.path(), &["--format", "json"]);
    assert_eq!(linted.code, 1);
    assert_eq!(linted.findings(), vec![("pinned-image".to_owned(), 8, 14)]);
}
