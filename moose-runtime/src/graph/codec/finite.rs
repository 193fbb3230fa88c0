//! Finds a non-finite float in a decoded record.
//!
//! JSON has no infinity or NaN, and a number too large for an `f32` field (`1e39`) decodes
//! as infinity (serde casts the parsed `f64`). Re-encoded for the stream, serde_json writes
//! it as `null`, which no longer decodes as the model: the record would be acknowledged and
//! then never reach its table. Ingest refuses such records instead; this walks a record's
//! `Serialize` form, without building any output, to find the first offending float.

use serde::Serialize;
use serde::ser::{self, Impossible};

/// The JSON path (`.ratio`, `.scores[3]`, `.place.zip`) and Rust type of the first float in
/// `value` that is infinite or NaN.
pub(super) fn first_non_finite<T: Serialize + ?Sized>(value: &T) -> Option<(String, &'static str)> {
    let mut walk = Walk::default();
    match value.serialize(&mut walk) {
        Err(Stop::NonFinite(ty)) => Some((walk.path(), ty)),
        _ => None,
    }
}

#[derive(Default)]
struct Walk {
    path: Vec<Segment>,
}

enum Segment {
    Field(&'static str),
    Index(usize),
    Key(String),
}

impl Walk {
    fn path(&self) -> String {
        if self.path.is_empty() {
            return ".".into();
        }
        let mut out = String::new();
        for segment in &self.path {
            match segment {
                Segment::Field(name) => {
                    out.push('.');
                    out.push_str(name);
                }
                Segment::Key(key) => {
                    out.push('.');
                    out.push_str(key);
                }
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    fn float(value: f64, ty: &'static str) -> Result<(), Stop> {
        if value.is_finite() {
            Ok(())
        } else {
            Err(Stop::NonFinite(ty))
        }
    }

    /// Visits `value` under `segment`; the segment stays on the path if the walk stops there.
    fn nested<T: Serialize + ?Sized>(&mut self, segment: Segment, value: &T) -> Result<(), Stop> {
        self.path.push(segment);
        value.serialize(&mut *self)?;
        self.path.pop();
        Ok(())
    }
}

/// Why the walk stopped early.
#[derive(Debug)]
enum Stop {
    /// A non-finite float of this Rust type.
    NonFinite(&'static str),
    /// The value's own `Serialize` failed; the JSON encoding will report it.
    Other,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped")
    }
}

impl std::error::Error for Stop {}

impl ser::Error for Stop {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Stop::Other
    }
}

/// Scalars other than floats are fine.
macro_rules! accept {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, _: $ty) -> Result<(), Stop> { Ok(()) })*
    };
}

