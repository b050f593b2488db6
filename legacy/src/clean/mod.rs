//! The cleaning rules an import of the old data needs: phone numbers to one canonical form with a
//! reason when there is none ([`phone`]), addresses and names normalised for matching
//! ([`address`]), and likely duplicate customers grouped by a stated rule ([`mod@duplicates`]).

pub mod address;
pub mod duplicates;
pub mod phone;

pub use address::{normalize_address, normalize_name, similar_names, Address};
pub use duplicates::{duplicates, Group, Reason};
pub use phone::{normalize_phone, Phone, PhoneKind, PhoneReject};
