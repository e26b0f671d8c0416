//! A compact JSON writer for serde values that writes, byte for byte, what
//! `serde_json::to_writer` writes (tests hold it to that on every corpus
//! episode and on hostile values), only faster for the model's shapes:
//! struct keys are Rust field names, written as they are instead of being
//! scanned for escapes; strings are scanned for the bytes JSON escapes by
//! a loop the compiler vectorises; integers are formatted two digits at a
//! time. Floats are left to serde_json (its shortest round-trip form).
//!
//! serde_json took about a third of the time `analyze` spends on a dense
//! report, most of it on the 40 rows of its task table (issue 14).

use serde::ser::{self, Serialize};
use std::fmt;

/// Append `value` to `out` as compact JSON.
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut Writer { out })
}

/// A value serde_json can write and this writer cannot (a map key that is
/// not a string, a number or a unit variant), or a serializer's error.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        std::io::Error::other(e)
    }
}

struct Writer<'o> {
    out: &'o mut Vec<u8>,
}

/// Two decimal digits of every number below 100.
const DIGITS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    // One digit (a task table's many zeros) needs no buffer.
    if n < 10 {
        out.push(b'0' + n as u8);
        return;
    }
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    while n >= 100 {
        let d = (n % 100) as usize * 2;
        n /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&DIGITS[d..d + 2]);
    }
    if n >= 10 {
        let d = n as usize * 2;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&DIGITS[d..d + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + n as u8;
    }
    out.extend_from_slice(&buf[at..]);
}

fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

/// True for a byte JSON writes escaped.
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    if !bytes.iter().any(|&b| needs_escape(b)) {
        out.extend_from_slice(bytes);
    } else {
        let mut from = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if !needs_escape(b) {
                continue;
            }
            out.extend_from_slice(&bytes[from..i]);
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x09 => out.extend_from_slice(b"\\t"),
                0x0a => out.extend_from_slice(b"\\n"),
                0x0c => out.extend_from_slice(b"\\f"),
                0x0d => out.extend_from_slice(b"\\r"),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                }
            }
            from = i + 1;
        }
        out.extend_from_slice(&bytes[from..]);
    }
    out.push(b'"');
}

/// Narrower integers, written as their 64-bit selves.
macro_rules! widen {
    ($($method:ident($t:ty) => $wide:ident($w:ty)),*) => {$(
        fn $method(self, v: $t) -> Result<(), Error> {
            self.$wide(<$w>::from(v))
        }
    )*};
}

/// A sequence or map being written: whether a comma comes next.
pub struct Compound<'a, 'o> {
    w: &'a mut Writer<'o>,
    first: bool,
    /// Closing bytes: `]`, `}` or, for a variant, `]}`/`}}`.
    close: &'static [u8],
}

impl Compound<'_, '_> {
    #[inline(always)]
    fn comma(&mut self) {
        if !self.first {
            self.w.out.push(b',');
        }
        self.first = false;
    }

    // Inlined so that each field's name is a constant at its call: then
    // its copy needs no call to memcpy.
    #[inline(always)]
    fn key(&mut self, key: &'static str) {
        // A field name: an identifier serde's derive wrote, with nothing to
        // escape (checked in debug builds).
        debug_assert!(!key.bytes().any(needs_escape));
        self.comma();
        let out = &mut *self.w.out;
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
    }

    fn end(self) {
        self.w.out.extend_from_slice(self.close);
    }
}

impl<'a, 'o> Writer<'o> {
    fn compound(&'a mut self, open: &[u8], close: &'static [u8]) -> Compound<'a, 'o> {
        self.out.extend_from_slice(open);
        Compound {
            w: self,
            first: true,
            close,
        }
    }

    /// `{"variant":` before a variant's content.
    fn variant(&mut self, variant: &'static str) {
        self.out.push(b'{');
        push_str(self.out, variant);
        self.out.push(b':');
    }
}

