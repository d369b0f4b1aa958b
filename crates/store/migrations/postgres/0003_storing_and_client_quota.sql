-- A job's `storing` stage (the image is being saved) counts as unfinished, and each counted
-- generation remembers the client it was counted for (QUOTA_PER_CLIENT_DAY), so an interrupted
-- job gives that client's unit back too.

DROP INDEX jobs_one_running_per_session;
DROP INDEX jobs_running_by_lease;
CREATE UNIQUE INDEX jobs_one_running_per_session ON jobs (session_id)
    WHERE status IN ('queued', 'synthesizing', 'rendering', 'storing');
CREATE INDEX jobs_running_by_lease ON jobs (lease_until)
    WHERE status IN ('queued', 'synthesizing', 'rendering', 'storing');

-- 'client:' and the IPv4 address or IPv6 /64 the unit was counted for; NULL when none was.
ALTER TABLE jobs ADD COLUMN quota_client TEXT;
