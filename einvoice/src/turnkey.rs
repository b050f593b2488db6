//! The files we exchange with Turnkey, the Ministry of Finance's upload program (電子發票 Turnkey):
//! where our MIG XML goes (its `UpCast` tree), how it is written so that Turnkey never picks up
//! half a file, and what Turnkey leaves for us in its `Unpack` tree (`ProcessResult`,
//! `SummaryResult`).
//!
//! # Folder layout
//! Turnkey's working directory holds, per category and process (its `TASK_CONFIG` table),
//! `UpCast/<CATEGORY><PROCESS>/<message type>/SRC` for source files, which it checks, signs, packs
//! and uploads, moving each file to `BAK/<yyyyMMdd>/<HH>/` or `ERR/…` next to `SRC`. MIG 4.x
//! F and G messages go through `B2SSTORAGE` (存證), B2B exchange through `B2BEXCHANGE`, and platform
//! messages such as E0402 through `B2PMESSAGE`. Downloaded results are unpacked under `Unpack`, e.g.
//! `<B2BEXCHANGE Unpack dir>/BAK/SummaryResult/<yyyyMMdd>/<HH>/<file>`.
//! Sources: the Turnkey user manual (Turnkey 使用說明書 v3.9) as summarised in
//! `latte1855/turnbridge` `docs/turnkey/manual/03_turnkey_flow.md` and `08_result_codes.md`;
//! `ho600-ltd/django-taiwan-einvoice` `turnkey_web/turnkey_wrapper/models.py` (a Turnkey wrapper in
//! production use: `UpCast/<category>/<mig>/SRC`, E-messages via `B2P MESSAGE`, SummaryResult files
//! under the B2B-exchange Unpack folder's `BAK/SummaryResult/*/*/*`). Each folder of Turnkey is
//! configurable in Turnkey itself, so every name here is in [`TurnkeyLayout`]; the defaults are
//! *unverified* against an installed Turnkey 3.2.
//!
//! # Result files
//! `SummaryResult` (daily, per uploaded message: counts of Total/Good/Failed and the invoice numbers
//! in each) follows the shape read by `ho600-ltd/django-taiwan-einvoice`
//! (`EITurnkeyDailySummaryResultXML.parse`): `SummaryResult/RoutingInfo/From/PartyId`,
//! `SummaryResult/DetailList/Message/{Info/{Id, MessageType}, ResultType/{Total, Good, Failed}/
//! ResultDetailType/{Count, Invoices/Invoice/{ReferenceNumber, InvoiceDate}}}`.
//! `ProcessResult` has no public sample we could verify: its layout is *unverified*, and two
//! plausible forms are read —
//! - the platform form seen in public models of MIG 4.1's `ProcessResult.xsd`: `RoutingInfo`,
//!   `MessageInfo/{Id, MessageType, …}`, `Result/Info/{Code, Description, Parameter0..4}`;
//! - a flat form, as described in the turnbridge summary of the Turnkey manual: records with
//!   `InvoiceNumber` (or `ReferenceNumber`, `AllowanceNumber`), `InvoiceDate`, `ResultCode`
//!   (`0` = success), `ResultMessage`, `ErrorCode`, `ErrorMessage`.
//!
//! Element names are matched by local name in any namespace. The parsers take any bytes: they never
//! panic, refuse inputs over [`MAX_RESULT_BYTES`], anything but UTF-8 (with or without BOM), and
//! DTDs (so no entity expansion), and name what is wrong in [`ResultError`].

use crate::mig::MessageType;
use roxmltree::{Document, Node, ParsingOptions};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Which Turnkey flow a message takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// 存證: the platform stores the message (`B2SSTORAGE` for MIG 4.x F/G messages).
    Storage,
    /// 交換: the platform passes the message on to the buyer's system (`B2BEXCHANGE`).
    Exchange,
}

/// Folder names of a Turnkey installation. Turnkey lets each be configured; the defaults are the
/// names its manual and public integrations use (*unverified*, see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TurnkeyLayout {
    /// Outbound root under the Turnkey root: `UpCast`.
    pub upcast: String,
    /// Category folder of stored (存證) MIG 4.x messages: `B2SSTORAGE`.
    pub storage: String,
    /// Category folder of exchanged messages: `B2BEXCHANGE`.
    pub exchange: String,
    /// Category folder of platform messages (E0402): `B2PMESSAGE`.
    pub platform_message: String,
    /// The source folder Turnkey picks files up from: `SRC`.
    pub src: String,
    /// Inbound root under the Turnkey root, where downloaded results are unpacked: `Unpack`.
    pub unpack: String,
}

