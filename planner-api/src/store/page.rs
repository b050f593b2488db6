//! Pages of every list query, one mechanism for all collections: by offset (`LIMIT … OFFSET …`,
//! with the number of matches) or by key (`WHERE <filters> AND id > key ORDER BY id LIMIT …`,
//! counting nothing).
//!
//! Every collection is ordered by its id, ascending (reference data, orders) or descending
//! (newest first: plans, audit, invoices, Turnkey messages), so the key of a row is its id and
//! the next page starts after the last id of this one. A keyset page reads only the rows it
//! returns through the primary key or an index that starts with the filters and ends with the
//! id (migrations 0019 and 0020), so its cost does not grow with the number of matches and a
//! big list holds up no one; rows inserted meanwhile come on later pages of an ascending list
//! (they have higher ids), none skipped or repeated.
//!
//! A list query is built from its [`Conditions`] (only the filters set, so each query can use
//! the index that starts with them instead of testing `$n IS NULL OR …` row by row) and the
//! [`PageRequest`], run with [`fetch_page!`] on either backend, and made a [`Page`] with
//! [`ListQuery::page`].

use chrono::NaiveDate;

/// Default page size of list queries.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page size of list queries.
pub const MAX_LIMIT: i64 = 200;

/// Where a page starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageStart {
    /// After skipping this many matches (offset pages; the matches are counted).
    Offset(i64),
    /// After the row with this key in the list's order, or at the first row when `None`
    /// (keyset pages; nothing is counted).
    After(Option<i64>),
}

/// A page of a list query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// Number of rows to return (1..=[`MAX_LIMIT`] from the API).
    pub limit: i64,
    /// Where the page starts.
    pub start: PageStart,
}

impl PageRequest {
    /// `limit` rows after skipping `offset`, with the number of matches.
    pub const fn offset(limit: i64, offset: i64) -> PageRequest {
        PageRequest { limit, start: PageStart::Offset(offset) }
    }

    /// `limit` rows after the row with key `after` (from the first when `None`), counting nothing.
    pub const fn after(limit: i64, after: Option<i64>) -> PageRequest {
        PageRequest { limit, start: PageStart::After(after) }
    }

    /// The offset of an offset page (`None` on keyset pages).
    pub const fn offset_value(&self) -> Option<i64> {
        match self.start {
            PageStart::Offset(o) => Some(o),
            PageStart::After(_) => None,
        }
    }

    /// The SQL of this page of `table`'s `columns` matching `conditions`, in `order` of the id.
    /// Offset pages add `COUNT(*) OVER () AS total` (one round trip for page and count) and keep
    /// a count query for a page past the end; keyset pages ask for one row more than the page
    /// to know whether another follows.
    pub(crate) fn query<'a>(&self, columns: &str, table: &str, mut conditions: Conditions<'a>, order: IdOrder) -> ListQuery<'a> {
        let direction = match order {
            IdOrder::Ascending => "ASC",
            IdOrder::Descending => "DESC",
        };
        match self.start {
            PageStart::Offset(offset) => {
                let filters = conditions.values.len();
                let clause = conditions.clause();
                let count = format!("SELECT COUNT(*) FROM {table} WHERE {clause}");
                let limit = conditions.param(Bound::Int(self.limit));
                let skip = conditions.param(Bound::Int(offset));
                let sql =
                    format!("SELECT {columns}, COUNT(*) OVER () AS total FROM {table} WHERE {clause} ORDER BY id {direction} LIMIT {limit} OFFSET {skip}");
                ListQuery { sql, values: conditions.values, count: Some(Count { sql: count, values: filters, offset }), limit: self.limit, start: self.start }
            }
            PageStart::After(key) => {
                if let Some(key) = key {
                    let p = conditions.param(Bound::Int(key));
                    let op = match order {
                        IdOrder::Ascending => ">",
                        IdOrder::Descending => "<",
                    };
                    conditions.term(format!("id {op} {p}"));
                }
                let clause = conditions.clause();
                let limit = conditions.param(Bound::Int(self.limit.saturating_add(1)));
                let sql = format!("SELECT {columns} FROM {table} WHERE {clause} ORDER BY id {direction} LIMIT {limit}");
                ListQuery { sql, values: conditions.values, count: None, limit: self.limit, start: self.start }
            }
        }
    }
}

