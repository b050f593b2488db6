//! Request ids: an incoming `x-request-id` is echoed in the answer and written to the logs, so
//! only short ids of harmless characters are kept (`planner_api::http::edge` replaces any other
//! with a fresh UUID).

/// Longest request id kept, in bytes.
pub const MAX_LEN: usize = 64;

/// Whether `id` is a request id worth keeping: 1 to [`MAX_LEN`] bytes of
/// `A-Z a-z 0-9 - _ . :`.
pub fn is_valid(id: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&id.len()) && id.iter().all(|&b| is_allowed(b))
}

/// Whether `b` may appear in a kept request id.
pub fn is_allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_short_safe_request_ids_only() {
        assert!(is_valid(b"0b6a3f0e-4f5c-4c1e-9b1a-1f2e3d4c5b6a"));
        assert!(is_valid(b"trace.42:a_b"));
        assert!(is_valid("x".repeat(MAX_LEN).as_bytes()));
        assert!(!is_valid(b""));
        assert!(!is_valid("x".repeat(MAX_LEN + 1).as_bytes()));
        assert!(!is_valid(b"a b"));
        assert!(!is_valid(b"<script>"));
        assert!(!is_valid(b"line\r\nbreak"));
        assert!(!is_valid("請求".as_bytes()));
    }
}
