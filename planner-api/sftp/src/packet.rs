//! SFTP version 3 packets (draft-ietf-secsh-filexfer-02): the client's requests, encoded, and the
//! server's responses, decoded by [`decode`] — a pure function that never panics on any input.
//!
//! Every packet is `uint32 length`, then `length` bytes: a `byte` type and the type's fields.
//! Integers are big-endian; a `string` is a `uint32` length and that many bytes. Requests carry a
//! `uint32` id that the response repeats (except INIT and VERSION).

use crate::SftpError;

/// The protocol version this client speaks.
pub const VERSION: u32 = 3;
/// The longest packet accepted (the value of the length field): OpenSSH's sftp-server limit.
/// Longer ones are refused before anything is allocated for them.
pub const MAX_PACKET: usize = 256 * 1024;
/// The longest handle a server may send (draft-02: "MUST NOT be longer than 256 bytes").
pub const MAX_HANDLE: usize = 256;

/// SSH_FX_OK: success.
pub const SSH_FX_OK: u32 = 0;
/// SSH_FX_EOF: end of file, or no more directory entries.
pub const SSH_FX_EOF: u32 = 1;
/// SSH_FX_NO_SUCH_FILE: the path does not exist.
pub const SSH_FX_NO_SUCH_FILE: u32 = 2;
/// SSH_FX_PERMISSION_DENIED.
pub const SSH_FX_PERMISSION_DENIED: u32 = 3;
/// SSH_FX_FAILURE: any other failure (OpenSSH: a rename onto an existing file, an existing
/// directory for MKDIR).
pub const SSH_FX_FAILURE: u32 = 4;
/// SSH_FX_BAD_MESSAGE: the server could not parse our packet.
pub const SSH_FX_BAD_MESSAGE: u32 = 5;
/// SSH_FX_OP_UNSUPPORTED: the server does not implement the request.
pub const SSH_FX_OP_UNSUPPORTED: u32 = 8;

/// SSH_FXF_READ: open for reading.
pub const SSH_FXF_READ: u32 = 0x01;
/// SSH_FXF_WRITE: open for writing.
pub const SSH_FXF_WRITE: u32 = 0x02;
/// SSH_FXF_CREAT: create the file if it does not exist.
pub const SSH_FXF_CREAT: u32 = 0x08;
/// SSH_FXF_TRUNC: truncate an existing file to zero length.
pub const SSH_FXF_TRUNC: u32 = 0x10;
/// SSH_FXF_EXCL: fail if the file exists (with CREAT).
pub const SSH_FXF_EXCL: u32 = 0x20;

/// Packet types (draft-02 section 3).
mod kind {
    pub const INIT: u8 = 1;
    pub const VERSION: u8 = 2;
    pub const OPEN: u8 = 3;
    pub const CLOSE: u8 = 4;
    pub const READ: u8 = 5;
    pub const WRITE: u8 = 6;
    pub const LSTAT: u8 = 7;
    pub const OPENDIR: u8 = 11;
    pub const READDIR: u8 = 12;
    pub const REMOVE: u8 = 13;
    pub const MKDIR: u8 = 14;
    pub const STAT: u8 = 17;
    pub const RENAME: u8 = 18;
    pub const STATUS: u8 = 101;
    pub const HANDLE: u8 = 102;
    pub const DATA: u8 = 103;
    pub const NAME: u8 = 104;
    pub const ATTRS: u8 = 105;
    pub const EXTENDED_REPLY: u8 = 201;
}

/// Attribute flags (draft-02 section 5).
mod attr {
    pub const SIZE: u32 = 0x0000_0001;
    pub const UIDGID: u32 = 0x0000_0002;
    pub const PERMISSIONS: u32 = 0x0000_0004;
    pub const ACMODTIME: u32 = 0x0000_0008;
    pub const EXTENDED: u32 = 0x8000_0000;
    pub const ALL: u32 = SIZE | UIDGID | PERMISSIONS | ACMODTIME | EXTENDED;
}

/// The name of an SSH_FX_* status code, for messages.
pub fn status_name(code: u32) -> &'static str {
    match code {
        0 => "OK",
        1 => "EOF",
        2 => "NO_SUCH_FILE",
        3 => "PERMISSION_DENIED",
        4 => "FAILURE",
        5 => "BAD_MESSAGE",
        6 => "NO_CONNECTION",
        7 => "CONNECTION_LOST",
        8 => "OP_UNSUPPORTED",
        _ => "unknown status",
    }
}

