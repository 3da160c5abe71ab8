-- imgfleet: the table the earlier system created at initialisation, for parity with it.
-- Run once by the postgres image when its volume is initialised (docker/Dockerfile.db),
-- in the database POSTGRES_DB (imagedb).
--
-- The backend's own migrations (backend/src/db/migrations.ts) remain the source of truth:
-- they run at every start-up under an advisory lock and create or complete everything
-- (columns, constraints, indexes, the status-change trigger) with IF NOT EXISTS, so this
-- file only has to agree with them. It declares the same columns with the same
-- definitions; the deploy tests check that, and that the migrations run cleanly on top.

CREATE TABLE IF NOT EXISTS processed_images (
  id BIGSERIAL PRIMARY KEY,
  original_data BYTEA,
  processed_data BYTEA,
  uploaded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  processed_at TIMESTAMPTZ,
  status TEXT NOT NULL DEFAULT 'pending'
);

ALTER TABLE processed_images
  ADD COLUMN IF NOT EXISTS batch_id UUID,
  ADD COLUMN IF NOT EXISTS filename TEXT,
  ADD COLUMN IF NOT EXISTS content_type TEXT,
  ADD COLUMN IF NOT EXISTS original_width INTEGER,
  ADD COLUMN IF NOT EXISTS original_height INTEGER,
  ADD COLUMN IF NOT EXISTS width INTEGER,
  ADD COLUMN IF NOT EXISTS height INTEGER,
  ADD COLUMN IF NOT EXISTS error TEXT,
  ADD COLUMN IF NOT EXISTS error_code TEXT,
  ADD COLUMN IF NOT EXISTS attempts INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS worker_id TEXT,
  ADD COLUMN IF NOT EXISTS lease_expires_at TIMESTAMPTZ,
  ADD COLUMN IF NOT EXISTS started_at TIMESTAMPTZ,
  ADD COLUMN IF NOT EXISTS processing_ms INTEGER;

-- Migration 2 (uploads): the memory an original's decode needs.
ALTER TABLE processed_images ADD COLUMN IF NOT EXISTS decode_bytes BIGINT;
-- Migration 3 (retention): when the retention policy dropped an original's bytes.
ALTER TABLE processed_images ADD COLUMN IF NOT EXISTS original_dropped_at TIMESTAMPTZ;
-- Migration 4 (output options): the batch's options and the file's folder path.
ALTER TABLE processed_images ADD COLUMN IF NOT EXISTS output_options JSONB;
ALTER TABLE processed_images ADD COLUMN IF NOT EXISTS source_path TEXT;
-- Migration 7 (job costs): what each image's job needs, measured at upload.
ALTER TABLE processed_images ADD COLUMN IF NOT EXISTS job_memory_bytes BIGINT;
ALTER TABLE processed_images ADD COLUMN IF NOT EXISTS job_cpu_ms INTEGER;

-- JPEG bytes do not compress: store them out of line, uncompressed.
ALTER TABLE processed_images
  ALTER COLUMN original_data SET STORAGE EXTERNAL,
  ALTER COLUMN processed_data SET STORAGE EXTERNAL;
