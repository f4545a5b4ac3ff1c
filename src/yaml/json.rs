//! YAML documents as JSON values (rendered manifests, for the Kubernetes API).

use serde_json::{Map, Value};

use super::{Kind, Node, load};

/// Every non-empty document of a multi-document YAML stream, as JSON.
pub fn documents(text: &str) -> Result<Vec<Value>, String> {
    let docs = load(text).map_err(|e| format!("line {}:{}: {}", e.pos.line, e.pos.column, e.message))?;
    Ok(docs.iter().map(to_json).filter(|v| !v.is_null()).collect())
}

fn to_json(node: &Node) -> Value {
    match &node.kind {
        Kind::Null => Value::Null,
        Kind::Bool(b) => Value::Bool(*b),
        Kind::Int(i) => Value::from(*i),
        Kind::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Kind::Str(s) => Value::String(s.clone()),
        Kind::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        Kind::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.scalar_text().unwrap_or_default(), to_json(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}