/// File attributes; each field is present when the server sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attrs {
    /// Size in bytes.
    pub size: Option<u64>,
    /// Owner and group ids.
    pub uid_gid: Option<(u32, u32)>,
    /// POSIX mode bits, file type included (`0o100000` a regular file, `0o040000` a directory).
    pub permissions: Option<u32>,
    /// Access and modification times, seconds since 1970.
    pub atime_mtime: Option<(u32, u32)>,
    /// Extended attributes: (type, data) pairs.
    pub extended: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Attrs {
    /// Whether the mode says regular file.
    pub fn is_file(&self) -> bool {
        self.permissions.is_some_and(|p| p & 0o170_000 == 0o100_000)
    }

    /// Whether the mode says directory.
    pub fn is_dir(&self) -> bool {
        self.permissions.is_some_and(|p| p & 0o170_000 == 0o040_000)
    }
}

/// One entry of an SSH_FXP_NAME response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameEntry {
    /// The file name, as bytes (the protocol does not promise UTF-8).
    pub filename: Vec<u8>,
    /// An `ls -l`-style line (informational).
    pub longname: Vec<u8>,
    /// The entry's attributes.
    pub attrs: Attrs,
}

/// A packet from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// SSH_FXP_VERSION: the answer to INIT, with the server's extensions (name, data).
    Version {
        /// The version the server speaks.
        version: u32,
        /// Extension pairs, such as (`posix-rename@openssh.com`, `1`).
        extensions: Vec<(Vec<u8>, Vec<u8>)>,
    },
    /// SSH_FXP_STATUS: success or the reason of a failure.
    Status {
        /// Request id.
        id: u32,
        /// SSH_FX_* code.
        code: u32,
        /// The server's message (UTF-8 by the spec; other bytes are replaced); empty when a
        /// server leaves it out.
        message: String,
        /// Language tag of the message.
        language: String,
    },
    /// SSH_FXP_HANDLE: an open file or directory.
    Handle {
        /// Request id.
        id: u32,
        /// The opaque handle (at most [`MAX_HANDLE`] bytes).
        handle: Vec<u8>,
    },
    /// SSH_FXP_DATA: bytes read.
    Data {
        /// Request id.
        id: u32,
        /// The bytes.
        data: Vec<u8>,
    },
    /// SSH_FXP_NAME: directory entries (READDIR) or a resolved name.
    Name {
        /// Request id.
        id: u32,
        /// The entries.
        entries: Vec<NameEntry>,
    },
    /// SSH_FXP_ATTRS: the answer to STAT, LSTAT, FSTAT.
    Attrs {
        /// Request id.
        id: u32,
        /// The attributes.
        attrs: Attrs,
    },
    /// SSH_FXP_EXTENDED_REPLY: the answer to a vendor extension request.
    ExtendedReply {
        /// Request id.
        id: u32,
        /// Extension-specific data.
        data: Vec<u8>,
    },
}

impl Response {
    /// The request id the response answers (`None` for VERSION).
    pub fn id(&self) -> Option<u32> {
        match self {
            Response::Version { .. } => None,
            Response::Status { id, .. }
            | Response::Handle { id, .. }
            | Response::Data { id, .. }
            | Response::Name { id, .. }
            | Response::Attrs { id, .. }
            | Response::ExtendedReply { id, .. } => Some(*id),
        }
    }

    /// A short name of the packet type, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Response::Version { .. } => "VERSION",
            Response::Status { .. } => "STATUS",
            Response::Handle { .. } => "HANDLE",
            Response::Data { .. } => "DATA",
            Response::Name { .. } => "NAME",
            Response::Attrs { .. } => "ATTRS",
            Response::ExtendedReply { .. } => "EXTENDED_REPLY",
        }
    }

    /// The packet as a server sends it, length field included (for tests and the fuzz target).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Response::Version { version, extensions } => {
                w.byte(kind::VERSION).u32(*version);
                for (name, data) in extensions {
                    w.string(name).string(data);
                }
            }
            Response::Status { id, code, message, language } => {
                w.byte(kind::STATUS).u32(*id).u32(*code).string(message.as_bytes()).string(language.as_bytes());
            }
            Response::Handle { id, handle } => {
                w.byte(kind::HANDLE).u32(*id).string(handle);
            }
            Response::Data { id, data } => {
                w.byte(kind::DATA).u32(*id).string(data);
            }
            Response::Name { id, entries } => {
                w.byte(kind::NAME).u32(*id).u32(entries.len() as u32);
                for entry in entries {
                    w.string(&entry.filename).string(&entry.longname).attrs(&entry.attrs);
                }
            }
            Response::Attrs { id, attrs } => {
                w.byte(kind::ATTRS).u32(*id).attrs(attrs);
            }
            Response::ExtendedReply { id, data } => {
                w.byte(kind::EXTENDED_REPLY).u32(*id).bytes(data);
            }
        }
        w.finish()
    }
}

