-- Variations and image sizes (same statements in both dialects): a job makes 1 to 4 images from one prompt, at a size tier, and
-- counts one quota unit per image. `image` (the first image) stays for rows and readers that
-- predate this; `images` holds them all.

ALTER TABLE jobs ADD COLUMN image_count BIGINT NOT NULL DEFAULT 1;   -- images asked for (= quota units when quota_day is set)
ALTER TABLE jobs ADD COLUMN image_size TEXT NOT NULL DEFAULT '1K';   -- 1K, 2K or 4K
ALTER TABLE jobs ADD COLUMN images_done BIGINT NOT NULL DEFAULT 0;   -- images finished (made or failed) so far
ALTER TABLE jobs ADD COLUMN images TEXT;                             -- every ImageView as a JSON array, once succeeded
ALTER TABLE jobs ADD COLUMN failed_images TEXT;                      -- {"count","code"} as JSON when some images failed
