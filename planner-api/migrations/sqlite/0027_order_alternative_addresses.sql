-- Alternative addresses per order (issue 21): other places where an order may be delivered
-- instead of its customer's address (the shop besides the home), each with its position, as a
-- JSON list like the other list columns; the plan serves the order at exactly one of them.
-- Additive only (expand): the previous release neither reads nor writes it, and its inserts
-- get `[]`.
ALTER TABLE orders ADD COLUMN alternative_addresses TEXT NOT NULL DEFAULT '[]';