/// A packet to the server. Paths are UTF-8 (OpenSSH passes the bytes through to the file system).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// SSH_FXP_INIT with our version.
    Init,
    /// SSH_FXP_OPEN of a file with SSH_FXF_* flags and the attributes of a file it creates.
    Open {
        /// Request id.
        id: u32,
        /// The file.
        path: &'a str,
        /// SSH_FXF_* flags.
        pflags: u32,
        /// Attributes for a new file (usually none).
        attrs: Attrs,
    },
    /// SSH_FXP_CLOSE of a handle.
    Close {
        /// Request id.
        id: u32,
        /// The handle.
        handle: &'a [u8],
    },
    /// SSH_FXP_READ of up to `len` bytes at `offset`.
    Read {
        /// Request id.
        id: u32,
        /// The handle.
        handle: &'a [u8],
        /// Byte offset.
        offset: u64,
        /// Most bytes wanted.
        len: u32,
    },
    /// SSH_FXP_WRITE of `data` at `offset`.
    Write {
        /// Request id.
        id: u32,
        /// The handle.
        handle: &'a [u8],
        /// Byte offset.
        offset: u64,
        /// The bytes.
        data: &'a [u8],
    },
    /// SSH_FXP_LSTAT (does not follow a final symbolic link).
    Lstat {
        /// Request id.
        id: u32,
        /// The path.
        path: &'a str,
    },
    /// SSH_FXP_STAT (follows symbolic links).
    Stat {
        /// Request id.
        id: u32,
        /// The path.
        path: &'a str,
    },
    /// SSH_FXP_OPENDIR.
    Opendir {
        /// Request id.
        id: u32,
        /// The directory.
        path: &'a str,
    },
    /// SSH_FXP_READDIR: the next batch of entries.
    Readdir {
        /// Request id.
        id: u32,
        /// The directory handle.
        handle: &'a [u8],
    },
    /// SSH_FXP_REMOVE of a file.
    Remove {
        /// Request id.
        id: u32,
        /// The file.
        path: &'a str,
    },
    /// SSH_FXP_MKDIR.
    Mkdir {
        /// Request id.
        id: u32,
        /// The directory.
        path: &'a str,
        /// Its attributes (usually none).
        attrs: Attrs,
    },
    /// SSH_FXP_RENAME (version 3: fails when `to` exists).
    Rename {
        /// Request id.
        id: u32,
        /// Old path.
        from: &'a str,
        /// New path.
        to: &'a str,
    },
}

impl Request<'_> {
    /// The packet as sent, length field included.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Request::Init => {
                w.byte(kind::INIT).u32(VERSION);
            }
            Request::Open { id, path, pflags, attrs } => {
                w.byte(kind::OPEN).u32(*id).string(path.as_bytes()).u32(*pflags).attrs(attrs);
            }
            Request::Close { id, handle } => {
                w.byte(kind::CLOSE).u32(*id).string(handle);
            }
            Request::Read { id, handle, offset, len } => {
                w.byte(kind::READ).u32(*id).string(handle).u64(*offset).u32(*len);
            }
            Request::Write { id, handle, offset, data } => {
                w.byte(kind::WRITE).u32(*id).string(handle).u64(*offset).string(data);
            }
            Request::Lstat { id, path } => {
                w.byte(kind::LSTAT).u32(*id).string(path.as_bytes());
            }
            Request::Stat { id, path } => {
                w.byte(kind::STAT).u32(*id).string(path.as_bytes());
            }
            Request::Opendir { id, path } => {
                w.byte(kind::OPENDIR).u32(*id).string(path.as_bytes());
            }
            Request::Readdir { id, handle } => {
                w.byte(kind::READDIR).u32(*id).string(handle);
            }
            Request::Remove { id, path } => {
                w.byte(kind::REMOVE).u32(*id).string(path.as_bytes());
            }
            Request::Mkdir { id, path, attrs } => {
                w.byte(kind::MKDIR).u32(*id).string(path.as_bytes()).attrs(attrs);
            }
            Request::Rename { id, from, to } => {
                w.byte(kind::RENAME).u32(*id).string(from.as_bytes()).string(to.as_bytes());
            }
        }
        w.finish()
    }
}

