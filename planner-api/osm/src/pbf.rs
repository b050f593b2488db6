//! OpenStreetMap's PBF format, read with our own code: a file is a sequence of blobs (a 4-byte
//! big-endian length, a `BlobHeader`, then a `Blob` of raw or zlib-compressed bytes); the first
//! holds the `HeaderBlock`, the others `PrimitiveBlock`s of nodes (plain or dense), ways and
//! relations, whose strings sit in a per-block string table and whose coordinates are integers
//! scaled by the block's granularity (<https://wiki.openstreetmap.org/wiki/PBF_Format>).
//!
//! [`read`] hands every node and way to a visitor; relations are skipped, as the road graph does
//! not need them. The limits of the format are enforced (a header of at most 64 KiB, a blob of at
//! most 32 MiB, compressed or not), every delta sum and scaling is checked, and coordinates must
//! lie on the globe: a damaged or hostile file is an error naming the blob, never a panic or an
//! unbounded allocation. zlib is the only compression read (what osmium and Osmosis write by
//! default); lzma, lz4 and zstd blobs are refused by name.

use crate::proto::{push_repeated, zigzag, Fields, WireError};
use flate2::read::ZlibDecoder;
use std::io::{self, Read};

/// Largest `BlobHeader` the format allows.
pub const MAX_HEADER: usize = 64 * 1024;
/// Largest blob, compressed or uncompressed, the format allows.
pub const MAX_BLOB: usize = 32 * 1024 * 1024;

/// What [`read`] could not read.
#[derive(Debug, thiserror::Error)]
pub enum PbfError {
    /// The file could not be read.
    #[error("cannot read the extract: {0}")]
    Io(#[from] io::Error),
    /// The file ends in the middle of a blob.
    #[error("the extract ends inside blob {blob} (at byte {offset}): it is cut short")]
    Truncated {
        /// Blob number, from 0.
        blob: usize,
        /// Where the blob starts in the file.
        offset: u64,
    },
    /// A blob is damaged.
    #[error("blob {blob} (at byte {offset}): {what}")]
    Malformed {
        /// Blob number, from 0.
        blob: usize,
        /// Where the blob starts in the file.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// The file uses a feature this reader does not have.
    #[error("blob {blob} (at byte {offset}): {what} is not supported")]
    Unsupported {
        /// Blob number, from 0.
        blob: usize,
        /// Where the blob starts in the file.
        offset: u64,
        /// The feature.
        what: String,
    },
}

/// A node: an OSM point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Node<'a> {
    /// OSM id.
    pub id: i64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Tags, `(key, value)`.
    pub tags: &'a [(&'a str, &'a str)],
}

/// A way: an ordered list of nodes (a road, a building's outline).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Way<'a> {
    /// OSM id.
    pub id: i64,
    /// Tags, `(key, value)`.
    pub tags: &'a [(&'a str, &'a str)],
    /// Its nodes' ids, in order.
    pub refs: &'a [i64],
}

impl Way<'_> {
    /// The value of tag `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|(k, _)| *k == key).map(|&(_, v)| v)
    }
}

/// One element handed to the visitor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Element<'a> {
    /// A node.
    Node(Node<'a>),
    /// A way.
    Way(Way<'a>),
}

/// Which elements to decode (the others are skipped without decoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Select {
    /// Nodes, plain and dense.
    pub nodes: bool,
    /// Ways.
    pub ways: bool,
}

impl Select {
    /// Nodes and ways.
    pub const ALL: Select = Select { nodes: true, ways: true };
}

/// What a file held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Blobs read, the header included.
    pub blobs: usize,
    /// Nodes handed to the visitor.
    pub nodes: usize,
    /// Ways handed to the visitor.
    pub ways: usize,
}

/// Where the reader is, for errors.
#[derive(Clone, Copy)]
struct At {
    blob: usize,
    offset: u64,
}

impl At {
    fn bad(self, what: impl Into<String>) -> PbfError {
        PbfError::Malformed { blob: self.blob, offset: self.offset, what: what.into() }
    }

    fn wire(self, e: WireError) -> PbfError {
        self.bad(e.0)
    }

