//! Environment variables in `env` values and `dir`, as a shell writes them: `$VAR`,
//! `${VAR}`, `${VAR:-default}`, and a leading `~` for `$HOME`. `$$` is a `$`; a `$`
//! before anything else stays as it is. They are read from the environment of `ops`
//! when the task runs, so a variable that is not set fails only the tasks that use it.

/// A piece of text: literal, or a variable to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    Var { name: String, default: Option<String> },
}

/// A `${` without its `}`, or a form this syntax does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// The text in question, from its `$`.
    pub found: String,
    pub message: String,
}

/// Split `text` into literal text and variables. `first` says whether `text` starts
/// the whole string (where `~` means the home directory).
pub(crate) fn split(text: &str, first: bool) -> Result<Vec<Piece>, SyntaxError> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    if first && (rest == "~" || rest.starts_with("~/")) {
        pieces.push(Piece::Var {
            name: "HOME".into(),
            default: None,
        });
        rest = &rest[1..];
    }
    while let Some(i) = rest.find('$') {
        literal.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            literal.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else {
                return Err(SyntaxError {
                    found: rest[i..].to_owned(),
                    message: "`${` without its closing `}`".into(),
                });
            };
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default.to_owned())),
                None => (inner, None),
            };
            if !is_name(name) {
                return Err(SyntaxError {
                    found: format!("${{{inner}}}"),
                    message: format!(
                        "`${{{inner}}}` is not a variable: write `${{NAME}}` or `${{NAME:-default}}` (`$$` for a `$`)"
                    ),
                });
            }
            flush(&mut pieces, &mut literal);
            pieces.push(Piece::Var {
                name: name.to_owned(),
                default,
            });
            rest = &body[end + 1..];
        } else {
            let len = after
                .char_indices()
                .find(|&(j, c)| !(c == '_' || c.is_ascii_alphabetic() || (j > 0 && c.is_ascii_digit())))
                .map_or(after.len(), |(j, _)| j);
            if len == 0 {
                literal.push('$');
                rest = after;
            } else {
                flush(&mut pieces, &mut literal);
                pieces.push(Piece::Var {
                    name: after[..len].to_owned(),
                    default: None,
                });
                rest = &after[len..];
            }
        }
    }
    literal.push_str(rest);
    flush(&mut pieces, &mut literal);
    Ok(pieces)
}

fn flush(pieces: &mut Vec<Piece>, literal: &mut String) {
    if !literal.is_empty() {
        pieces.push(Piece::Text(std::mem::take(literal)));
    }
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, default: Option<&str>) -> Piece {
        Piece::Var {
            name: name.into(),
            default: default.map(Into::into),
        }
    }

    fn text(t: &str) -> Piece {
        Piece::Text(t.into())
    }

    #[test]
    fn reads_the_shell_forms() {
        assert_eq!(
            split("$HOME/.kube/${CLUSTER:-k3s}.yaml", true).unwrap(),
            vec![
                var("HOME", None),
                text("/.kube/"),
                var("CLUSTER", Some("k3s")),
                text(".yaml")
            ]
        );
        assert_eq!(split("~/x", true).unwrap(), vec![var("HOME", None), text("/x")]);
        assert_eq!(split("~", true).unwrap(), vec![var("HOME", None)]);
        assert_eq!(split("~/x", false).unwrap(), vec![text("~/x")]);
        assert_eq!(split("a~b", true).unwrap(), vec![text("a~b")]);
        assert_eq!(
            split("${A}${B:-}", true).unwrap(),
            vec![var("A", None), var("B", Some(""))]
        );
        assert_eq!(split("$A_1-b", true).unwrap(), vec![var("A_1", None), text("-b")]);
    }

    #[test]
    fn keeps_what_is_not_a_variable() {
        assert_eq!(
            split("cost: $$5 and $ 3 and $1", true).unwrap(),
            vec![text("cost: $5 and $ 3 and $1")]
        );
        assert_eq!(split("end$", true).unwrap(), vec![text("end$")]);
    }

    #[test]
    fn refuses_broken_braces() {
        assert_eq!(split("x ${HOME", true).unwrap_err().found, "${HOME");
        assert!(
            split("${HOME:=x}", true)
                .unwrap_err()
                .message
                .contains("not a variable")
        );
        assert!(split("${}", true).is_err());
    }
}
