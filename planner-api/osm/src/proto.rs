//! The Protocol Buffers wire format, as far as OpenStreetMap's PBF needs it: varints, zigzag
//! integers, length-delimited fields and packed repeated integers. Every read is bounds-checked
//! and every integer overflow is an error, never a panic.

/// A malformed message: what was wrong, for the caller to place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WireError(pub(crate) &'static str);

/// One field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1 (eight bytes, little-endian).
    Fixed64(u64),
    /// Wire type 2.
    Bytes(&'a [u8]),
    /// Wire type 5 (four bytes, little-endian).
    Fixed32(u32),
}

/// Reads the fields of one message in order.
#[derive(Clone, Debug)]
pub(crate) struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Fields<'a> {
        Fields { buf, pos: 0 }
    }

    fn byte(&mut self) -> Result<u8, WireError> {
        let b = *self.buf.get(self.pos).ok_or(WireError("a message ends inside a field"))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or(WireError("a field runs past the end of its message"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// The next field, `None` at the end of the message.
    pub(crate) fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>, WireError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = varint(self)?;
        let field = u32::try_from(key >> 3).map_err(|_| WireError("a field number is out of range"))?;
        if field == 0 {
            return Err(WireError("a field number is zero"));
        }
        let value = match key & 7 {
            0 => Value::Varint(varint(self)?),
            1 => Value::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().map_err(|_| WireError("a fixed64 is short"))?)),
            2 => {
                let n = usize::try_from(varint(self)?).map_err(|_| WireError("a length is out of range"))?;
                Value::Bytes(self.take(n)?)
            }
            5 => Value::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| WireError("a fixed32 is short"))?)),
            _ => return Err(WireError("a field has a wire type PBF does not use (groups or unknown)")),
        };
        Ok(Some((field, value)))
    }
}

/// A base-128 varint of at most ten bytes.
fn varint(f: &mut Fields<'_>) -> Result<u64, WireError> {
    let mut out: u64 = 0;
    for i in 0..10 {
        let b = f.byte()?;
        let bits = u64::from(b & 0x7f);
        if i == 9 && bits > 1 {
            return Err(WireError("a varint overflows 64 bits"));
        }
        out |= bits << (7 * i);
        if b & 0x80 == 0 {
            return Ok(out);
        }
    }
    Err(WireError("a varint is longer than ten bytes"))
}

/// A zigzag-encoded signed integer.
pub(crate) fn zigzag(v: u64) -> i64 {
    // The standard decoding: the low bit is the sign; the casts reinterpret bits on purpose.
    #[allow(clippy::cast_possible_wrap)]
    let out = ((v >> 1) as i64) ^ -((v & 1) as i64);
    out
}

impl Value<'_> {
    /// A varint field as an unsigned integer.
    pub(crate) fn uint(self) -> Result<u64, WireError> {
        match self {
            Value::Varint(v) => Ok(v),
            _ => Err(WireError("an integer field has another wire type")),
        }
    }

    /// A varint field as a two's-complement signed integer (`int32`, `int64`).
    pub(crate) fn int(self) -> Result<i64, WireError> {
        // Protobuf's int64 is the varint's bits reinterpreted.
        #[allow(clippy::cast_possible_wrap)]
        self.uint().map(|v| v as i64)
    }

    /// A varint field as a zigzag signed integer (`sint32`, `sint64`).
    pub(crate) fn sint(self) -> Result<i64, WireError> {
        self.uint().map(zigzag)
    }
}

impl<'a> Value<'a> {
    /// A length-delimited field's bytes (with the value's own lifetime).
    pub(crate) fn data(self) -> Result<&'a [u8], WireError> {
        match self {
            Value::Bytes(b) => Ok(b),
            _ => Err(WireError("a bytes field has another wire type")),
        }
    }
}

/// Appends a repeated integer field to `out`, packed (one length-delimited run) or not (one
/// varint).
pub(crate) fn push_repeated(value: Value<'_>, out: &mut Vec<u64>) -> Result<(), WireError> {
    match value {
        Value::Varint(v) => out.push(v),
        Value::Bytes(b) => {
            let mut f = Fields::new(b);
            while f.pos < b.len() {
                out.push(varint(&mut f)?);
            }
        }
        _ => return Err(WireError("a repeated integer field has another wire type")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_varints_zigzag_and_packed_runs() {
        // Field 1 varint 300, field 2 bytes "hi", field 3 packed [1, 150].
        let msg = [0x08, 0xac, 0x02, 0x12, 0x02, b'h', b'i', 0x1a, 0x03, 0x01, 0x96, 0x01];
        let mut f = Fields::new(&msg);
        assert_eq!(f.next_field(), Ok(Some((1, Value::Varint(300)))));
        assert_eq!(f.next_field(), Ok(Some((2, Value::Bytes(b"hi")))));
        let (n, v) = f.next_field().expect("field").expect("some");
        assert_eq!(n, 3);
        let mut out = Vec::new();
        push_repeated(v, &mut out).expect("packed");
        assert_eq!(out, [1, 150]);
        assert_eq!(f.next_field(), Ok(None));
        assert_eq!([zigzag(0), zigzag(1), zigzag(2), zigzag(3), zigzag(u64::MAX)], [0, -1, 1, -2, i64::MIN]);
    }

    #[test]
    fn refuses_truncated_and_overlong_input() {
        assert!(Fields::new(&[0x08]).next_field().is_err());
        assert!(Fields::new(&[0x12, 0x05, 1]).next_field().is_err());
        assert!(Fields::new(&[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]).next_field().is_err());
        assert!(Fields::new(&[0x0b]).next_field().is_err(), "groups are refused");
        assert!(Fields::new(&[0x00, 0x01]).next_field().is_err(), "field zero is refused");
        // A length near usize::MAX must not overflow.
        assert!(Fields::new(&[0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).next_field().is_err());
    }
}
