-- Reference images, the session's gallery and recipe links (issue 11). The SQLite and
-- PostgreSQL files are the same SQL.

-- What the gallery shows of each image beside its bytes: the summary line, the ratio, whether
-- the offline renderer drew it, its size tier, and how it was made (the recipe as JSON, never the prompt).
-- Images made before this migration get their job's ratio and no recipe; the gallery skips them.
ALTER TABLE images ADD COLUMN summary TEXT NOT NULL DEFAULT '';
ALTER TABLE images ADD COLUMN aspect_ratio TEXT NOT NULL DEFAULT '1:1';
ALTER TABLE images ADD COLUMN offline_preview BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE images ADD COLUMN image_size TEXT NOT NULL DEFAULT '1K';
ALTER TABLE images ADD COLUMN recipe TEXT;
UPDATE images SET aspect_ratio = (SELECT jobs.aspect_ratio FROM jobs WHERE jobs.id = images.job_id)
    WHERE EXISTS (SELECT 1 FROM jobs WHERE jobs.id = images.job_id);
CREATE INDEX images_by_session ON images (session_id, created_at);

-- A session's reference images: the bytes (re-encoded without metadata) in the object store
-- under references/<id>. No foreign key: the sweep drops a gone session's references and their
-- bytes together.
CREATE TABLE reference_images (
    id TEXT PRIMARY KEY NOT NULL,           -- 32 hex characters
    session_id TEXT NOT NULL,
    slot BIGINT NOT NULL CHECK (slot BETWEEN 1 AND 3), -- at most three per session, whoever inserts
    mime_type TEXT NOT NULL,
    byte_size BIGINT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    note TEXT NOT NULL,
    created_at BIGINT NOT NULL              -- microseconds: the upload order
);
CREATE UNIQUE INDEX reference_images_slot ON reference_images (session_id, slot);

-- Recipe links: a copy of an image's recipe under an unguessable id, readable without a
-- session, kept as long as images are (IMAGE_RETENTION_DAYS).
CREATE TABLE recipes (
    id TEXT PRIMARY KEY NOT NULL,           -- 32 hex characters (128 random bits)
    image_id TEXT NOT NULL,                 -- the image it made (its thumbnail, while it lasts)
    recipe TEXT NOT NULL,
    created_at BIGINT NOT NULL              -- microseconds, like images
);
CREATE INDEX recipes_by_created ON recipes (created_at);
