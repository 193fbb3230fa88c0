//! `Option<T>` -> `Nullable(T)`, `Vec<T>` -> `Array(T)`, maps -> `Map(K, V)`.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};

use super::extra_fields::UnknownField;
use super::{ColumnValue, FieldOptions, KeyColumn, NonFiniteFloat, NullableColumn, mismatch};
use crate::schema::payload::{self, PayloadError};
use crate::schema::rowbinary::write_varint;
use crate::schema::{ColumnType, EncodeError};

impl<T: NullableColumn> ColumnValue for Option<T> {
    const NEEDS_DECIMAL: bool = T::NEEDS_DECIMAL;

    fn column_type(options: &FieldOptions) -> ColumnType {
        ColumnType::nullable(T::column_type(options))
    }

    #[inline]
    fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let ColumnType::Nullable(inner) = ty.physical() else {
            return Err(mismatch("Option", ty));
        };
        match self {
            None => {
                out.push(1);
                Ok(())
            }
            Some(value) => {
                out.push(0);
                value.write_row_binary(inner, out)
            }
        }
    }

    #[inline]
    fn write_payload(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(value) => {
                out.push(1);
                value.write_payload(out);
            }
        }
    }

    #[inline]
    fn read_payload(input: &mut &[u8]) -> Result<Self, PayloadError> {
        if payload::read_flag(input, "an Option")? {
            T::read_payload(input).map(Some)
        } else {
            Ok(None)
        }
    }

    #[inline]
    fn first_non_finite(&self) -> Option<NonFiniteFloat> {
        self.as_ref()?.first_non_finite()
    }

    fn unknown_fields(json: &serde_json::Value, path: &str, out: &mut Vec<UnknownField>) {
        T::unknown_fields(json, path, out);
    }
}

impl<T: ColumnValue> ColumnValue for Vec<T> {
    const NEEDS_DECIMAL: bool = T::NEEDS_DECIMAL;

    fn column_type(options: &FieldOptions) -> ColumnType {
        ColumnType::array(T::column_type(options))
    }

    #[inline]
    fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let ColumnType::Array(inner) = ty.physical() else {
            return Err(mismatch("Vec", ty));
        };
        write_varint(self.len() as u64, out);
        for item in self {
            item.write_row_binary(inner, out)?;
        }
        Ok(())
    }

    fn write_payload(&self, out: &mut Vec<u8>) {
        payload::write_len(self.len(), out);
        for item in self {
            item.write_payload(out);
        }
    }

    fn read_payload(input: &mut &[u8]) -> Result<Self, PayloadError> {
        let len = payload::read_len(input, "a Vec")?;
        (0..len).map(|_| T::read_payload(input)).collect()
    }

    fn first_non_finite(&self) -> Option<NonFiniteFloat> {
        self.iter()
            .enumerate()
            .find_map(|(i, item)| Some(item.first_non_finite()?.at_index(i)))
    }

    fn unknown_fields(json: &serde_json::Value, path: &str, out: &mut Vec<UnknownField>) {
        if let serde_json::Value::Array(items) = json {
            for (i, item) in items.iter().enumerate() {
                T::unknown_fields(item, &format!("{path}[{i}]"), out);
            }
        }
    }
}
impl<T: KeyColumn> KeyColumn for Vec<T> {}

fn write_map<'a, K, V>(
    len: usize,
    entries: impl Iterator<Item = (&'a K, &'a V)>,
    ty: &ColumnType,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError>
where
    K: ColumnValue + 'a,
    V: ColumnValue + 'a,
{
    let ColumnType::Map(key_ty, value_ty) = ty.physical() else {
        return Err(mismatch("map", ty));
    };
    write_varint(len as u64, out);
    for (key, value) in entries {
        key.write_row_binary(key_ty, out)?;
        value.write_row_binary(value_ty, out)?;
    }
    Ok(())
}

fn write_map_payload<'a, K, V>(
    len: usize,
    entries: impl Iterator<Item = (&'a K, &'a V)>,
    out: &mut Vec<u8>,
) where
    K: ColumnValue + 'a,
    V: ColumnValue + 'a,
{
    payload::write_len(len, out);
    for (key, value) in entries {
        key.write_payload(out);
        value.write_payload(out);
    }
}

