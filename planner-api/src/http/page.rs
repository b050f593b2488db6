//! Pages of every collection under `/v1`, one shape for all: [`ListResponse`] (`items`,
//! `limit`, `next`, and `total` and `offset` on offset pages), the page parameters
//! ([`PageQuery`], parsed by [`super::extract::ListParams`]) and the opaque cursor of keyset pages.
//!
//! A client pages either by offset (`?limit=&offset=`, counting every match: `total`) or by key
//! (`?after=` empty for the first page, then each page's `next`; nothing is counted, each page is
//! one index range scan, see [`crate::store::page`]). `next` is on both kinds of page, so an
//! offset page can also be followed by key. The store keys every list by id; the cursor is that
//! id behind a version prefix (`k1.` and the id in hex) so that clients do not build cursors and
//! the encoding can change (a `k2.` would be read next to `k1.`).

use crate::store::{Page, PageRequest};
use serde::Serialize;

/// One page of a list endpoint: by offset (with the number of matches) or by key (`?after=`,
/// without).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListResponse<T> {
    /// The page's items, in the list's order.
    pub items: Vec<T>,
    /// How many items match in total: only on offset pages (a keyset page counts nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// The page size used.
    pub limit: i64,
    /// The offset used: only on offset pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    /// The cursor of the next page, for `?after=`; `null` on the last page.
    pub next: Option<String>,
}

impl<T> ListResponse<T> {
    /// Wraps a store page with the request's pagination.
    pub fn new(page: Page<T>, request: PageRequest) -> Self {
        ListResponse { items: page.items, total: page.total, limit: request.limit, offset: request.offset_value(), next: page.next.map(cursor) }
    }
}

/// The page parameters every list takes (documented once for the OpenAPI document; parsed by
/// [`super::extract::ListParams`]).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// Offset pages (with `total` and `offset`): how many items to skip. Not with `after`.
    pub offset: Option<i64>,
    /// Keyset pages: the `next` cursor of the previous page, or empty for the first page. Each
    /// page is one index range scan; no `total`.
    pub after: Option<String>,
}

/// The version prefix of the cursors this server writes.
const CURSOR_V1: &str = "k1.";

/// The cursor of the page after the item with key `key`: opaque to clients.
pub fn cursor(key: i64) -> String {
    format!("{CURSOR_V1}{key:x}")
}

/// The key a cursor of [`cursor`] stands for; `None` for anything else.
pub fn cursor_key(raw: &str) -> Option<i64> {
    raw.strip_prefix(CURSOR_V1)
        .filter(|h| (1..=16).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|h| i64::from_str_radix(h, 16).ok())
        .filter(|key| *key > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_its_key_and_old_order_cursors_stay_valid() {
        for key in [1, 42, 255, i64::MAX] {
            assert_eq!(cursor_key(&cursor(key)), Some(key));
        }
        assert_eq!(cursor(26), "k1.1a", "the form `GET /v1/orders` has written since keyset pages began");
        assert_eq!(cursor_key("k1.1a"), Some(26));
    }

    #[test]
    fn refuses_what_no_page_wrote() {
        for raw in ["42", "k1.", "k1.0", "k1.-1", "k1.+1", "k1.zz", "k2.1a", "k1.10000000000000000", "k1.8000000000000000", " k1.1"] {
            assert_eq!(cursor_key(raw), None, "{raw}");
        }
    }
}