impl<'a, 'o> ser::Serializer for &'a mut Writer<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'o>;
    type SerializeTuple = Compound<'a, 'o>;
    type SerializeTupleStruct = Compound<'a, 'o>;
    type SerializeTupleVariant = Compound<'a, 'o>;
    type SerializeMap = Compound<'a, 'o>;
    type SerializeStruct = Compound<'a, 'o>;
    type SerializeStructVariant = Compound<'a, 'o>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    widen!(
        serialize_i8(i8) => serialize_i64(i64),
        serialize_i16(i16) => serialize_i64(i64),
        serialize_i32(i32) => serialize_i64(i64),
        serialize_u8(u8) => serialize_u64(u64),
        serialize_u16(u16) => serialize_u64(u64),
        serialize_u32(u32) => serialize_u64(u64)
    );
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        push_i64(self.out, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.out.extend_from_slice(v.to_string().as_bytes());
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        push_u64(self.out, v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.out.extend_from_slice(v.to_string().as_bytes());
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        serde_json::to_writer(&mut *self.out, &v).map_err(ser::Error::custom)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        serde_json::to_writer(&mut *self.out, &v).map_err(ser::Error::custom)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        push_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        push_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        let mut seq = self.compound(b"[", b"]");
        for &b in v {
            seq.comma();
            push_u64(seq.w.out, u64::from(b));
        }
        seq.end();
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.variant(variant);
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a, 'o>, Error> {
        Ok(self.compound(b"[", b"]"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'a, 'o>, Error> {
        Ok(self.compound(b"[", b"]"))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a, 'o>, Error> {
        Ok(self.compound(b"[", b"]"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a, 'o>, Error> {
        self.variant(variant);
        Ok(self.compound(b"[", b"]}"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a, 'o>, Error> {
        Ok(self.compound(b"{", b"}"))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a, 'o>, Error> {
        Ok(self.compound(b"{", b"}"))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a, 'o>, Error> {
        self.variant(variant);
        Ok(self.compound(b"{", b"}}"))
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.comma();
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

/// The tuple shapes: written as sequences.
macro_rules! as_seq {
    ($($tr:ident :: $method:ident),*) => {$(
        impl ser::$tr for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                ser::SerializeSeq::serialize_element(self, value)
            }
            fn end(self) -> Result<(), Error> {
                Compound::end(self);
                Ok(())
            }
        }
    )*};
}

as_seq!(
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        key.serialize(MapKey { out: &mut *self.w.out })?;
        self.w.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    #[inline(always)]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.key(key);
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

/// A map key: JSON keys are strings, so numbers (finite floats too) are
/// quoted, as serde_json does; anything else is an error.
struct MapKey<'o> {
    out: &'o mut Vec<u8>,
}

impl MapKey<'_> {
    fn quoted(self, digits: impl FnOnce(&mut Vec<u8>)) -> Result<(), Error> {
        self.out.push(b'"');
        digits(self.out);
        self.out.push(b'"');
        Ok(())
    }
}

impl MapKey<'_> {
    /// A finite float, quoted in serde_json's form; others are errors.
    fn float<T: Serialize>(self, finite: bool, v: &T) -> Result<(), Error> {
        if !finite {
            return Err(Error("float key must be finite".to_owned()));
        }
        let text = serde_json::to_string(v).map_err(ser::Error::custom)?;
        self.quoted(|o| o.extend_from_slice(text.as_bytes()))
    }
}

fn key_must_be_a_string() -> Error {
    Error("key must be a string".to_owned())
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        push_str(self.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        push_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.serialize_str(if v { "true" } else { "false" })
    }
    widen!(
        serialize_i8(i8) => serialize_i64(i64),
        serialize_i16(i16) => serialize_i64(i64),
        serialize_i32(i32) => serialize_i64(i64),
        serialize_u8(u8) => serialize_u64(u64),
        serialize_u16(u16) => serialize_u64(u64),
        serialize_u32(u32) => serialize_u64(u64)
    );
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.quoted(|o| push_i64(o, v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.quoted(|o| push_u64(o, v))
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.quoted(|o| o.extend_from_slice(v.to_string().as_bytes()))
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.quoted(|o| o.extend_from_slice(v.to_string().as_bytes()))
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.float(v.is_finite(), &v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.float(v.is_finite(), &v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn same<T: Serialize + ?Sized>(v: &T) {
        let mut ours = Vec::new();
        write(&mut ours, v).unwrap();
        let theirs = serde_json::to_vec(v).unwrap();
        assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs));
    }

    #[test]
    fn numbers_as_serde_json_writes_them() {
        for n in [
            0u64,
            1,
            9,
            10,
            99,
            100,
            101,
            999,
            1000,
            12345,
            9_223_372_036_854_771_712,
            u64::MAX,
        ] {
            same(&n);
        }
        for n in [0i64, -1, -9, -10, -100, 42, i64::MIN, i64::MAX] {
            same(&n);
        }
        for f in [
            0.0f64,
            -0.0,
            1.5,
            100.0,
            1e21,
            1e-7,
            123456.789012,
            f64::NAN,
            f64::INFINITY,
            f64::MAX,
        ] {
            same(&f);
        }
        same(&(
            u8::MAX,
            i8::MIN,
            u16::MAX,
            i16::MIN,
            u32::MAX,
            i32::MIN,
            1.5f32,
            u128::MAX,
            i128::MIN,
        ));
    }

    #[test]
    fn strings_as_serde_json_writes_them() {
        let every_ascii: String = (0u8..0x80).map(char::from).collect();
        for s in [
            "",
            "plain",
            "quote\" backslash\\ slash/",
            "\u{7f}\u{80}\u{9f}é€😀",
            "\u{202e}bidi",
            every_ascii.as_str(),
        ] {
            same(s);
            same(&Some(s));
            let mut m = BTreeMap::new();
            m.insert(s.to_owned(), 1u8);
            same(&m);
        }
        same(&'"');
        same(&b"bytes\x00"[..]);
    }

    #[derive(serde::Serialize)]
    enum E {
        Unit,
        New(u8),
        Tuple(u8, &'static str),
        Struct { a: Option<u8>, b: Vec<u8> },
    }

    #[test]
    fn shapes_as_serde_json_writes_them() {
        same(&vec![
            E::Unit,
            E::New(1),
            E::Tuple(2, "x"),
            E::Struct { a: None, b: vec![3, 4] },
        ]);
        same(&((), Some(()), Vec::<u8>::new(), BTreeMap::<u32, bool>::new()));
        let mut m = BTreeMap::new();
        m.insert(7u32, vec![true, false]);
        m.insert(8u32, vec![]);
        same(&m);
        same(&BTreeMap::from([(true, 1u8), (false, 0)]));
        same(&BTreeMap::from([('k', 1u8)]));
        same(&BTreeMap::from([(-5i64, 1u8)]));
        same(&BTreeMap::from([(u128::MAX, 1u8)]));
        same(&BTreeMap::from([(i128::MIN, 1u8)]));
        let float_keys: Vec<(f64, u8)> = vec![(1.1, 1), (-0.0, 2), (3.5e10, 3), (1e-7, 4)];
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for (k, v) in &float_keys {
            use serde::ser::SerializeMap;
            let mut w = Writer { out: &mut ours };
            let mut m = ser::Serializer::serialize_map(&mut w, Some(1)).unwrap();
            m.serialize_entry(k, v).unwrap();
            SerializeMap::end(m).unwrap();
            let mut s = serde_json::Serializer::new(&mut theirs);
            let mut m = ser::Serializer::serialize_map(&mut s, Some(1)).unwrap();
            m.serialize_entry(k, v).unwrap();
            SerializeMap::end(m).unwrap();
            let mut w = Writer { out: &mut ours };
            let mut m32 = ser::Serializer::serialize_map(&mut w, Some(1)).unwrap();
            m32.serialize_entry(&(*k as f32), v).unwrap();
            SerializeMap::end(m32).unwrap();
            let mut s = serde_json::Serializer::new(&mut theirs);
            let mut m32 = ser::Serializer::serialize_map(&mut s, Some(1)).unwrap();
            m32.serialize_entry(&(*k as f32), v).unwrap();
            SerializeMap::end(m32).unwrap();
        }
        assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs));
    }

    #[test]
    fn every_corpus_episode_as_serde_json_writes_it() {
        let mut n = 0;
        for p in crate::corpus_files() {
            let name = p.to_string_lossy();
            // A recording's outcomes over time (`.over-time`, `.sweep`) are rows, not episodes.
            if name.ends_with(".expected.jsonl")
                && !name.ends_with(".over-time.expected.jsonl")
                && !name.ends_with(".sweep.expected.jsonl")
            {
                for line in std::fs::read_to_string(&p).unwrap().lines() {
                    let ep: crate::model::Episode = serde_json::from_str(line).unwrap();
                    same(&ep);
                    n += 1;
                }
            }
        }
        assert!(n > 100, "{n} episodes");
    }
}
