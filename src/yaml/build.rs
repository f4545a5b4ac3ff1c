//! The owned tree built straight from saphyr-parser's events, by the rules of
//! saphyr's loader: scalars resolved by the core schema, tags outside it kept only as
//! part of a key's identity, aliases copied within a budget, duplicate keys an error.
//! Without saphyr's own tree in between: building a second tree of every document and
//! converting it was 40% of the time of a half-megabyte lock file.

use std::collections::HashMap;

use saphyr::Scalar;
use saphyr_parser::{Event, Marker};

use super::node::{Kind, Node, Pos, SyntaxError};
use super::parse::Offsets;

/// What the tree does not keep of a node but saphyr's loader compares keys by: a
/// tag outside the core schema, and a value that its core tag rejects (`!!int x`,
/// null in the tree).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Flags {
    /// A hash of the tag outside the core schema (0: none).
    tag: u64,
    bad: bool,
}

/// [`Flags::tag`] of `tag`.
fn tag_id(tag: Option<&std::borrow::Cow<'_, saphyr_parser::Tag>>) -> u64 {
    use std::hash::BuildHasher as _;
    match tag {
        Some(t) if !t.is_yaml_core_schema() => {
            foldhash::fast::FixedState::default().hash_one((&t.handle, &t.suffix)) | 1
        }
        _ => 0,
    }
}

/// A collection being built.
struct Open {
    node: Node,
    anchor: usize,
    start: Marker,
    tag: u64,
    /// A mapping's key waiting for its value, and where its event began.
    key: Option<(Node, Flags, Marker)>,
    /// The flags of a mapping's keys, in order.
    key_flags: Vec<Flags>,
    /// A mapping's keys by hash, once it has enough of them that comparing a new
    /// key with each would cost more.
    by_hash: Option<HashMap<u64, Vec<usize>>>,
}

/// Mappings with more keys than this find duplicates through [`Open::by_hash`].
const LINEAR_KEYS: usize = 16;

/// How many nodes aliases may copy in a file, as saphyr's loader allows.
const ALIAS_BUDGET: usize = 100_000;

/// Builds the owned tree straight from the parser's events: the rules of saphyr's
/// loader (scalars resolved by the core schema, tags outside it kept only as "not
/// the same key", aliases copied within a budget, duplicate keys an error) without
/// its tree in between (a second tree of every document, and its conversion, were
/// 40% of the time of a half-megabyte lock file).
pub(super) struct Builder<'t> {
    offsets: &'t Offsets<'t>,
    pub(super) docs: Vec<Node>,
    stack: Vec<Open>,
    root: Option<Node>,
    anchors: HashMap<usize, (Node, Flags)>,
    alias_budget: usize,
}

/// A key's value, hashed as the loader compares it (positions left out).
fn key_hash(node: &Node, flags: Flags) -> u64 {
    use std::hash::{BuildHasher as _, Hash as _, Hasher as _};
    let mut h = foldhash::fast::FixedState::default().build_hasher();
    (flags.tag, flags.bad).hash(&mut h);
    match &node.kind {
        Kind::Null => 0u8.hash(&mut h),
        Kind::Bool(b) => (1u8, b).hash(&mut h),
        Kind::Int(i) => (2u8, i).hash(&mut h),
        Kind::Float(f) => (3u8, if f.is_nan() { u64::MAX } else { (f + 0.0).to_bits() }).hash(&mut h),
        Kind::Str(s) => (4u8, s).hash(&mut h),
        Kind::Seq(items) => (5u8, items.len()).hash(&mut h),
        Kind::Map(entries) => (6u8, entries.len()).hash(&mut h),
    }
    h.finish()
}

/// Whether two nodes have the same value, positions left out (floats as ordered
/// floats: NaN is NaN).
#[allow(clippy::float_cmp)] // the same key, not a near one
fn same_value(a: &Node, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (Kind::Float(x), Kind::Float(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Kind::Seq(x), Kind::Seq(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b)),
        (Kind::Map(x), Kind::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| same_value(ka, kb) && same_value(va, vb))
        }
        (x, y) => x == y,
    }
}

/// Whether copying `node` stays within `budget` nodes (counted as saphyr's loader
/// counts them: each node, and each entry of a mapping), taking them from it.
fn within_budget(node: &Node, budget: &mut usize) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    match &node.kind {
        Kind::Seq(items) => items.iter().all(|i| within_budget(i, budget)),
        Kind::Map(entries) => entries.iter().all(|(_, v)| {
            if *budget == 0 {
                return false;
            }
            *budget -= 1;
            within_budget(v, budget)
        }),
        _ => true,
    }
}

impl<'t> Builder<'t> {
    pub(super) fn new(offsets: &'t Offsets<'t>) -> Self {
        Self {
            offsets,
            docs: Vec::new(),
            stack: Vec::new(),
            root: None,
            anchors: HashMap::new(),
            alias_budget: ALIAS_BUDGET,
        }
    }

