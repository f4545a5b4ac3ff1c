//! Typed rule options. A rule declares each option it understands as a constant
//! [`Opt`] (its name and, through its type, its kind: a boolean, a string or a list
//! of strings) and lists them in [`super::rule::Rule::options`]. The policy loader
//! checks every option of `[rules.ID]` against that list when `policies/*.toml` is
//! read; the rule reads the checked value back through the same constant.
//!
//! ```ignore
//! const REQUIRE_DIGEST: Opt<bool> = Opt::new("require-digest");
//! let strict = cx.config.get(REQUIRE_DIGEST).copied().unwrap_or(false);
//! ```

use std::marker::PhantomData;

/// What an option holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OptionKind {
    Bool,
    Text,
    List,
}

impl OptionKind {
    /// How a message names it: "`require-digest` must be a boolean".
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Bool => "a boolean (true or false)",
            Self::Text => "a string",
            Self::List => "a list of strings",
        }
    }
}

/// An option as a rule declares it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Declared {
    pub(crate) name: &'static str,
    pub(crate) kind: OptionKind,
    /// Checks a value beyond its type (a pattern that must parse), when the policy loads.
    pub(crate) check: Option<CheckValue>,
}

/// A check of an option's value beyond its type; the error says what is wrong.
pub(crate) type CheckValue = fn(&OptionValue) -> Result<(), String>;

/// A checked option value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum OptionValue {
    Bool(bool),
    Text(String),
    List(Vec<String>),
}

impl OptionValue {
    /// `value` as an option of `kind`, or `None` when it has another type.
    pub(crate) fn parse(kind: OptionKind, value: &toml::Value) -> Option<Self> {
        match kind {
            OptionKind::Bool => value.as_bool().map(Self::Bool),
            OptionKind::Text => value.as_str().map(|s| Self::Text(s.to_owned())),
            OptionKind::List => value
                .as_array()?
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(Self::List),
        }
    }
}

/// The Rust type of an option's value.
pub(crate) trait OptionType {
    const KIND: OptionKind;
    fn from_value(value: &OptionValue) -> Option<&Self>;
}

impl OptionType for bool {
    const KIND: OptionKind = OptionKind::Bool;
    fn from_value(value: &OptionValue) -> Option<&Self> {
        match value {
            OptionValue::Bool(b) => Some(b),
            _ => None,
        }
    }
}

impl OptionType for String {
    const KIND: OptionKind = OptionKind::Text;
    fn from_value(value: &OptionValue) -> Option<&Self> {
        match value {
            OptionValue::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl OptionType for Vec<String> {
    const KIND: OptionKind = OptionKind::List;
    fn from_value(value: &OptionValue) -> Option<&Self> {
        match value {
            OptionValue::List(items) => Some(items),
            _ => None,
        }
    }
}

/// A rule option of type `T`: declare it once as a constant, list its
/// [`Opt::declared`] in the rule's options, read it with `RuleConfig::get`.
pub(crate) struct Opt<T> {
    name: &'static str,
    kind: PhantomData<fn() -> T>,
}

impl<T> Clone for Opt<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Opt<T> {}

impl<T: OptionType> Opt<T> {
    pub(crate) const fn new(name: &'static str) -> Self {
        Self {
            name,
            kind: PhantomData,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        self.name
    }

    pub(crate) const fn declared(self) -> Declared {
        Declared {
            name: self.name,
            kind: T::KIND,
            check: None,
        }
    }

    /// Declared with a check of its values, run when the policy loads.
    pub(crate) const fn checked(self, check: CheckValue) -> Declared {
        Declared {
            name: self.name,
            kind: T::KIND,
            check: Some(check),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_the_wrong_type_are_refused() {
        let list = toml::Value::Array(vec!["a".into(), "b".into()]);
        assert_eq!(
            OptionValue::parse(OptionKind::List, &list),
            Some(OptionValue::List(vec!["a".into(), "b".into()]))
        );
        assert_eq!(OptionValue::parse(OptionKind::Bool, &"false".into()), None);
        assert_eq!(
            OptionValue::parse(OptionKind::List, &toml::Value::Array(vec![1.into()])),
            None
        );
        assert_eq!(
            OptionValue::parse(OptionKind::Text, &"x".into()),
            Some(OptionValue::Text("x".into()))
        );
    }
}
