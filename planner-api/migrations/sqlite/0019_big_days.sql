-- Big days (SQLite): nothing stored grows with the square of a plan's orders, and order lists
-- page by key.
--
-- 1. A job's solver input was stored with its travel matrices (four n×n arrays: 552 MB for a
--    day of 3,000 orders). The day model (`plan_jobs.model`, since 0014) holds the same input
--    without them, and downloads and replans compute the matrices again from the travel source,
--    so the copy goes where a model exists; older jobs keep their input without the matrices.
--    (The file shrinks at the next VACUUM.)
UPDATE plan_jobs SET problem = NULL WHERE model IS NOT NULL;
UPDATE plan_jobs SET problem = json_remove(problem,
        '$.profiles[0].distance_m', '$.profiles[0].duration_s', '$.profiles[1].distance_m', '$.profiles[1].duration_s',
        '$.profiles[2].distance_m', '$.profiles[2].duration_s', '$.profiles[3].distance_m', '$.profiles[3].duration_s')
    WHERE problem IS NOT NULL AND json_valid(problem);

-- 2. Keyset pages of orders (`WHERE <filters> AND id > cursor ORDER BY id LIMIT n`): each
--    filter's index ends with the id, so a page is one range scan in id order, whatever the
--    number of matching rows.
DROP INDEX orders_date_status;
DROP INDEX orders_customer;
DROP INDEX orders_plan;
CREATE INDEX orders_date_status_id ON orders (delivery_date, status, id);
CREATE INDEX orders_date_id ON orders (delivery_date, id);
CREATE INDEX orders_status_id ON orders (status, id);
CREATE INDEX orders_customer_id ON orders (customer_id, id);
CREATE INDEX orders_plan_id ON orders (plan_id, id);