    fn unsupported(self, what: impl Into<String>) -> PbfError {
        PbfError::Unsupported { blob: self.blob, offset: self.offset, what: what.into() }
    }
}

/// Reads a PBF file from `input`, handing each node and way that `select` asks for to `visit`
/// in file order.
///
/// # Errors
/// [`PbfError`] for a file that cannot be read, is cut short, damaged, or uses a feature this
/// reader does not have; the visitor may have seen the elements before the damage.
pub fn read<R: Read>(mut input: R, select: Select, mut visit: impl FnMut(Element<'_>)) -> Result<Summary, PbfError> {
    let mut summary = Summary::default();
    let mut offset: u64 = 0;
    let mut seen_header = false;
    let mut header_buf = Vec::new();
    let mut data_buf = Vec::new();
    loop {
        let at = At { blob: summary.blobs, offset };
        let mut len = [0u8; 4];
        match read_full(&mut input, &mut len)? {
            0 => return Ok(summary),
            4 => {}
            _ => return Err(PbfError::Truncated { blob: at.blob, offset }),
        }
        let header_len = u32::from_be_bytes(len) as usize;
        if header_len > MAX_HEADER {
            return Err(at.bad(format!("its header claims {header_len} bytes, more than the format's {MAX_HEADER}")));
        }
        header_buf.resize(header_len, 0);
        if read_full(&mut input, &mut header_buf)? != header_len {
            return Err(PbfError::Truncated { blob: at.blob, offset });
        }
        let (kind, data_len) = blob_header(&header_buf).map_err(|e| at.wire(e))?;
        let data_len = data_len.ok_or_else(|| at.bad("its header has no data size"))?;
        if data_len > MAX_BLOB {
            return Err(at.bad(format!("it claims {data_len} bytes, more than the format's {MAX_BLOB}")));
        }
        // Read as it comes, so that a claimed size the file does not hold allocates nothing.
        data_buf.clear();
        if (&mut input).take(data_len as u64).read_to_end(&mut data_buf)? != data_len {
            return Err(PbfError::Truncated { blob: at.blob, offset });
        }
        offset += 4 + header_len as u64 + data_len as u64;
        summary.blobs += 1;
        match kind {
            "OSMHeader" => {
                if seen_header {
                    return Err(at.bad("a second OSMHeader"));
                }
                let raw = blob_bytes(&data_buf, at)?;
                header_block(&raw, at)?;
                seen_header = true;
            }
            "OSMData" => {
                if !seen_header {
                    return Err(at.bad("an OSMData blob before the OSMHeader"));
                }
                if select.nodes || select.ways {
                    let raw = blob_bytes(&data_buf, at)?;
                    primitive_block(&raw, at, select, &mut summary, &mut visit)?;
                }
            }
            // The format says readers skip blob types they do not know.
            _ => {}
        }
    }
}

/// Reads until `buf` is full or the input ends; how many bytes were read.
fn read_full<R: Read>(input: &mut R, buf: &mut [u8]) -> Result<usize, io::Error> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// `BlobHeader`: the type and the data size.
fn blob_header(buf: &[u8]) -> Result<(&str, Option<usize>), WireError> {
    let mut kind = None;
    let mut size = None;
    let mut f = Fields::new(buf);
    while let Some((field, value)) = f.next_field()? {
        match field {
            1 => kind = Some(std::str::from_utf8(value.data()?).map_err(|_| WireError("a blob type is not UTF-8"))?),
            3 => size = Some(usize::try_from(value.int()?).map_err(|_| WireError("a blob's data size is negative"))?),
            _ => {}
        }
    }
    Ok((kind.ok_or(WireError("a blob header has no type"))?, size))
}

/// A `Blob`'s uncompressed bytes.
fn blob_bytes(buf: &[u8], at: At) -> Result<Vec<u8>, PbfError> {
    let mut raw = None;
    let mut raw_size = None;
    let mut zlib = None;
    let mut f = Fields::new(buf);
    while let Some((field, value)) = f.next_field().map_err(|e| at.wire(e))? {
        match field {
            1 => raw = Some(value.data().map_err(|e| at.wire(e))?),
            2 => raw_size = Some(value.int().map_err(|e| at.wire(e))?),
            3 => zlib = Some(value.data().map_err(|e| at.wire(e))?),
            4 => return Err(at.unsupported("lzma compression")),
            5 => return Err(at.unsupported("bzip2 compression")),
            6 => return Err(at.unsupported("lz4 compression")),
            7 => return Err(at.unsupported("zstd compression")),
            _ => {}
        }
    }
    match (raw, zlib) {
        (Some(raw), None) => Ok(raw.to_vec()),
        (None, Some(z)) => {
            let expected = match raw_size {
                Some(n) => Some(usize::try_from(n).ok().filter(|&n| n <= MAX_BLOB).ok_or_else(|| at.bad(format!("its raw size {n} is out of range")))?),
                None => None,
            };
            let mut out = Vec::with_capacity(expected.unwrap_or(0));
            ZlibDecoder::new(z).take(MAX_BLOB as u64 + 1).read_to_end(&mut out).map_err(|e| at.bad(format!("its zlib data is corrupt ({e})")))?;
            if out.len() > MAX_BLOB {
                return Err(at.bad(format!("it inflates to more than the format's {MAX_BLOB} bytes")));
            }
            if let Some(n) = expected {
                if n != out.len() {
                    return Err(at.bad(format!("it inflates to {} bytes where its header says {n}", out.len())));
                }
            }
            Ok(out)
        }
        (None, None) => Err(at.bad("it holds no data")),
        (Some(_), Some(_)) => Err(at.bad("it holds both raw and compressed data")),
    }
}

/// `HeaderBlock`: refuses files that need a feature this reader does not have.
fn header_block(buf: &[u8], at: At) -> Result<(), PbfError> {
    let mut f = Fields::new(buf);
    while let Some((field, value)) = f.next_field().map_err(|e| at.wire(e))? {
        if field == 4 {
            let feature = std::str::from_utf8(value.data().map_err(|e| at.wire(e))?).map_err(|_| at.bad("a required feature is not UTF-8"))?;
            match feature {
                "OsmSchema-V0.6" | "DenseNodes" => {}
                "HistoricalInformation" => return Err(at.unsupported("a history file (HistoricalInformation)")),
                other => return Err(at.unsupported(format!("the required feature {other:?}"))),
            }
        }
    }
    Ok(())
}

/// The coordinate scaling of a block.
#[derive(Clone, Copy)]
struct Scale {
    granularity: i64,
    lat_offset: i64,
    lon_offset: i64,
}

impl Scale {
    /// Degrees from a raw latitude and longitude, checked.
    fn degrees(self, id: i64, lat: i64, lon: i64, at: At) -> Result<(f64, f64), PbfError> {
        let scaled = |raw: i64, offset: i64| raw.checked_mul(self.granularity).and_then(|v| v.checked_add(offset));
        let (Some(lat), Some(lon)) = (scaled(lat, self.lat_offset), scaled(lon, self.lon_offset)) else {
            return Err(at.bad(format!("node {id}'s coordinates overflow")));
        };
        if lat.abs() > 90_000_000_000 || lon.abs() > 180_000_000_000 {
            return Err(at.bad(format!("node {id} lies off the globe")));
        }
        // Nanodegrees within ±1.8e11 are exact in f64.
        #[allow(clippy::cast_precision_loss)]
        Ok((lat as f64 / 1e9, lon as f64 / 1e9))
    }
}

/// `PrimitiveBlock`: the string table, the scaling, then every group.
fn primitive_block(buf: &[u8], at: At, select: Select, summary: &mut Summary, visit: &mut impl FnMut(Element<'_>)) -> Result<(), PbfError> {
    let mut strings: Vec<&str> = Vec::new();
    let mut groups = Vec::new();
    let mut scale = Scale { granularity: 100, lat_offset: 0, lon_offset: 0 };
    let mut f = Fields::new(buf);
    while let Some((field, value)) = f.next_field().map_err(|e| at.wire(e))? {
        match field {
            1 => {
                strings.clear();
                let mut t = Fields::new(value.data().map_err(|e| at.wire(e))?);
                while let Some((field, value)) = t.next_field().map_err(|e| at.wire(e))? {
                    if field == 1 {
                        strings.push(std::str::from_utf8(value.data().map_err(|e| at.wire(e))?).map_err(|_| at.bad("a string of its table is not UTF-8"))?);
                    }
                }
            }
            2 => groups.push(value.data().map_err(|e| at.wire(e))?),
            17 => scale.granularity = value.int().map_err(|e| at.wire(e))?,
            19 => scale.lat_offset = value.int().map_err(|e| at.wire(e))?,
            20 => scale.lon_offset = value.int().map_err(|e| at.wire(e))?,
            _ => {}
        }
    }
    if scale.granularity <= 0 {
        return Err(at.bad(format!("its granularity {} is not positive", scale.granularity)));
    }
    let mut block = Block { strings, scale, at, tags: Vec::new(), ints: Vec::new(), ints2: Vec::new(), ints3: Vec::new(), refs: Vec::new() };
    for g in groups {
        let mut f = Fields::new(g);
        while let Some((field, value)) = f.next_field().map_err(|e| at.wire(e))? {
            match field {
                1 if select.nodes => {
                    block.node(value.data().map_err(|e| at.wire(e))?, visit)?;
                    summary.nodes += 1;
                }
                2 if select.nodes => summary.nodes += block.dense(value.data().map_err(|e| at.wire(e))?, visit)?,
                3 if select.ways => {
                    block.way(value.data().map_err(|e| at.wire(e))?, visit)?;
                    summary.ways += 1;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// One block's decoding state and reused buffers.
struct Block<'s> {
    strings: Vec<&'s str>,
    scale: Scale,
    at: At,
    tags: Vec<(&'s str, &'s str)>,
    ints: Vec<u64>,
    ints2: Vec<u64>,
    ints3: Vec<u64>,
    refs: Vec<i64>,
}

impl<'s> Block<'s> {
    fn string(&self, index: u64) -> Result<&'s str, PbfError> {
        usize::try_from(index).ok().and_then(|i| self.strings.get(i).copied()).ok_or_else(|| self.at.bad(format!("string {index} is not in its table")))
    }

    /// `keys` and `vals` (string indices) into `self.tags`.
    fn pair_tags(&mut self, keys: &[u64], vals: &[u64]) -> Result<(), PbfError> {
        if keys.len() != vals.len() {
            return Err(self.at.bad(format!("an element has {} keys and {} values", keys.len(), vals.len())));
        }
        self.tags.clear();
        for (&k, &v) in keys.iter().zip(vals) {
            let pair = (self.string(k)?, self.string(v)?);
            self.tags.push(pair);
        }
        Ok(())
    }

    fn node(&mut self, buf: &[u8], visit: &mut impl FnMut(Element<'_>)) -> Result<(), PbfError> {
        let at = self.at;
        let (mut id, mut lat, mut lon) = (None, None, None);
        let (mut keys, mut vals) = (std::mem::take(&mut self.ints), std::mem::take(&mut self.ints2));
        keys.clear();
        vals.clear();
        let mut f = Fields::new(buf);
        while let Some((field, value)) = f.next_field().map_err(|e| at.wire(e))? {
            match field {
                1 => id = Some(value.sint().map_err(|e| at.wire(e))?),
                2 => push_repeated(value, &mut keys).map_err(|e| at.wire(e))?,
                3 => push_repeated(value, &mut vals).map_err(|e| at.wire(e))?,
                8 => lat = Some(value.sint().map_err(|e| at.wire(e))?),
                9 => lon = Some(value.sint().map_err(|e| at.wire(e))?),
                _ => {}
            }
        }
        let (Some(id), Some(lat), Some(lon)) = (id, lat, lon) else {
            return Err(at.bad("a node lacks its id or coordinates"));
        };
        let (lat, lon) = self.scale.degrees(id, lat, lon, at)?;
        let tagged = self.pair_tags(&keys, &vals);
        self.ints = keys;
        self.ints2 = vals;
        tagged?;
        visit(Element::Node(Node { id, lat, lon, tags: &self.tags }));
        Ok(())
    }

    /// `DenseNodes`: how many nodes it held.
    fn dense(&mut self, buf: &[u8], visit: &mut impl FnMut(Element<'_>)) -> Result<usize, PbfError> {
        let at = self.at;
        let (mut ids, mut lats, mut lons) = (std::mem::take(&mut self.ints), std::mem::take(&mut self.ints2), std::mem::take(&mut self.ints3));
        ids.clear();
        lats.clear();
        lons.clear();
        let mut keys_vals = Vec::new();
        let mut f = Fields::new(buf);
        let result = (|| {
            while let Some((field, value)) = f.next_field().map_err(|e| at.wire(e))? {
                match field {
                    1 => push_repeated(value, &mut ids).map_err(|e| at.wire(e))?,
                    8 => push_repeated(value, &mut lats).map_err(|e| at.wire(e))?,
                    9 => push_repeated(value, &mut lons).map_err(|e| at.wire(e))?,
                    10 => push_repeated(value, &mut keys_vals).map_err(|e| at.wire(e))?,
                    _ => {}
                }
            }
            if ids.len() != lats.len() || ids.len() != lons.len() {
                return Err(at.bad(format!("dense nodes with {} ids, {} latitudes and {} longitudes", ids.len(), lats.len(), lons.len())));
            }
            let (mut id, mut lat, mut lon) = (0i64, 0i64, 0i64);
            let mut kv = keys_vals.iter();
            for i in 0..ids.len() {
                let overflow = || at.bad("a dense node's delta-coded id or coordinate overflows");
                id = id.checked_add(zigzag(ids[i])).ok_or_else(overflow)?;
                lat = lat.checked_add(zigzag(lats[i])).ok_or_else(overflow)?;
                lon = lon.checked_add(zigzag(lons[i])).ok_or_else(overflow)?;
                let (la, lo) = self.scale.degrees(id, lat, lon, at)?;
                self.tags.clear();
                if !keys_vals.is_empty() {
                    loop {
                        let k = *kv.next().ok_or_else(|| at.bad("dense nodes' keys_vals ends before its last node"))?;
                        if k == 0 {
                            break;
                        }
                        let v = *kv.next().ok_or_else(|| at.bad("dense nodes' keys_vals ends inside a tag"))?;
                        let pair = (self.string(k)?, self.string(v)?);
                        self.tags.push(pair);
                    }
                }
                visit(Element::Node(Node { id, lat: la, lon: lo, tags: &self.tags }));
            }
            Ok(ids.len())
        })();
        self.ints = ids;
        self.ints2 = lats;
        self.ints3 = lons;
        result
    }

    fn way(&mut self, buf: &[u8], visit: &mut impl FnMut(Element<'_>)) -> Result<(), PbfError> {
        let at = self.at;
        let mut id = None;
        let (mut keys, mut vals, mut deltas) = (std::mem::take(&mut self.ints), std::mem::take(&mut self.ints2), std::mem::take(&mut self.ints3));
        keys.clear();
        vals.clear();
        deltas.clear();
        let mut f = Fields::new(buf);
        let result = (|| {
            while let Some((field, value)) = f.next_field().map_err(|e| at.wire(e))? {
                match field {
                    1 => id = Some(value.int().map_err(|e| at.wire(e))?),
                    2 => push_repeated(value, &mut keys).map_err(|e| at.wire(e))?,
                    3 => push_repeated(value, &mut vals).map_err(|e| at.wire(e))?,
                    8 => push_repeated(value, &mut deltas).map_err(|e| at.wire(e))?,
                    _ => {}
                }
            }
            let id = id.ok_or_else(|| at.bad("a way lacks its id"))?;
            self.refs.clear();
            let mut r = 0i64;
            for &d in &deltas {
                r = r.checked_add(zigzag(d)).ok_or_else(|| at.bad(format!("way {id}'s delta-coded node ids overflow")))?;
                self.refs.push(r);
            }
            self.pair_tags(&keys, &vals)?;
            visit(Element::Way(Way { id, tags: &self.tags, refs: &self.refs }));
            Ok(())
        })();
        self.ints = keys;
        self.ints2 = vals;
        self.ints3 = deltas;
        result
    }
}
