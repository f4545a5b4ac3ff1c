//! `matrix`: one task written once, run for every combination of values.
//!
//! ```toml
//! [tasks.build]
//! matrix = { container = ["authentik", "redis"] }   # or the name of a list in [vars]
//! nix-build = { file = "containers/{{ matrix.container }}/default.nix" }
//!
//! [tasks.release]
//! matrix = { container = ["authentik", "redis"] }
//! deps = ["build[{{ matrix.container }}]"]           # element-wise
//! ```
//!
//! The instances are named `build[authentik]`, `build[redis]` (with several keys,
//! the cross product in the order the keys are written: `build[authentik,amd64]`).
//! `build` itself becomes an aggregate of its instances, so depending on it, or
//! running it, means every instance.
//!
//! `include` adds values to the instances a row matches, as in GitHub and Forgejo
//! Actions (the values that belong together, such as each image's version):
//!
//! ```toml
//! matrix = { container = ["authentik", "redis"], include = [
//!   { container = "authentik", version = "2026.2.0" },
//!   { container = "redis", version = "7.4.2" },
//! ] }                                                # {{ matrix.version }}
//! ```
//!
//! A row's keys that are keys of the matrix pick the instances (all of them when it
//! has none); its other keys are added to them, and are not part of the names. A row
//! that matches no instance is an error: it would be a typo, not a new instance.

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

/// The values of one key: a list, or the name of a list variable.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawValues {
    List(Vec<String>),
    Var(String),
    /// `include`'s rows.
    Rows(Vec<IndexMap<String, String>>),
}

/// `matrix = { KEY = […], … }` as read.
pub(super) type RawMatrix = Spanned<IndexMap<Spanned<String>, Spanned<RawValues>>>;

/// One instance: its name and the value of each key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Instance {
    pub name: String,
    pub values: IndexMap<String, String>,
}

