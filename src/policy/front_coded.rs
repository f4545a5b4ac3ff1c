//! Lists of paths in the lint index, front-coded: each path as the length of the
//! start it shares with the one before and the bytes after that. The index lists a
//! tree's paths in the order of their bytes, so neighbours share most of theirs
//! (`apps/web/deployment.yaml`, `apps/web/service.yaml`): a 10,000-manifest tree's
//! index went from 1 MB to a third of it, which a partial lint reads and decodes at
//! every commit. Any order decodes to itself; sorted ones only encode shorter.
//!
//! For `#[serde(with = "front_coded")]` on a `Vec<PathBuf>` (and [`option`] on an
//! `Option<Vec<PathBuf>>`).

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;

use serde::de::{Error as _, SeqAccess, Visitor};
use serde::ser::SerializeSeq as _;
use serde::{Deserializer, Serializer};

pub(crate) fn serialize<S: Serializer>(paths: &[PathBuf], serializer: S) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(paths.len()))?;
    let mut previous: &[u8] = &[];
    for path in paths {
        let bytes = path.as_os_str().as_bytes();
        let shared = previous.iter().zip(bytes).take_while(|(a, b)| a == b).count();
        let shared_len = u32::try_from(shared).map_err(serde::ser::Error::custom)?;
        seq.serialize_element(&(shared_len, serde_bytes_of(&bytes[shared..])))?;
        previous = bytes;
    }
    seq.end()
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<PathBuf>, D::Error> {
    deserializer.deserialize_seq(Paths)
}

/// A byte string as serde's bytes (not a sequence of numbers).
fn serde_bytes_of(bytes: &[u8]) -> Bytes<'_> {
    Bytes(bytes)
}

struct Bytes<'a>(&'a [u8]);

impl serde::Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

struct Paths;

impl<'de> Visitor<'de> for Paths {
    type Value = Vec<PathBuf>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a front-coded list of paths")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // Never trust a length read from the file for an allocation.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        let mut previous: Vec<u8> = Vec::new();
        while let Some((shared, rest)) = seq.next_element::<(u32, &'de [u8])>()? {
            let shared = usize::try_from(shared).map_err(A::Error::custom)?;
            if shared > previous.len() {
                return Err(A::Error::custom("a path shares more than the one before has"));
            }
            previous.truncate(shared);
            previous.extend_from_slice(rest);
            out.push(PathBuf::from(OsStr::from_bytes(&previous)));
        }
        Ok(out)
    }
}

/// [`serialize`] and [`deserialize`] for an optional list.
pub(crate) mod option {
    use super::{Deserializer, PathBuf, Serializer};

    #[expect(clippy::ref_option, reason = "the signature serde's `with` calls")]
    pub(crate) fn serialize<S: Serializer>(
        paths: &Option<Vec<PathBuf>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match paths {
            Some(paths) => serializer.serialize_some(&Wrapped(paths)),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<PathBuf>>, D::Error> {
        deserializer.deserialize_option(Optional)
    }

    struct Wrapped<'a>(&'a [PathBuf]);

    impl serde::Serialize for Wrapped<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            super::serialize(self.0, serializer)
        }
    }

    struct Optional;

    impl<'de> serde::de::Visitor<'de> for Optional {
        type Value = Option<Vec<PathBuf>>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an optional front-coded list of paths")
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            super::deserialize(deserializer).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Lists {
        #[serde(with = "super")]
        all: Vec<PathBuf>,
        #[serde(with = "super::option")]
        some: Option<Vec<PathBuf>>,
        #[serde(with = "super::option")]
        none: Option<Vec<PathBuf>>,
    }

    #[test]
    fn paths_come_back_as_they_went_in_any_order_and_sorted_ones_take_less() {
        let paths = |all: &[&str]| all.iter().map(PathBuf::from).collect::<Vec<_>>();
        let sorted = paths(&[
            "",
            "apps/web/deployment.yaml",
            "apps/web/service.yaml",
            "apps/web2/x.yaml",
            "apps/we",
            "z",
        ]);
        let lists = Lists {
            all: sorted.clone(),
            some: Some(paths(&["b/a.yaml", "a/b.yaml", "a/b.yaml", "ü/ñ.yaml"])),
            none: None,
        };
        let bytes = postcard::to_stdvec(&lists).unwrap();
        assert_eq!(postcard::from_bytes::<Lists>(&bytes).unwrap(), lists);
        let plain: usize = sorted.iter().map(|p| p.as_os_str().len()).sum();
        let coded = postcard::to_stdvec(&Lists {
            all: sorted,
            some: None,
            none: None,
        })
        .unwrap();
        assert!(
            coded.len() < plain,
            "{} bytes for {plain} bytes of paths",
            coded.len()
        );
    }

    #[test]
    fn a_path_that_shares_more_than_the_one_before_is_an_error() {
        // One path, said to share 3 bytes with the (empty) one before.
        let bytes = postcard::to_stdvec(&(1u8, (3u32, Bytes(b"x")))).unwrap();
        let mut de = postcard::Deserializer::from_bytes(&bytes);
        assert!(deserialize(&mut de).is_err());
    }
}