impl Default for TurnkeyLayout {
    fn default() -> Self {
        TurnkeyLayout {
            upcast: "UpCast".into(),
            storage: "B2SSTORAGE".into(),
            exchange: "B2BEXCHANGE".into(),
            platform_message: "B2PMESSAGE".into(),
            src: "SRC".into(),
            unpack: "Unpack".into(),
        }
    }
}

impl TurnkeyLayout {
    /// The folder Turnkey picks `message_type` files up from:
    /// `<root>/UpCast/B2SSTORAGE/F0401/SRC`. E-messages (E0402) are platform messages and go to
    /// `B2PMESSAGE` whatever the route.
    pub fn outbound_dir(&self, root: &Path, message_type: MessageType, route: Route) -> PathBuf {
        let category = match (message_type, route) {
            (MessageType::E0402, _) => &self.platform_message,
            (_, Route::Storage) => &self.storage,
            (_, Route::Exchange) => &self.exchange,
        };
        root.join(&self.upcast).join(category).join(message_type.as_str()).join(&self.src)
    }

    /// The folder under which Turnkey unpacks what it downloads: `<root>/Unpack`.
    pub fn inbound_dir(&self, root: &Path) -> PathBuf {
        root.join(&self.unpack)
    }
}

/// [`TurnkeyLayout::outbound_dir`] with the default layout.
pub fn outbound_dir(root: &Path, message_type: MessageType, route: Route) -> PathBuf {
    TurnkeyLayout::default().outbound_dir(root, message_type, route)
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` as `dir/file_name` so that no reader ever sees a partial file: [`write_staged`]
/// with the staging file in `dir` itself, named `.<file_name>.<pid>.<n>.tmp`.
///
/// Whether Turnkey ignores hidden `*.tmp` files in `SRC` is *unverified*; where it might not, use
/// [`write_staged`] with a staging folder outside `SRC` on the same filesystem.
pub fn write_atomically(dir: &Path, file_name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    write_staged(dir, dir, file_name, bytes)
}

/// Writes `bytes` to a new file in `staging` (which must be on `dir`'s filesystem), flushes it to
/// disk, links it into place as `dir/file_name` and flushes `dir`, so that the final name only ever
/// names the complete content, also across a crash.
///
/// `dir` is created when missing. An existing `dir/file_name` is never replaced: with identical
/// content the call succeeds (so a retry is harmless), with different content it fails with
/// [`io::ErrorKind::AlreadyExists`]. The link is a hard link, which fails when the name exists, so
/// two writers cannot both win; on a filesystem without hard links the file is renamed into place
/// after a check that the name is free (a race between two writers of the same name is then
/// possible). `file_name` must be a plain name (no separators, not hidden, not `..`).
pub fn write_staged(staging: &Path, dir: &Path, file_name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    if file_name.is_empty() || file_name.starts_with('.') || file_name.contains(['/', '\\', '\0']) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("not a plain file name: {file_name:?}")));
    }
    fs::create_dir_all(dir)?;
    fs::create_dir_all(staging)?;
    let target = dir.join(file_name);
    if same_content(&target, bytes)? {
        return Ok(target);
    }

    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = staging.join(format!(".{file_name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&temp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        match fs::hard_link(&temp, &target) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if same_content(&target, bytes)? {
                    Ok(())
                } else {
                    Err(exists_error(&target))
                }
            }
            Err(_) => {
                // No hard links here (some network or FAT filesystems): check, then rename.
                if target.exists() {
                    return if same_content(&target, bytes)? { Ok(()) } else { Err(exists_error(&target)) };
                }
                fs::rename(&temp, &target)
            }
        }
    })();
    let _ = fs::remove_file(&temp);
    result?;
    sync_dir(dir)?;
    Ok(target)
}

fn exists_error(target: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::AlreadyExists, format!("{} exists with different content; not overwritten", target.display()))
}

/// Whether `path` is a file holding exactly `bytes` (false when it does not exist).
fn same_content(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if f.metadata()?.len() != bytes.len() as u64 {
        return Ok(false);
    }
    let mut existing = Vec::with_capacity(bytes.len());
    f.read_to_end(&mut existing)?;
    Ok(existing == bytes)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    // Directories cannot be opened for syncing on this platform; the rename is durable by itself.
    Ok(())
}

/// The largest result file the parsers read (64 MiB); a daily SummaryResult of a busy seller is
/// far smaller.
pub const MAX_RESULT_BYTES: usize = 64 << 20;

/// The most XML nodes a result file may have (roxmltree's limit).
const MAX_NODES: u32 = 4_000_000;

/// Whether the platform accepted a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Accepted (SummaryResult `Good`, result code 0).
    Accepted,
    /// Rejected (SummaryResult `Failed`, a non-zero result or error code).
    Rejected,
}

/// The outcome of one message (one invoice, allowance, void …) as a result file reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageResult {
    /// `F0401`, … when the file says.
    pub message_type: Option<String>,
    /// The invoice or allowance number (`ReferenceNumber`, `InvoiceNumber`, …) when the file says.
    pub reference_number: Option<String>,
    /// The invoice date as written (YYYYMMDD) when the file says.
    pub invoice_date: Option<String>,
    /// Accepted or rejected.
    pub status: Status,
    /// The platform's error or result code, for a rejection.
    pub error_code: Option<String>,
    /// The platform's error text, for a rejection.
    pub error_message: Option<String>,
    /// The platform's message id (`<version>-<type>-<date>-<time>-<uuid>`) when the file says.
    pub message_id: Option<String>,
}

/// One uploaded message's line of a SummaryResult.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryMessage {
    /// `Info/Id`.
    pub message_id: Option<String>,
    /// `Info/MessageType`.
    pub message_type: Option<String>,
    /// `ResultType/Total/ResultDetailType/Count`.
    pub total: u64,
    /// `ResultType/Good/ResultDetailType/Count`.
    pub good: u64,
    /// `ResultType/Failed/ResultDetailType/Count`.
    pub failed: u64,
}

impl SummaryMessage {
    /// Whether `total = good + failed`.
    pub fn is_consistent(&self) -> bool {
        self.good.checked_add(self.failed) == Some(self.total)
    }
}

/// A parsed SummaryResult.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryResult {
    /// `RoutingInfo/From/PartyId`: the 統一編號 the summary is for.
    pub party_id: Option<String>,
    /// `RoutingInfo/FromVAC/RoutingId`.
    pub routing_id: Option<String>,
    /// One line per uploaded message.
    pub messages: Vec<SummaryMessage>,
    /// Every invoice listed under `Good` (accepted) or `Failed` (rejected; the summary gives no
    /// error code).
    pub results: Vec<MessageResult>,
}

/// A parsed ProcessResult (layout *unverified*, see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessResult {
    /// `MessageInfo/Id` when present.
    pub message_id: Option<String>,
    /// `MessageInfo/MessageType` (or a top-level `MessageType`) when present.
    pub message_type: Option<String>,
    /// One entry per result record.
    pub results: Vec<MessageResult>,
}

/// A parsed result file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResultFile {
    /// A ProcessResult.
    Process(ProcessResult),
    /// A SummaryResult.
    Summary(SummaryResult),
}

impl ResultFile {
    /// The per-message outcomes, whichever kind of file.
    pub fn results(&self) -> &[MessageResult] {
        match self {
            ResultFile::Process(p) => &p.results,
            ResultFile::Summary(s) => &s.results,
        }
    }
}

/// A result file cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResultError {
    /// The file is larger than [`MAX_RESULT_BYTES`].
    #[error("result file of {size} bytes, at most {max} read")]
    TooLarge {
        /// Its size (at least; reading stops past the limit).
        size: u64,
        /// The limit.
        max: usize,
    },
    /// The file is not UTF-8 (or declares another encoding).
    #[error("result file is not UTF-8: {0}")]
    Encoding(String),
    /// The file is not well-formed XML (or has a DTD).
    #[error("result file is not well-formed XML: {0}")]
    Xml(String),
    /// The root element is neither `ProcessResult` nor `SummaryResult`.
    #[error("root element <{0}> is not a Turnkey result")]
    UnknownRoot(String),
    /// A required element is absent.
    #[error("result file lacks <{0}>")]
    Missing(&'static str),
    /// An element's value cannot be read.
    #[error("<{field}>: cannot read {value:?}")]
    BadValue {
        /// The element.
        field: &'static str,
        /// Its text (cut to 64 characters).
        value: String,
    },
}

/// Decodes the bytes of a result file: UTF-8, with or without BOM, and no other declared encoding.
fn decode(bytes: &[u8]) -> Result<&str, ResultError> {
    if bytes.len() > MAX_RESULT_BYTES {
        return Err(ResultError::TooLarge { size: bytes.len() as u64, max: MAX_RESULT_BYTES });
    }
    if bytes.starts_with(&[0xFE, 0xFF]) || bytes.starts_with(&[0xFF, 0xFE]) {
        return Err(ResultError::Encoding("UTF-16 byte order mark".into()));
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| ResultError::Encoding(e.to_string()))?;
    if let Some(decl) = text.strip_prefix("<?xml") {
        let decl = &decl[..decl.find("?>").unwrap_or(decl.len())];
        if let Some(at) = decl.find("encoding") {
            let value: String = decl[at + "encoding".len()..]
                .chars()
                .skip_while(|c| c.is_whitespace() || *c == '=' || *c == '"' || *c == '\'')
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            if !value.eq_ignore_ascii_case("utf-8") && !value.eq_ignore_ascii_case("utf8") {
                return Err(ResultError::Encoding(format!("declared encoding {value:?}")));
            }
        }
    }
    Ok(text)
}

fn parse_doc(text: &str) -> Result<Document<'_>, ResultError> {
    let options = ParsingOptions { allow_dtd: false, nodes_limit: MAX_NODES, ..ParsingOptions::default() };
    Document::parse_with_options(text, options).map_err(|e| ResultError::Xml(e.to_string()))
}

/// The first child element named `name` (any namespace).
fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| n.is_element() && n.tag_name().name() == name)
}

fn children<'a, 'i: 'a>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |n| n.is_element() && n.tag_name().name() == name)
}

/// The trimmed text of the element at `path` below `node`, if present and not blank.
fn text_at(node: Node<'_, '_>, path: &[&str]) -> Option<String> {
    let mut n = node;
    for part in path {
        n = child(n, part)?;
    }
    let text: String = n.descendants().filter(Node::is_text).filter_map(|t| t.text()).collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Whether a result code means success: all zeros, `OK`, `S`, `SUCCESS` (*unverified*).
fn is_success_code(code: &str) -> bool {
    (!code.is_empty() && code.bytes().all(|b| b == b'0')) || ["OK", "S", "SUCCESS", "Y"].iter().any(|s| code.eq_ignore_ascii_case(s))
}

fn looks_like_invoice_number(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10 && b[..2].iter().all(u8::is_ascii_uppercase) && b[2..].iter().all(u8::is_ascii_digit)
}

fn count_at(node: Node<'_, '_>, bucket: &'static str) -> Result<u64, ResultError> {
    match text_at(node, &[bucket, "ResultDetailType", "Count"]) {
        None => Ok(0),
        Some(t) => t.parse().map_err(|_| ResultError::BadValue { field: "Count", value: t.chars().take(64).collect() }),
    }
}

/// Parses a result file of either kind, by its root element.
pub fn parse_result(bytes: &[u8]) -> Result<ResultFile, ResultError> {
    let text = decode(bytes)?;
    let doc = parse_doc(text)?;
    let root = doc.root_element();
    match root.tag_name().name() {
        "ProcessResult" => Ok(ResultFile::Process(process_from(root))),
        "SummaryResult" => summary_from(root).map(ResultFile::Summary),
        other => Err(ResultError::UnknownRoot(other.chars().take(64).collect())),
    }
}

/// Parses a ProcessResult; any other root is [`ResultError::UnknownRoot`].
pub fn parse_process_result(bytes: &[u8]) -> Result<ProcessResult, ResultError> {
    match parse_result(bytes)? {
        ResultFile::Process(p) => Ok(p),
        ResultFile::Summary(_) => Err(ResultError::UnknownRoot("SummaryResult".into())),
    }
}

/// Parses a SummaryResult; any other root is [`ResultError::UnknownRoot`].
pub fn parse_summary_result(bytes: &[u8]) -> Result<SummaryResult, ResultError> {
    match parse_result(bytes)? {
        ResultFile::Summary(s) => Ok(s),
        ResultFile::Process(_) => Err(ResultError::UnknownRoot("ProcessResult".into())),
    }
}

fn summary_from(root: Node<'_, '_>) -> Result<SummaryResult, ResultError> {
    let mut summary = SummaryResult {
        party_id: text_at(root, &["RoutingInfo", "From", "PartyId"]),
        routing_id: text_at(root, &["RoutingInfo", "FromVAC", "RoutingId"]),
        messages: Vec::new(),
        results: Vec::new(),
    };
    let Some(list) = child(root, "DetailList") else {
        return Ok(summary);
    };
    for message in children(list, "Message") {
        let message_id = text_at(message, &["Info", "Id"]);
        let message_type = text_at(message, &["Info", "MessageType"]);
        let Some(result_type) = child(message, "ResultType") else {
            return Err(ResultError::Missing("ResultType"));
        };
        summary.messages.push(SummaryMessage {
            message_id: message_id.clone(),
            message_type: message_type.clone(),
            total: count_at(result_type, "Total")?,
            good: count_at(result_type, "Good")?,
            failed: count_at(result_type, "Failed")?,
        });
        for (bucket, status) in [("Good", Status::Accepted), ("Failed", Status::Rejected)] {
            let Some(invoices) = child(result_type, bucket).and_then(|b| child(b, "ResultDetailType")).and_then(|d| child(d, "Invoices")) else {
                continue;
            };
            for invoice in children(invoices, "Invoice") {
                summary.results.push(MessageResult {
                    message_type: message_type.clone(),
                    reference_number: text_at(invoice, &["ReferenceNumber"]).or_else(|| text_at(invoice, &["InvoiceNumber"])),
                    invoice_date: text_at(invoice, &["InvoiceDate"]),
                    status,
                    error_code: None,
                    error_message: None,
                    message_id: message_id.clone(),
                });
            }
        }
    }
    Ok(summary)
}

const NUMBER_ELEMENTS: [&str; 4] = ["ReferenceNumber", "InvoiceNumber", "AllowanceNumber", "CancelInvoiceNumber"];

fn process_from(root: Node<'_, '_>) -> ProcessResult {
    let message_id = text_at(root, &["MessageInfo", "Id"]);
    let message_type = text_at(root, &["MessageInfo", "MessageType"]).or_else(|| text_at(root, &["MessageType"]));
    let mut results = Vec::new();

    // The platform form: Result/Info records with Code, Description, Parameter0..4.
    if let Some(result) = child(root, "Result") {
        for info in children(result, "Info") {
            let code = text_at(info, &["Code"]);
            let accepted = code.as_deref().is_none_or(is_success_code);
            let parameters: Vec<String> = (0..10).filter_map(|i| text_at(info, &[format!("Parameter{i}").as_str()])).collect();
            results.push(MessageResult {
                message_type: message_type.clone(),
                reference_number: parameters.iter().find(|p| looks_like_invoice_number(p)).cloned(),
                invoice_date: None,
                status: if accepted { Status::Accepted } else { Status::Rejected },
                error_code: if accepted { None } else { code },
                error_message: if accepted { None } else { text_at(info, &["Description"]) },
                message_id: message_id.clone(),
            });
        }
        if !results.is_empty() {
            return ProcessResult { message_id, message_type, results };
        }
    }

    // The flat form: the root, or each element holding a number or a result code, is a record.
    let is_record = |n: &Node<'_, '_>| n.is_element() && (NUMBER_ELEMENTS.iter().any(|e| child(*n, e).is_some()) || child(*n, "ResultCode").is_some());
    let records: Vec<Node<'_, '_>> = if is_record(&root) { vec![root] } else { root.descendants().filter(|n| *n != root && is_record(n)).collect() };
    for record in records {
        let result_code = text_at(record, &["ResultCode"]);
        let error_code = text_at(record, &["ErrorCode"]);
        let accepted = match (&result_code, &error_code) {
            (Some(code), _) => is_success_code(code),
            (None, Some(code)) => is_success_code(code),
            (None, None) => true,
        };
        let message = text_at(record, &["ErrorMessage"]).or_else(|| text_at(record, &["ErrorDescription"])).or_else(|| text_at(record, &["ResultMessage"]));
        results.push(MessageResult {
            message_type: text_at(record, &["MessageType"]).or_else(|| message_type.clone()),
            reference_number: NUMBER_ELEMENTS.iter().find_map(|e| text_at(record, &[e])),
            invoice_date: text_at(record, &["InvoiceDate"]),
            status: if accepted { Status::Accepted } else { Status::Rejected },
            error_code: if accepted { None } else { error_code.or(result_code) },
            error_message: if accepted { None } else { message },
            message_id: text_at(record, &["MessageId"]).or_else(|| message_id.clone()),
        });
    }
    ProcessResult { message_id, message_type, results }
}

/// A result file found by [`scan_inbound`], parsed or not.
#[derive(Debug)]
pub struct InboundFile {
    /// Where it lies.
    pub path: PathBuf,
    /// What it says, or why it cannot be read.
    pub parsed: Result<ResultFile, ResultError>,
}

/// How deep [`scan_inbound`] descends below the inbound folder.
const MAX_SCAN_DEPTH: usize = 8;

/// Lists and parses the result files under `<root>/Unpack` (default layout), sorted by path.
pub fn scan_inbound(root: &Path) -> io::Result<Vec<InboundFile>> {
    scan_dir(&TurnkeyLayout::default().inbound_dir(root))
}

/// Lists and parses the result files under `dir` (up to 8 folders deep, symbolic links not
/// followed, hidden names skipped), sorted by path. A file is a result file when it parses as one,
/// or when a folder on its path is named `ProcessResult` or `SummaryResult` (then a file that does
/// not parse is listed with its error, so that a broken result is noticed). Other files (E0501
/// envelopes, exchange messages) are left out. A missing `dir` lists nothing.
pub fn scan_dir(dir: &Path) -> io::Result<Vec<InboundFile>> {
    let mut found = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0usize, false)];
    while let Some((folder, depth, in_result_folder)) = stack.pop() {
        let entries = match fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound && depth == 0 => return Ok(found),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() {
                if depth < MAX_SCAN_DEPTH {
                    let marks = in_result_folder || name == "ProcessResult" || name == "SummaryResult";
                    stack.push((path, depth + 1, marks));
                }
            } else if kind.is_file() {
                let parsed = read_result_file(&path)?;
                let keep = in_result_folder || parsed.is_ok();
                if keep {
                    found.push(InboundFile { path, parsed });
                }
            }
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// Reads at most [`MAX_RESULT_BYTES`] + 1 bytes of `path` and parses them.
fn read_result_file(path: &Path) -> io::Result<Result<ResultFile, ResultError>> {
    let f = File::open(path)?;
    let len = f.metadata()?.len();
    if len > MAX_RESULT_BYTES as u64 {
        return Ok(Err(ResultError::TooLarge { size: len, max: MAX_RESULT_BYTES }));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    f.take(MAX_RESULT_BYTES as u64 + 1).read_to_end(&mut bytes)?;
    Ok(parse_result(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let root = Path::new("/opt/EINVTurnkey");
        assert_eq!(outbound_dir(root, MessageType::F0401, Route::Storage), Path::new("/opt/EINVTurnkey/UpCast/B2SSTORAGE/F0401/SRC"));
        assert_eq!(outbound_dir(root, MessageType::G0401, Route::Exchange), Path::new("/opt/EINVTurnkey/UpCast/B2BEXCHANGE/G0401/SRC"));
        assert_eq!(outbound_dir(root, MessageType::E0402, Route::Storage), Path::new("/opt/EINVTurnkey/UpCast/B2PMESSAGE/E0402/SRC"));
    }

    #[test]
    fn encodings() {
        assert!(decode(b"\xEF\xBB\xBF<a/>").is_ok());
        assert!(matches!(decode(b"\xFF\xFE<\0a\0/\0>\0"), Err(ResultError::Encoding(_))));
        assert!(matches!(decode(b"<a>\xB0\xDA</a>"), Err(ResultError::Encoding(_))));
        assert!(matches!(decode(b"<?xml version=\"1.0\" encoding=\"Big5\"?><a/>"), Err(ResultError::Encoding(_))));
        assert!(decode(b"<?xml version='1.0' encoding='utf-8'?><a/>").is_ok());
        assert!(decode(b"<?xml").is_ok());
    }

    #[test]
    fn success_codes() {
        assert!(is_success_code("0"));
        assert!(is_success_code("0000"));
        assert!(is_success_code("ok"));
        assert!(!is_success_code(""));
        assert!(!is_success_code("E001"));
        assert!(!is_success_code("1001"));
    }
}
