//! The server's public host key, pinned in configuration: parsed from a `.pub`-style line and
//! written into the one-line known_hosts file that `ssh` checks the server against.

use base64::Engine as _;

use crate::SftpError;

/// Key types a pinned host key may have: what OpenSSH 8.x/9.x accepts as host keys. DSA is left
/// out (OpenSSH dropped it), and so are certificates (a pinned key is a plain key).
const KNOWN_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// A server's public host key: its type (`ssh-ed25519`, …) and its base64 key blob.
///
/// Only a key that parses is ever written into the known_hosts file, so the line cannot carry
/// anything but one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKey {
    algorithm: String,
    base64: String,
}

impl HostKey {
    /// Parses `KEYTYPE BASE64 [comment]`, as in a `.pub` file or a line of `ssh-keyscan` output
    /// without its host field. The base64 must decode, and the key type written inside the blob
    /// must equal the stated one.
    pub fn parse(line: &str) -> Result<HostKey, SftpError> {
        let invalid = |why: String| SftpError::InvalidHostKey(why);
        let mut fields = line.split_whitespace();
        let (Some(algorithm), Some(base64)) = (fields.next(), fields.next()) else {
            return Err(invalid(format!("expected 'KEYTYPE BASE64 [comment]' as in a .pub file, got {:?}", shorten(line))));
        };
        if !KNOWN_TYPES.contains(&algorithm) {
            return Err(invalid(format!(
                "'{}' is not a host key type ({}); the line must start with the key type, without a host name",
                shorten(algorithm),
                KNOWN_TYPES.join(", ")
            )));
        }
        let blob = base64::engine::general_purpose::STANDARD.decode(base64).map_err(|e| invalid(format!("the {algorithm} key is not valid base64: {e}")))?;
        let embedded = blob_algorithm(&blob).ok_or_else(|| invalid(format!("the {algorithm} key blob does not start with its key type")))?;
        if embedded != algorithm.as_bytes() {
            return Err(invalid(format!("the line says {algorithm} but the key blob is a {} key", shorten(&String::from_utf8_lossy(embedded)))));
        }
        if blob.len() <= 4 + embedded.len() {
            return Err(invalid(format!("the {algorithm} key blob holds no key after its type")));
        }
        Ok(HostKey { algorithm: algorithm.to_owned(), base64: base64.to_owned() })
    }

    /// The key type, as in `ssh-ed25519`.
    pub fn algorithm(&self) -> &str {
        &self.algorithm
    }

    /// The key blob in base64, as in the second field of a `.pub` line.
    pub fn base64(&self) -> &str {
        &self.base64
    }

    /// The `HostKeyAlgorithms` value that makes `ssh` ask the server for this key's type. An RSA
    /// key is signed with SHA-2 (`rsa-sha2-*`): OpenSSH refuses SHA-1 `ssh-rsa` signatures.
    pub fn host_key_algorithms(&self) -> String {
        match self.algorithm.as_str() {
            "ssh-rsa" => "rsa-sha2-512,rsa-sha2-256".to_owned(),
            other => other.to_owned(),
        }
    }

    /// The known_hosts line pinning this key for `host` at `port` (`[host]:port` unless 22).
    pub fn known_hosts_line(&self, host: &str, port: u16) -> String {
        let pattern = if port == 22 { host.to_owned() } else { format!("[{host}]:{port}") };
        format!("{pattern} {} {}\n", self.algorithm, self.base64)
    }
}

impl std::fmt::Display for HostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.algorithm, self.base64)
    }
}

/// The key type name a public key blob starts with (an SSH `string`), if it is complete.
fn blob_algorithm(blob: &[u8]) -> Option<&[u8]> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    blob.get(4..4usize.checked_add(len)?)
}

/// At most 60 characters of outside text for an error message.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINzCYJQ/GkXXjfSh4ftRISO10VUXX9/s6FVav+aFFD2t root@bank";

    fn blob_b64(name: &str, rest: &[u8]) -> String {
        let mut blob = (name.len() as u32).to_be_bytes().to_vec();
        blob.extend_from_slice(name.as_bytes());
        blob.extend_from_slice(rest);
        base64::engine::general_purpose::STANDARD.encode(blob)
    }

    #[test]
    fn parses_a_pub_line_with_its_comment() {
        let key = HostKey::parse(ED25519).unwrap();
        assert_eq!(key.algorithm(), "ssh-ed25519");
        assert_eq!(key.base64(), "AAAAC3NzaC1lZDI1NTE5AAAAINzCYJQ/GkXXjfSh4ftRISO10VUXX9/s6FVav+aFFD2t");
        assert_eq!(key.to_string(), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINzCYJQ/GkXXjfSh4ftRISO10VUXX9/s6FVav+aFFD2t");
        assert_eq!(HostKey::parse(&format!("  {ED25519}\n")).unwrap(), key);
    }

    #[test]
    fn writes_known_hosts_lines_with_the_port_in_brackets_unless_22() {
        let key = HostKey::parse(ED25519).unwrap();
        assert_eq!(key.known_hosts_line("sftp.bank.tw", 22), format!("sftp.bank.tw {key}\n"));
        assert_eq!(key.known_hosts_line("127.0.0.1", 2222), format!("[127.0.0.1]:2222 {key}\n"));
        assert_eq!(key.host_key_algorithms(), "ssh-ed25519");
    }

    #[test]
    fn rejects_bad_base64() {
        let err = HostKey::parse("ssh-ed25519 AAAA!!!notbase64").unwrap_err();
        assert!(matches!(&err, SftpError::InvalidHostKey(m) if m.contains("not valid base64")), "{err}");
    }

    #[test]
    fn rejects_a_blob_of_another_key_type() {
        let line = format!("ssh-ed25519 {}", blob_b64("ecdsa-sha2-nistp256", b"\0\0\0\x08nistp256"));
        let err = HostKey::parse(&line).unwrap_err();
        assert!(matches!(&err, SftpError::InvalidHostKey(m) if m.contains("says ssh-ed25519 but the key blob is a ecdsa-sha2-nistp256 key")), "{err}");
    }

    #[test]
    fn rejects_a_blob_without_a_type_or_without_a_key() {
        for b64 in ["AAAA", "AAAAZmFrZQ==", &blob_b64("ssh-ed25519", b"")] {
            let err = HostKey::parse(&format!("ssh-ed25519 {b64}")).unwrap_err();
            assert!(matches!(err, SftpError::InvalidHostKey(_)), "{b64}: {err}");
        }
        assert!(HostKey::parse(&format!("ssh-ed25519 {}", blob_b64("ssh-ed25519", b"\0\0\0\x20"))).is_ok());
    }

    #[test]
    fn rejects_a_line_with_a_host_field_or_an_unknown_type() {
        let with_host = format!("[sftp.bank.tw]:22 {ED25519}");
        let err = HostKey::parse(&with_host).unwrap_err();
        assert!(err.to_string().contains("without a host name"), "{err}");
        let dss = format!("ssh-dss {}", blob_b64("ssh-dss", b"\0\0\0\x01p"));
        assert!(HostKey::parse(&dss).is_err());
        assert!(HostKey::parse("").is_err());
        assert!(HostKey::parse("ssh-ed25519").is_err());
    }

    #[test]
    fn asks_for_sha2_signatures_of_an_rsa_key() {
        let line = format!("ssh-rsa {}", blob_b64("ssh-rsa", b"\0\0\0\x03\x01\0\x01"));
        assert_eq!(HostKey::parse(&line).unwrap().host_key_algorithms(), "rsa-sha2-512,rsa-sha2-256");
    }
}