    fn error(&self, mark: Marker, message: &str) -> SyntaxError {
        SyntaxError {
            message: message.to_owned(),
            pos: self.offsets.at(mark),
        }
    }

    pub(super) fn on_event(
        &mut self,
        event: Event<'_>,
        span: saphyr_parser::Span,
    ) -> Result<(), SyntaxError> {
        let mark = span.start;
        match event {
            Event::DocumentStart(_) => self.anchors.clear(),
            Event::DocumentEnd => {
                let doc = self.root.take().unwrap_or_else(|| Node {
                    pos: self.offsets.pos(span),
                    kind: Kind::Null,
                });
                self.docs.push(doc);
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                let kind = if matches!(event, Event::SequenceStart(..)) {
                    Kind::Seq(Vec::new())
                } else {
                    Kind::Map(Vec::new())
                };
                self.stack.push(Open {
                    node: Node {
                        pos: Pos::default(),
                        kind,
                    },
                    anchor,
                    start: mark,
                    tag: tag_id(tag.as_ref()),
                    key: None,
                    key_flags: Vec::new(),
                    by_hash: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(open) = self.stack.pop() else {
                    return Ok(());
                };
                let start = self.offsets.at(open.start);
                let end = self.offsets.byte(mark.index()).max(start.start);
                let node = Node {
                    pos: Pos { end, ..start },
                    kind: open.node.kind,
                };
                let flags = Flags {
                    tag: open.tag,
                    bad: false,
                };
                self.insert(node, flags, open.anchor, mark)?;
            }
            Event::Scalar(value, style, anchor, tag) => {
                let tag_id = tag_id(tag.as_ref());
                let scalar = if tag_id != 0 {
                    Scalar::parse_from_cow_and_metadata(value, style, None)
                } else {
                    Scalar::parse_from_cow_and_metadata(value, style, tag.as_ref())
                };
                // Rejected by its core tag (`!!int x`): null in the tree, saphyr's
                // `BadValue`, which is not the same key as a null.
                let bad = scalar.is_none();
                let kind = match scalar {
                    Some(Scalar::String(s)) => Kind::Str(s.into_owned()),
                    Some(Scalar::Boolean(b)) => Kind::Bool(b),
                    Some(Scalar::Integer(i)) => Kind::Int(i),
                    Some(Scalar::FloatingPoint(f)) => Kind::Float(f.into_inner()),
                    Some(Scalar::Null) | None => Kind::Null,
                };
                let flags = Flags { tag: tag_id, bad };
                let node = Node {
                    pos: self.offsets.pos(span),
                    kind,
                };
                self.insert(node, flags, anchor, mark)?;
            }
            Event::Alias(id) => {
                let Some((node, flags)) = self.anchors.get(&id) else {
                    return Err(self.error(mark, "while parsing node, found unknown anchor"));
                };
                let mut budget = self.alias_budget;
                if !within_budget(node, &mut budget) {
                    return Err(self.error(
                        mark,
                        "alias expansion exceeded the maximum node budget (possible billion-laughs attack)",
                    ));
                }
                self.alias_budget = budget;
                let (mut node, flags) = (node.clone(), *flags);
                node.pos = self.offsets.pos(span);
                self.insert(node, flags, 0, mark)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
        Ok(())
    }

    /// A complete node: into its collection, or the document's root.
    fn insert(&mut self, node: Node, flags: Flags, anchor: usize, mark: Marker) -> Result<(), SyntaxError> {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), flags));
        }
        let Some(parent) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        match &mut parent.node.kind {
            Kind::Seq(items) => items.push(node),
            Kind::Map(entries) => match parent.key.take() {
                None => parent.key = Some((node, flags, mark)),
                Some((key, key_flags, key_mark)) => {
                    let duplicate =
                        |i: &usize| parent.key_flags[*i] == key_flags && same_value(&entries[*i].0, &key);
                    let found = if entries.len() < LINEAR_KEYS {
                        (0..entries.len()).any(|i| duplicate(&i))
                    } else {
                        let hash = key_hash(&key, key_flags);
                        let by_hash = parent.by_hash.get_or_insert_with(|| {
                            let mut map: HashMap<u64, Vec<usize>> = HashMap::new();
                            for (i, (k, _)) in entries.iter().enumerate() {
                                map.entry(key_hash(k, parent.key_flags[i])).or_default().push(i);
                            }
                            map
                        });
                        let found = by_hash.get(&hash).is_some_and(|same| same.iter().any(duplicate));
                        by_hash.entry(hash).or_default().push(entries.len());
                        found
                    };
                    if found {
                        return Err(self.error(key_mark, "duplicated key in mapping"));
                    }
                    parent.key_flags.push(key_flags);
                    entries.push((key, node));
                }
            },
            _ => unreachable!("only collections are open"),
        }
        Ok(())
    }
}