/// One page of results.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// How many rows match in total: on offset pages only (keyset pages count nothing).
    pub total: Option<i64>,
    /// The key of the last row when more rows follow (the next page starts after it), else
    /// `None`.
    pub next: Option<i64>,
}

/// The order of a list: by id, ascending or descending (newest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdOrder {
    /// Oldest first.
    Ascending,
    /// Newest first.
    Descending,
}

/// A value bound to a list query.
#[derive(Clone, Debug)]
pub(crate) enum Bound<'a> {
    /// A day.
    Date(NaiveDate),
    /// Text.
    Text(std::borrow::Cow<'a, str>),
    /// An integer (ids, limits).
    Int(i64),
}

/// The filters of a list query, joined with `AND`, and their values in parameter order from `$1`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Conditions<'a> {
    terms: Vec<String>,
    values: Vec<Bound<'a>>,
}

impl<'a> Conditions<'a> {
    /// Adds a value and returns its placeholder (`$n`) to write into a term.
    pub(crate) fn param(&mut self, value: Bound<'a>) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    /// Adds a term written with placeholders from [`Conditions::param`].
    pub(crate) fn term(&mut self, sql: String) {
        self.terms.push(sql);
    }

    /// Adds `column = value`.
    pub(crate) fn eq(&mut self, column: &str, value: Bound<'a>) {
        let p = self.param(value);
        self.term(format!("{column} = {p}"));
    }

    /// The `WHERE` clause (`TRUE` when there is no term).
    fn clause(&self) -> String {
        if self.terms.is_empty() {
            "TRUE".to_owned()
        } else {
            self.terms.join(" AND ")
        }
    }
}

/// The count query of an offset page.
#[derive(Clone, Debug)]
pub(crate) struct Count {
    /// `SELECT COUNT(*) …` with the filters.
    pub(crate) sql: String,
    /// How many of the query's values it binds (the filters' come first).
    pub(crate) values: usize,
    /// The page's offset: at 0, an empty page means no match and needs no count.
    pub(crate) offset: i64,
}

/// A list query ready to run with [`fetch_page!`].
#[derive(Clone, Debug)]
pub(crate) struct ListQuery<'a> {
    /// The page's SQL.
    pub(crate) sql: String,
    /// Its values in parameter order.
    pub(crate) values: Vec<Bound<'a>>,
    /// On offset pages, how to count the matches when the page is empty.
    pub(crate) count: Option<Count>,
    limit: i64,
    start: PageStart,
}

impl ListQuery<'_> {
    /// The page of the rows fetched (`key` gives a row's id): a keyset query fetched one row
    /// more than the page, which says that another page follows; an offset page has more after
    /// it while `offset + rows < total`.
    pub(crate) fn page<T>(&self, mut items: Vec<T>, total: Option<i64>, key: impl Fn(&T) -> i64) -> Page<T> {
        let limit = usize::try_from(self.limit).unwrap_or(0);
        let more = match (self.start, total) {
            (PageStart::After(_), _) => {
                let more = items.len() > limit;
                items.truncate(limit);
                more
            }
            (PageStart::Offset(offset), Some(total)) => offset.saturating_add(i64::try_from(items.len()).unwrap_or(i64::MAX)) < total,
            (PageStart::Offset(_), None) => false,
        };
        let next = items.last().filter(|_| more).map(key);
        Page { items, total, next }
    }
}

/// Binds `values` (`&[Bound]`) to `query` in order.
macro_rules! bind_all {
    ($query:expr, $values:expr) => {{
        let mut q = $query;
        for v in $values {
            q = match v {
                $crate::store::page::Bound::Date(d) => q.bind(*d),
                $crate::store::page::Bound::Text(t) => q.bind(t.as_ref()),
                $crate::store::page::Bound::Int(i) => q.bind(*i),
            };
        }
        q
    }};
}
pub(crate) use bind_all;

