//! Field paths into a YAML object: `spec.template.spec.containers[*].image`, as
//! custom rules and the image fields of `pinned-image` name them.

use crate::yaml::Node;

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
    Each,
}

/// A parsed field path.
#[derive(Debug, Clone)]
pub(crate) struct FieldPath(Vec<Step>);

impl FieldPath {
    /// `a.b[0].c[*]`: keys, indexes, and `[*]` for every item.
    pub(crate) fn parse(field: &str) -> Result<Self, String> {
        let mut steps = Vec::new();
        for part in field.split('.') {
            let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
            if !key.is_empty() {
                steps.push(Step::Key(key.to_owned()));
            }
            while !rest.is_empty() {
                let (inside, after) = rest
                    .split_once(']')
                    .ok_or_else(|| format!("unclosed `[` in field `{field}`"))?;
                steps.push(match inside {
                    "*" => Step::Each,
                    n => Step::Index(
                        n.parse()
                            .map_err(|_| format!("bad index `[{n}]` in field `{field}`"))?,
                    ),
                });
                rest = after.strip_prefix('[').unwrap_or(after);
            }
        }
        Ok(Self(steps))
    }

    /// The nodes at this path under `node`.
    pub(crate) fn select<'a>(&self, node: &'a Node, out: &mut Vec<&'a Node>) {
        select(node, &self.0, out);
    }
}

fn select<'a>(node: &'a Node, steps: &[Step], out: &mut Vec<&'a Node>) {
    let Some((step, rest)) = steps.split_first() else {
        out.push(node);
        return;
    };
    match step {
        Step::Key(k) => {
            if let Some(child) = node.get(k) {
                select(child, rest, out);
            }
        }
        Step::Index(i) => {
            if let Some(child) = node.as_seq().get(*i) {
                select(child, rest, out);
            }
        }
        Step::Each => node.as_seq().iter().for_each(|child| select(child, rest, out)),
    }
}