/// The length of the packet body a 4-byte length field announces, refused when 0 or over
/// [`MAX_PACKET`].
pub fn body_length(prefix: [u8; 4]) -> Result<usize, SftpError> {
    let len = u32::from_be_bytes(prefix) as usize;
    if len == 0 {
        return Err(SftpError::Protocol("the server sent an empty packet".into()));
    }
    if len > MAX_PACKET {
        return Err(SftpError::Protocol(format!("the server announced a packet of {len} bytes, more than the limit of {MAX_PACKET}")));
    }
    Ok(len)
}

/// Decodes the server packet at the start of `bytes` (length field included); returns it and the
/// number of bytes it took. Refuses a packet that is truncated, longer than [`MAX_PACKET`], of an
/// unknown type, malformed, or followed by bytes of its own length that no field explains.
pub fn decode(bytes: &[u8]) -> Result<(Response, usize), SftpError> {
    let Some(prefix) = bytes.first_chunk::<4>() else {
        return Err(SftpError::Protocol(format!("truncated packet: {} bytes, its length field needs 4", bytes.len())));
    };
    let len = body_length(*prefix)?;
    let Some(body) = bytes.get(4..4 + len) else {
        return Err(SftpError::Protocol(format!("truncated packet: its length field says {len} bytes, {} follow", bytes.len() - 4)));
    };
    let mut r = Reader { bytes: body, pos: 1, kind: "" };
    let response = match body[0] {
        kind::VERSION => {
            r.kind = "VERSION";
            let version = r.u32()?;
            let mut extensions = Vec::new();
            while !r.at_end() {
                extensions.push((r.string()?.to_vec(), r.string()?.to_vec()));
            }
            Response::Version { version, extensions }
        }
        kind::STATUS => {
            r.kind = "STATUS";
            let id = r.u32()?;
            let code = r.u32()?;
            // Some version 3 servers end the packet after the code.
            let (message, language) = if r.at_end() { (String::new(), String::new()) } else { (r.text()?, r.text()?) };
            Response::Status { id, code, message, language }
        }
        kind::HANDLE => {
            r.kind = "HANDLE";
            let id = r.u32()?;
            let handle = r.string()?;
            if handle.len() > MAX_HANDLE {
                return Err(r.error(&format!("a handle of {} bytes, more than {MAX_HANDLE}", handle.len())));
            }
            Response::Handle { id, handle: handle.to_vec() }
        }
        kind::DATA => {
            r.kind = "DATA";
            Response::Data { id: r.u32()?, data: r.string()?.to_vec() }
        }
        kind::NAME => {
            r.kind = "NAME";
            let id = r.u32()?;
            let count = r.u32()? as usize;
            // Each entry takes at least 12 bytes (two empty strings and the attribute flags), so
            // a count the packet cannot hold is refused before anything is allocated for it.
            if count > r.remaining() / 12 {
                return Err(r.error(&format!("{count} names announced, the packet holds at most {}", r.remaining() / 12)));
            }
            let mut entries = Vec::with_capacity(count);
            for _ in 0..count {
                entries.push(NameEntry { filename: r.string()?.to_vec(), longname: r.string()?.to_vec(), attrs: r.attrs()? });
            }
            Response::Name { id, entries }
        }
        kind::ATTRS => {
            r.kind = "ATTRS";
            Response::Attrs { id: r.u32()?, attrs: r.attrs()? }
        }
        kind::EXTENDED_REPLY => {
            r.kind = "EXTENDED_REPLY";
            let id = r.u32()?;
            let data = r.bytes[r.pos..].to_vec();
            r.pos = r.bytes.len();
            Response::ExtendedReply { id, data }
        }
        other => return Err(SftpError::Protocol(format!("the server sent a packet of unknown type {other}"))),
    };
    if !r.at_end() {
        return Err(r.error(&format!("{} bytes after the last field", r.remaining())));
    }
    Ok((response, 4 + len))
}

