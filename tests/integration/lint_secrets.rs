//! No output format of `ops lint` prints a Secret's values: not the frame under a
//! finding, not a message (a custom rule quoting the value), not a file that does
//! not parse.

use crate::common::Test;

const VALUES: &[&str] = &[
    "hunter2-value-xyz",
    "aHVudGVyMi12YWx1ZS14eXo=",
    "s3cr3t-broken-zz",
    "pw9",
];

fn repository() -> Test {
    Test::new()
        .file(
            "k8s/secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\nstringData:\n  token: \"hunter2-value-xyz\"\n  pin: pw9\ndata:\n  b64: aHVudGVyMi12YWx1ZS14eXo=\n",
        )
        .file(
            "k8s/broken.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: broken\nstringData:\n  token: s3cr3t-broken-zz\n  other: [unclosed\n",
        )
        .file(
            "policies/secrets.toml",
            r#"
[[custom]]
id = "no-token-field"
message = "tokens belong in the secret store"
field = "stringData.token"
forbid = "."

[[custom]]
id = "no-pin-field"
message = "no pins"
field = "stringData.pin"
forbid = "."

[[custom]]
id = "no-hunter"
message = "a known leaked value"
forbid = "hunter2|s3cr3t"
"#,
        )
}

#[test]
fn no_format_prints_a_secret_value() {
    let test = repository();
    for format in ["human", "json", "sarif", "github", "rdjson"] {
        let ran = test.run_with(&["lint", "--format", format]);
        assert_eq!(ran.code, 1, "{format}: {}{}", ran.stdout, ran.stderr);
        for value in VALUES {
            assert!(
                !ran.stdout.contains(value) && !ran.stderr.contains(value),
                "{format} prints `{value}`:\n{}{}",
                ran.stdout,
                ran.stderr
            );
        }
        // The findings are still there, pointing at the values.
        for expected in [
            "no-plain-secret",
            "no-token-field",
            "no-pin-field",
            "no-hunter",
            "yaml-syntax",
        ] {
            assert!(
                ran.stdout.contains(expected),
                "{format} lacks {expected}:\n{}",
                ran.stdout
            );
        }
    }
    let human = test.run_with(&["lint"]);
    assert!(
        human.stdout.contains(&format!("token: {}", "*".repeat(19))),
        "{}",
        human.stdout
    );
}
