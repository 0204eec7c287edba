-- Why: in production the migrations run as a user allowed DDL (the migration Job) and history as
-- a user that may only read and write rows, yet history's loops add and drop day partitions, which
-- PostgreSQL lets only the tables' owner do. Both go through these two functions, so they run with
-- their owner's rights (the migrating user, who owns the tables): history's user may call them and
-- nothing more. A SECURITY DEFINER function must not resolve names through a path its caller
-- controls: each gets the search_path the migration runs with, where the tables are.

-- Up Migration

ALTER FUNCTION taskflow_ensure_partitions(date, date) SECURITY DEFINER SET search_path FROM CURRENT;
ALTER FUNCTION taskflow_drop_day_partitions(date) SECURITY DEFINER SET search_path FROM CURRENT;

-- Down Migration

ALTER FUNCTION taskflow_drop_day_partitions(date) SECURITY INVOKER RESET search_path;
ALTER FUNCTION taskflow_ensure_partitions(date, date) SECURITY INVOKER RESET search_path;
