-- Sessions, generation jobs, image records and daily quota counters (SQLite dialect; the
-- PostgreSQL twin in ../postgres has the same tables and columns). Times are Unix epoch
-- milliseconds, job and image creation times microseconds (they order a session's jobs).

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,           -- 32 hex characters (the cookie's random id)
    data TEXT NOT NULL,                     -- the flow state as JSON (holds the written prompt)
    version BIGINT NOT NULL,                -- compare-and-swap: a write names the version it read
    created_at BIGINT NOT NULL,
    touched_at BIGINT NOT NULL              -- last use; idle expiry and the session cap read it
);
CREATE INDEX sessions_by_touched ON sessions (touched_at);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    status TEXT NOT NULL,                   -- queued, synthesizing, rendering, succeeded, failed
    aspect_ratio TEXT NOT NULL,
    reuse_prompt BOOLEAN NOT NULL,
    image TEXT,                             -- the ImageView as JSON, once succeeded
    error TEXT,                             -- the {"error","code"} body as JSON, once failed
    instance TEXT NOT NULL,                 -- the server instance running it
    lease_until BIGINT NOT NULL,            -- that instance renews this; past it the job is interrupted
    quota_day BIGINT,                       -- the UTC day a quota unit was counted on, if any
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_by_session ON jobs (session_id, created_at);
-- At most one unfinished job per session, whichever instance inserts it.
CREATE UNIQUE INDEX jobs_one_running_per_session ON jobs (session_id)
    WHERE status IN ('queued', 'synthesizing', 'rendering');
CREATE INDEX jobs_running_by_lease ON jobs (lease_until)
    WHERE status IN ('queued', 'synthesizing', 'rendering');

CREATE TABLE images (
    id TEXT PRIMARY KEY NOT NULL,           -- 32 hex characters; also the object's key
    session_id TEXT NOT NULL,               -- no foreign key: an image outlives a start-over
    job_id TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    byte_size BIGINT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    alt TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX images_by_created ON images (created_at);

CREATE TABLE quota_usage (
    day BIGINT NOT NULL,                    -- days since the Unix epoch (UTC)
    subject TEXT NOT NULL,                  -- 'global', or 'session:' and the session id
    used BIGINT NOT NULL,
    PRIMARY KEY (day, subject)
);
