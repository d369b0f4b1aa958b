-- Edit in words (issue 11): the `thoughtSignature` Gemini returned with an image, sent back when
-- the image is edited so the model keeps its context. Opaque base64; NULL when none came (older
-- models, the offline renderer, the task services). The SQLite and PostgreSQL files are the same SQL.
ALTER TABLE images ADD COLUMN thought_signature TEXT;