fn read_map_payload<K: ColumnValue, V: ColumnValue, M: FromIterator<(K, V)>>(
    input: &mut &[u8],
) -> Result<M, PayloadError> {
    let len = payload::read_len(input, "a map")?;
    (0..len)
        .map(|_| Ok((K::read_payload(input)?, V::read_payload(input)?)))
        .collect()
}

/// The first non-finite float among a map's values, in iteration order (serde's).
fn map_non_finite<'a, K, V>(
    mut entries: impl Iterator<Item = (&'a K, &'a V)>,
) -> Option<NonFiniteFloat>
where
    K: ColumnValue + 'a,
    V: ColumnValue + 'a,
{
    entries.find_map(|(key, value)| Some(value.first_non_finite()?.at_key(key)))
}

/// The unknown fields in a map's values.
fn map_unknown_fields<V: ColumnValue>(
    json: &serde_json::Value,
    path: &str,
    out: &mut Vec<UnknownField>,
) {
    if let serde_json::Value::Object(entries) = json {
        for (key, value) in entries {
            V::unknown_fields(value, &format!("{path}.{key}"), out);
        }
    }
}

impl<K: KeyColumn + Eq + Hash, V: ColumnValue, S: BuildHasher + Default> ColumnValue
    for HashMap<K, V, S>
{
    const NEEDS_DECIMAL: bool = V::NEEDS_DECIMAL;

    fn column_type(options: &FieldOptions) -> ColumnType {
        ColumnType::Map(
            Box::new(K::column_type(&FieldOptions::default())),
            Box::new(V::column_type(options)),
        )
    }

    fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write_map(self.len(), self.iter(), ty, out)
    }

    fn write_payload(&self, out: &mut Vec<u8>) {
        write_map_payload(self.len(), self.iter(), out);
    }

    fn read_payload(input: &mut &[u8]) -> Result<Self, PayloadError> {
        read_map_payload(input)
    }

    fn first_non_finite(&self) -> Option<NonFiniteFloat> {
        map_non_finite(self.iter())
    }

    fn unknown_fields(json: &serde_json::Value, path: &str, out: &mut Vec<UnknownField>) {
        map_unknown_fields::<V>(json, path, out);
    }
}

impl<K: KeyColumn + Ord, V: ColumnValue> ColumnValue for BTreeMap<K, V> {
    const NEEDS_DECIMAL: bool = V::NEEDS_DECIMAL;

    fn column_type(options: &FieldOptions) -> ColumnType {
        ColumnType::Map(
            Box::new(K::column_type(&FieldOptions::default())),
            Box::new(V::column_type(options)),
        )
    }

    fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write_map(self.len(), self.iter(), ty, out)
    }

    fn write_payload(&self, out: &mut Vec<u8>) {
        write_map_payload(self.len(), self.iter(), out);
    }

    fn read_payload(input: &mut &[u8]) -> Result<Self, PayloadError> {
        read_map_payload(input)
    }

    fn first_non_finite(&self) -> Option<NonFiniteFloat> {
        map_non_finite(self.iter())
    }

    fn unknown_fields(json: &serde_json::Value, path: &str, out: &mut Vec<UnknownField>) {
        map_unknown_fields::<V>(json, path, out);
    }
}

impl<T: ColumnValue> ColumnValue for Box<T> {
    const NEEDS_DECIMAL: bool = T::NEEDS_DECIMAL;

    fn column_type(options: &FieldOptions) -> ColumnType {
        T::column_type(options)
    }

    fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        (**self).write_row_binary(ty, out)
    }

    fn write_payload(&self, out: &mut Vec<u8>) {
        (**self).write_payload(out);
    }

    fn read_payload(input: &mut &[u8]) -> Result<Self, PayloadError> {
        T::read_payload(input).map(Box::new)
    }

    fn first_non_finite(&self) -> Option<NonFiniteFloat> {
        (**self).first_non_finite()
    }

    fn unknown_fields(json: &serde_json::Value, path: &str, out: &mut Vec<UnknownField>) {
        T::unknown_fields(json, path, out);
    }
}
impl<T: NullableColumn> NullableColumn for Box<T> {}
impl<T: KeyColumn> KeyColumn for Box<T> {}