/// Reads fields from a packet body; every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// The packet type, for messages.
    kind: &'static str,
}

impl<'a> Reader<'a> {
    fn error(&self, what: &str) -> SftpError {
        SftpError::Protocol(format!("malformed {} packet: {what}", self.kind))
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], SftpError> {
        if n > self.remaining() {
            return Err(self.error(&format!("a field of {n} bytes at offset {} runs past the end ({} bytes)", self.pos + 4, self.bytes.len() + 4)));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, SftpError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, SftpError> {
        Ok((u64::from(self.u32()?) << 32) | u64::from(self.u32()?))
    }

    fn string(&mut self) -> Result<&'a [u8], SftpError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn text(&mut self) -> Result<String, SftpError> {
        Ok(String::from_utf8_lossy(self.string()?).into_owned())
    }

    fn attrs(&mut self) -> Result<Attrs, SftpError> {
        let flags = self.u32()?;
        if flags & !attr::ALL != 0 {
            return Err(self.error(&format!("attribute flags {flags:#010x} name fields version 3 does not have")));
        }
        let mut attrs = Attrs::default();
        if flags & attr::SIZE != 0 {
            attrs.size = Some(self.u64()?);
        }
        if flags & attr::UIDGID != 0 {
            attrs.uid_gid = Some((self.u32()?, self.u32()?));
        }
        if flags & attr::PERMISSIONS != 0 {
            attrs.permissions = Some(self.u32()?);
        }
        if flags & attr::ACMODTIME != 0 {
            attrs.atime_mtime = Some((self.u32()?, self.u32()?));
        }
        if flags & attr::EXTENDED != 0 {
            let count = self.u32()? as usize;
            // Each pair takes at least 8 bytes (two empty strings).
            if count > self.remaining() / 8 {
                return Err(self.error(&format!("{count} extended attributes announced, the packet holds at most {}", self.remaining() / 8)));
            }
            attrs.extended.reserve(count);
            for _ in 0..count {
                attrs.extended.push((self.string()?.to_vec(), self.string()?.to_vec()));
            }
        }
        Ok(attrs)
    }
}

/// Builds a packet body, then prefixes its length.
struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    fn new() -> Writer {
        Writer { bytes: vec![0; 4] }
    }

    fn byte(&mut self, b: u8) -> &mut Writer {
        self.bytes.push(b);
        self
    }

    fn u32(&mut self, v: u32) -> &mut Writer {
        self.bytes.extend_from_slice(&v.to_be_bytes());
        self
    }

    fn u64(&mut self, v: u64) -> &mut Writer {
        self.bytes.extend_from_slice(&v.to_be_bytes());
        self
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Writer {
        self.bytes.extend_from_slice(b);
        self
    }

    fn string(&mut self, s: &[u8]) -> &mut Writer {
        self.u32(s.len() as u32).bytes(s)
    }

    fn attrs(&mut self, a: &Attrs) -> &mut Writer {
        let flags = [
            (a.size.is_some(), attr::SIZE),
            (a.uid_gid.is_some(), attr::UIDGID),
            (a.permissions.is_some(), attr::PERMISSIONS),
            (a.atime_mtime.is_some(), attr::ACMODTIME),
            (!a.extended.is_empty(), attr::EXTENDED),
        ]
        .iter()
        .filter(|(present, _)| *present)
        .fold(0, |flags, (_, bit)| flags | bit);
        self.u32(flags);
        if let Some(size) = a.size {
            self.u64(size);
        }
        if let Some((uid, gid)) = a.uid_gid {
            self.u32(uid).u32(gid);
        }
        if let Some(p) = a.permissions {
            self.u32(p);
        }
        if let Some((atime, mtime)) = a.atime_mtime {
            self.u32(atime).u32(mtime);
        }
        if !a.extended.is_empty() {
            self.u32(a.extended.len() as u32);
            for (kind, data) in &a.extended {
                self.string(kind).string(data);
            }
        }
        self
    }

    fn finish(mut self) -> Vec<u8> {
        let len = (self.bytes.len() - 4) as u32;
        self.bytes[..4].copy_from_slice(&len.to_be_bytes());
        self.bytes
    }
}

#[cfg(test)]
mod tests;