/// Why a matrix cannot be expanded, and where.
#[derive(Debug)]
pub(super) struct MatrixError {
    pub at: std::ops::Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

/// Most instances one task may have: more is a mistake (a list var in place of a short list).
const MAX_INSTANCES: usize = 1024;

/// Every instance of `task` for `matrix`, lists of `[vars]` looked up in `lists`.
pub(super) fn instances(
    task: &str,
    matrix: &RawMatrix,
    lists: &IndexMap<String, Spanned<Vec<String>>>,
) -> Result<Vec<Instance>, MatrixError> {
    let mut keys: Vec<(String, Vec<String>)> = Vec::new();
    let mut include = None;
    for (key, values) in matrix.get_ref() {
        let list: Vec<String> = match values.get_ref() {
            RawValues::Rows(rows) if key.get_ref() == "include" => {
                include = Some((rows, values.span()));
                continue;
            }
            RawValues::Rows(_) => {
                return Err(MatrixError {
                    at: values.span(),
                    message: format!("matrix key `{}` takes a list of values, not of tables", key.get_ref()),
                    help: Some(
                        "only `include` takes tables: include = [{ container = \"authentik\", version = \"2026.2.0\" }]"
                            .into(),
                    ),
                });
            }
            RawValues::List(_) if key.get_ref() == "include" => {
                return Err(MatrixError {
                    at: values.span(),
                    message: "`include` takes tables, one per row".into(),
                    help: Some("include = [{ container = \"authentik\", version = \"2026.2.0\" }]".into()),
                });
            }
            RawValues::List(items) => items.clone(),
            RawValues::Var(name) => match lists.get(name) {
                Some(list) => list.get_ref().clone(),
                None => {
                    return Err(MatrixError {
                        at: values.span(),
                        message: format!("`{name}` is not a list in [vars]"),
                        help: Some(format!(
                            "give the values (`{} = [\"a\", \"b\"]`) or declare `{name} = [\"a\", \"b\"]` under [vars]",
                            key.get_ref()
                        )),
                    });
                }
            },
        };
        if list.is_empty() {
            return Err(MatrixError {
                at: values.span(),
                message: format!("matrix key `{}` of task `{task}` has no values", key.get_ref()),
                help: Some("a matrix key needs at least one value".into()),
            });
        }
        if let Some(bad) = list.iter().find(|v| v.is_empty() || v.contains([',', '[', ']'])) {
            return Err(MatrixError {
                at: values.span(),
                message: format!("matrix value `{bad}` cannot name an instance"),
                help: Some(
                    "values are part of instance names (`build[authentik]`): no `,`, `[`, `]`, not empty"
                        .into(),
                ),
            });
        }
        keys.push((key.get_ref().clone(), list));
    }
    if keys.is_empty() {
        return Err(MatrixError {
            at: matrix.span(),
            message: format!("the matrix of task `{task}` has no keys"),
            help: Some("matrix = { container = [\"authentik\", \"redis\"] }".into()),
        });
    }
    let count = keys.iter().try_fold(1usize, |n, (_, v)| n.checked_mul(v.len()));
    if count.is_none_or(|n| n > MAX_INSTANCES) {
        return Err(MatrixError {
            at: matrix.span(),
            message: format!("the matrix of task `{task}` has more than {MAX_INSTANCES} combinations"),
            help: None,
        });
    }
    let mut combos: Vec<IndexMap<String, String>> = vec![IndexMap::new()];
    for (key, values) in &keys {
        combos = combos
            .into_iter()
            .flat_map(|combo| {
                values.iter().map(move |v| {
                    let mut next = combo.clone();
                    next.insert(key.clone(), v.clone());
                    next
                })
            })
            .collect();
    }
    let names: Vec<String> = combos
        .iter()
        .map(|values| {
            format!(
                "{task}[{}]",
                values.values().cloned().collect::<Vec<_>>().join(",")
            )
        })
        .collect();
    if let Some((rows, at)) = include {
        add_rows(&mut combos, rows, at)?;
    }
    Ok(names
        .into_iter()
        .zip(combos)
        .map(|(name, values)| Instance { name, values })
        .collect())
}

/// `include`: each row's other keys added to the combinations its matrix keys pick.
fn add_rows(
    combos: &mut [IndexMap<String, String>],
    rows: &[IndexMap<String, String>],
    at: std::ops::Range<usize>,
) -> Result<(), MatrixError> {
    let keys: Vec<String> = combos
        .first()
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_default();
    for row in rows {
        let (picks, adds): (Vec<_>, Vec<_>) = row.iter().partition(|(k, _)| keys.contains(k));
        let mut matched = false;
        for combo in combos
            .iter_mut()
            .filter(|c| picks.iter().all(|(k, v)| c.get(*k) == Some(*v)))
        {
            matched = true;
            for (k, v) in &adds {
                combo.insert((*k).clone(), (*v).clone());
            }
        }
        if !matched {
            let shown: Vec<String> = picks.iter().map(|(k, v)| format!("{k} = \"{v}\"")).collect();
            return Err(MatrixError {
                at,
                message: format!("the `include` row {{ {} }} matches no instance", shown.join(", ")),
                help: Some(format!(
                    "a row's matrix keys pick instances; the values are: {}",
                    keys.iter()
                        .map(|k| {
                            let mut values: Vec<&str> = combos
                                .iter()
                                .filter_map(|c| c.get(k).map(String::as_str))
                                .collect();
                            values.dedup();
                            format!("{k} = {values:?}")
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                )),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(text: &str) -> RawMatrix {
        #[derive(Deserialize)]
        struct Doc {
            matrix: RawMatrix,
        }
        toml::from_str::<Doc>(text).unwrap().matrix
    }

    #[test]
    fn the_cross_product_in_key_order() {
        let m = matrix("matrix = { container = [\"authentik\", \"redis\"], arch = [\"amd64\", \"arm64\"] }");
        let names: Vec<String> = instances("build", &m, &IndexMap::new())
            .unwrap()
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(
            names,
            [
                "build[authentik,amd64]",
                "build[authentik,arm64]",
                "build[redis,amd64]",
                "build[redis,arm64]"
            ]
        );
    }

    #[test]
    fn include_adds_values_to_the_rows_it_matches() {
        let m = matrix(
            "matrix = { container = [\"authentik\", \"redis\"], arch = [\"amd64\", \"arm64\"], include = [{ container = \"redis\", version = \"7.4.2\" }, { registry = \"r.example.net\" }] }",
        );
        let all = instances("build", &m, &IndexMap::new()).unwrap();
        let names: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names[2], "build[redis,amd64]",
            "extra values are not part of the names"
        );
        let version: Vec<Option<&str>> = all
            .iter()
            .map(|i| i.values.get("version").map(String::as_str))
            .collect();
        assert_eq!(version, [None, None, Some("7.4.2"), Some("7.4.2")]);
        assert!(
            all.iter().all(|i| i.values["registry"] == "r.example.net"),
            "a row without matrix keys matches all"
        );
        let typo =
            matrix("matrix = { container = [\"a\"], include = [{ container = \"b\", version = \"1\" }] }");
        let e = instances("t", &typo, &IndexMap::new()).unwrap_err();
        assert!(e.message.contains("matches no instance"), "{}", e.message);
        assert!(e.help.unwrap().contains("container = [\"a\"]"));
        for bad in [
            "matrix = { c = [\"a\"], include = [\"x\"] }",
            "matrix = { c = [{ a = \"b\" }] }",
        ] {
            assert!(instances("t", &matrix(bad), &IndexMap::new()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_list_variable_gives_the_values() {
        let m = matrix("matrix = { container = \"containers\" }");
        let mut lists = IndexMap::new();
        lists.insert(
            "containers".to_owned(),
            Spanned::new(0..0, vec!["a".to_owned(), "b".to_owned()]),
        );
        assert_eq!(instances("t", &m, &lists).unwrap().len(), 2);
        assert!(instances("t", &m, &IndexMap::new()).is_err());
    }

    #[test]
    fn refuses_what_cannot_name_an_instance() {
        for bad in ["matrix = { c = [] }", "matrix = { c = [\"a,b\"] }", "matrix = {}"] {
            assert!(instances("t", &matrix(bad), &IndexMap::new()).is_err(), "{bad}");
        }
    }
}