/// Runs a [`ListQuery`] on `$pool` (inside `with_pool!`), mapping each row with `$map`
/// (`Result<_, E>` with `E` into [`super::StoreError`]); evaluates to `(rows, total)`, the total on
/// offset pages only. Use with `?` in a function returning `Result<_, StoreError>`.
macro_rules! fetch_page {
    ($pool:expr, $query:expr, |$row:ident| $map:expr) => {{
        let q: &$crate::store::page::ListQuery<'_> = &$query;
        let rows = $crate::store::page::bind_all!(sqlx::query(&q.sql), &q.values).fetch_all($pool).await?;
        let total: Option<i64> = match (&q.count, rows.first()) {
            (None, _) => None,
            (Some(_), Some(first)) => Some(sqlx::Row::try_get(first, "total")?),
            (Some(count), None) if count.offset == 0 => Some(0),
            // A page past the end still says how many match.
            (Some(count), None) => Some($crate::store::page::bind_all!(sqlx::query_scalar(&count.sql), &q.values[..count.values]).fetch_one($pool).await?),
        };
        let rows = rows.iter().map(|$row| $map).collect::<Result<Vec<_>, _>>()?;
        (rows, total)
    }};
}
pub(crate) use fetch_page;

#[cfg(test)]
mod tests {
    use super::*;

    fn conditions() -> Conditions<'static> {
        let mut c = Conditions::default();
        c.eq("status", Bound::Text("queued".into()));
        c
    }

    #[test]
    fn an_offset_page_counts_and_skips() {
        let q = PageRequest::offset(10, 20).query("id, name", "t", conditions(), IdOrder::Descending);
        assert_eq!(q.sql, "SELECT id, name, COUNT(*) OVER () AS total FROM t WHERE status = $1 ORDER BY id DESC LIMIT $2 OFFSET $3");
        let count = q.count.as_ref().expect("offset pages count");
        assert_eq!((count.sql.as_str(), count.values), ("SELECT COUNT(*) FROM t WHERE status = $1", 1));
        assert!(matches!(q.values[1..], [Bound::Int(10), Bound::Int(20)]), "{:?}", q.values);
    }

    #[test]
    fn a_keyset_page_starts_after_the_key_in_the_lists_order_and_asks_for_one_more_row() {
        let q = PageRequest::after(10, Some(7)).query("id", "t", conditions(), IdOrder::Ascending);
        assert_eq!(q.sql, "SELECT id FROM t WHERE status = $1 AND id > $2 ORDER BY id ASC LIMIT $3");
        assert!(q.count.is_none() && matches!(q.values[1..], [Bound::Int(7), Bound::Int(11)]), "{:?}", q.values);
        let q = PageRequest::after(10, Some(7)).query("id", "t", Conditions::default(), IdOrder::Descending);
        assert_eq!(q.sql, "SELECT id FROM t WHERE id < $1 ORDER BY id DESC LIMIT $2");
        let q = PageRequest::after(10, None).query("id", "t", Conditions::default(), IdOrder::Descending);
        assert_eq!(q.sql, "SELECT id FROM t WHERE TRUE ORDER BY id DESC LIMIT $1", "no key: from the first row");
    }

    #[test]
    fn names_the_next_key_only_when_more_rows_follow() {
        let keyset = PageRequest::after(3, None).query("id", "t", Conditions::default(), IdOrder::Ascending);
        let page = keyset.page(vec![1, 2, 3, 4], None, |i| *i);
        assert_eq!((page.items, page.next), (vec![1, 2, 3], Some(3)), "the extra row is dropped");
        let last = keyset.page(vec![1, 2, 3], None, |i| *i);
        assert_eq!((last.items, last.next), (vec![1, 2, 3], None), "a full last page has no next");
        let offset = PageRequest::offset(3, 3).query("id", "t", Conditions::default(), IdOrder::Ascending);
        assert_eq!(offset.page(vec![4, 5, 6], Some(7), |i| *i).next, Some(6));
        assert_eq!(offset.page(vec![4, 5, 6], Some(6), |i| *i).next, None);
        assert_eq!(offset.page(Vec::<i64>::new(), Some(2), |i| *i).next, None, "past the end");
    }
}
