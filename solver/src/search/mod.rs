//! Construction and local search.
