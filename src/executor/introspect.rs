//! The field names of a serde struct, read by asking it to deserialize itself from a
//! deserializer that only listens (for tests that every key of a step kind is covered).

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// The names a struct deriving `Deserialize` accepts (after renames).
pub(crate) fn fields<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut listener = Listener(None);
    let _ = T::deserialize(&mut listener);
    listener.0.unwrap_or(&[])
}

struct Listener(Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for &mut Listener {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only listening"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0 = Some(fields);
        Err(de::Error::custom("only listening"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}