impl<'a> ser::Serializer for &'a mut Walk {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    accept!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str),
    );

    fn serialize_f32(self, v: f32) -> Result<(), Stop> {
        Walk::float(f64::from(v), "f32")
    }
    fn serialize_f64(self, v: f64) -> Result<(), Stop> {
        Walk::float(v, "f64")
    }
    fn serialize_none(self) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Stop> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        self.nested(Segment::Field(variant), value)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Stop> {
        Ok(Compound::new(self))
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'a>, Stop> {
        Ok(Compound::new(self))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Stop> {
        Ok(Compound::new(self))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Stop> {
        self.path.push(Segment::Field(variant));
        Ok(Compound::variant(self))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Stop> {
        Ok(Compound::new(self))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Stop> {
        Ok(Compound::new(self))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Stop> {
        self.path.push(Segment::Field(variant));
        Ok(Compound::variant(self))
    }
}

/// A sequence, tuple, map or struct being walked.
struct Compound<'a> {
    walk: &'a mut Walk,
    /// Next element index of a sequence or tuple.
    index: usize,
    /// The last map key, when it was a string (JSON keys are).
    key: Option<String>,
    /// Pushed a variant segment that `end` pops.
    variant: bool,
}

impl<'a> Compound<'a> {
    fn new(walk: &'a mut Walk) -> Self {
        Self {
            walk,
            index: 0,
            key: None,
            variant: false,
        }
    }

    fn variant(walk: &'a mut Walk) -> Self {
        Self {
            variant: true,
            ..Self::new(walk)
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        let index = self.index;
        self.index += 1;
        self.walk.nested(Segment::Index(index), value)
    }

    fn end(self) -> Result<(), Stop> {
        if self.variant {
            self.walk.path.pop();
        }
        Ok(())
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        self.element(value)
    }
    fn end(self) -> Result<(), Stop> {
        Compound::end(self)
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        self.element(value)
    }
    fn end(self) -> Result<(), Stop> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        self.element(value)
    }
    fn end(self) -> Result<(), Stop> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        self.element(value)
    }
    fn end(self) -> Result<(), Stop> {
        Compound::end(self)
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Stop> {
        self.key = key.serialize(KeyText).ok();
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        let key = self.key.take().unwrap_or_else(|| "?".into());
        self.walk.nested(Segment::Key(key), value)
    }
    fn end(self) -> Result<(), Stop> {
        Compound::end(self)
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        self.walk.nested(Segment::Field(name), value)
    }
    fn end(self) -> Result<(), Stop> {
        Compound::end(self)
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        self.walk.nested(Segment::Field(name), value)
    }
    fn end(self) -> Result<(), Stop> {
        Compound::end(self)
    }
}

/// The text of a string map key; anything else is not a JSON key and gets `?`.
struct KeyText;

macro_rules! not_text {
    ($($method:ident($($ty:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $ty),*) -> Result<String, Stop> { Err(Stop::Other) })*
    };
}

impl ser::Serializer for KeyText {
    type Ok = String;
    type Error = Stop;
    type SerializeSeq = Impossible<String, Stop>;
    type SerializeTuple = Impossible<String, Stop>;
    type SerializeTupleStruct = Impossible<String, Stop>;
    type SerializeTupleVariant = Impossible<String, Stop>;
    type SerializeMap = Impossible<String, Stop>;
    type SerializeStruct = Impossible<String, Stop>;
    type SerializeStructVariant = Impossible<String, Stop>;

    fn serialize_str(self, v: &str) -> Result<String, Stop> {
        Ok(v.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, Stop> {
        value.serialize(self)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<String, Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, Stop> {
        Err(Stop::Other)
    }
    not_text!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Stop> {
        Err(Stop::Other)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Stop> {
        Err(Stop::Other)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Stop> {
        Err(Stop::Other)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Stop> {
        Err(Stop::Other)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Stop> {
        Err(Stop::Other)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Stop> {
        Err(Stop::Other)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Stop> {
        Err(Stop::Other)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::first_non_finite;

    #[derive(Serialize)]
    struct Inner {
        zip: Option<f32>,
    }

    #[derive(Serialize)]
    struct Record {
        id: String,
        ratio: f64,
        narrow: f32,
        scores: Vec<f32>,
        by_name: BTreeMap<String, f32>,
        inner: Inner,
        maybe: Option<f32>,
    }

    fn record() -> Record {
        Record {
            id: "a".into(),
            ratio: 1e300,
            narrow: 3.4e38,
            scores: vec![1.0, 2.0],
            by_name: BTreeMap::from([("k".to_owned(), 1.0)]),
            inner: Inner { zip: Some(1.0) },
            maybe: None,
        }
    }

    #[test]
    fn finite_records_pass() {
        assert_eq!(first_non_finite(&record()), None);
    }

    #[test]
    fn the_first_non_finite_float_is_found_with_its_path() {
        /// Makes one float non-finite; the path and type the walk must report.
        type Damage = (fn(&mut Record), &'static str, &'static str);
        let cases: [Damage; 6] = [
            (|r| r.narrow = f32::INFINITY, ".narrow", "f32"),
            (|r| r.ratio = f64::NAN, ".ratio", "f64"),
            (|r| r.scores[1] = f32::NEG_INFINITY, ".scores[1]", "f32"),
            (
                |r| {
                    r.by_name.insert("k".into(), f32::INFINITY);
                },
                ".by_name.k",
                "f32",
            ),
            (|r| r.inner.zip = Some(f32::INFINITY), ".inner.zip", "f32"),
            (|r| r.maybe = Some(f32::NAN), ".maybe", "f32"),
        ];
        for (damage, path, ty) in cases {
            let mut r = record();
            damage(&mut r);
            assert_eq!(first_non_finite(&r), Some((path.to_owned(), ty)), "{path}");
        }
    }
}
