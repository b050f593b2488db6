-- The day model a planning job solved (`LiveModel`: the solver input without its travel
-- matrices, and the orders, vehicles and depots behind its indices), so replans start from it
-- without reading ids back out of the solver input's names.
ALTER TABLE plan_jobs ADD COLUMN model TEXT;
