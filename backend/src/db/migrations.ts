/**
 * Schema migrations, applied at start-up under a Postgres advisory lock so
 * that several replicas starting at once apply each exactly once.
 *
 * The table keeps the earlier system's name and columns (id, original_data,
 * processed_data, uploaded_at, processed_at, status) so its operational SQL
 * still works; everything else is added beside them.
 */
import type pg from 'pg';

/** Arbitrary, fixed: the advisory lock key of imgfleet's migrations. */
const MIGRATION_LOCK_KEY = 0x1f9e_e7;

export const STATUS_CHANNEL = 'imgfleet_status';
export const WORK_CHANNEL = 'imgfleet_work';
export const DELETED_CHANNEL = 'imgfleet_deleted';

export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'processed_images queue table',
    sql: `
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
-- JPEG bytes do not compress: storing them EXTERNAL (out of line, uncompressed)
-- saves the CPU Postgres would spend trying.
ALTER TABLE processed_images
  ALTER COLUMN original_data SET STORAGE EXTERNAL,
  ALTER COLUMN processed_data SET STORAGE EXTERNAL;
ALTER TABLE processed_images DROP CONSTRAINT IF EXISTS processed_images_status_check;
ALTER TABLE processed_images ADD CONSTRAINT processed_images_status_check
  CHECK (status IN ('pending', 'processing', 'completed', 'failed'));
-- The claim query walks pending images oldest first, and expired leases.
CREATE INDEX IF NOT EXISTS processed_images_pending_idx ON processed_images (id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS processed_images_lease_idx ON processed_images (lease_expires_at) WHERE status = 'processing';
CREATE INDEX IF NOT EXISTS processed_images_batch_idx ON processed_images (batch_id, id);
CREATE INDEX IF NOT EXISTS processed_images_status_idx ON processed_images (status, id);

-- Every status change is announced, whoever made it (any pod, or an operator
-- in psql): pods fan it out to their SSE clients, and a new pending image
-- wakes idle workers everywhere at once.
CREATE OR REPLACE FUNCTION imgfleet_notify_status() RETURNS trigger AS $fn$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
    PERFORM pg_notify('${STATUS_CHANNEL}', json_build_object(
      'id', NEW.id,
      'batchId', NEW.batch_id,
      'filename', left(NEW.filename, 300),
      'status', NEW.status,
      'error', left(NEW.error, 1000),
      'errorCode', NEW.error_code,
      'width', NEW.width,
      'height', NEW.height,
      'workerId', NEW.worker_id,
      'processingMs', NEW.processing_ms,
      'at', clock_timestamp()
    )::text);
    IF NEW.status = 'pending' THEN
      PERFORM pg_notify('${WORK_CHANNEL}', '');
    END IF;
  END IF;
  RETURN NULL;
END
$fn$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS processed_images_notify ON processed_images;
CREATE TRIGGER processed_images_notify
  AFTER INSERT OR UPDATE OF status ON processed_images
  FOR EACH ROW EXECUTE FUNCTION imgfleet_notify_status();
`,
  },
  {
    version: 2,
    name: 'idempotent uploads and decode memory',
    sql: `
-- One row per Idempotency-Key: inserted when a request starts (in its
-- transaction, so a concurrent duplicate waits on the key's index entry
-- until the first commits or rolls back), answered when it commits.
CREATE TABLE IF NOT EXISTS upload_requests (
  key TEXT PRIMARY KEY,
  fingerprint TEXT,
  status_code INTEGER,
  response TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS upload_requests_created_idx ON upload_requests (created_at);
-- What decoding the original needs in memory (from its header), so any pod
-- can admit it against its budget without reading the bytes first.
ALTER TABLE processed_images ADD COLUMN IF NOT EXISTS decode_bytes BIGINT;
`,
  },
  {
    version: 3,
    name: 'retention: original_dropped_at and the expiry index',
    sql: `
-- Set when the retention policy drops an original's bytes, so the API can say
-- "expired" (410) rather than "never stored".
ALTER TABLE processed_images ADD COLUMN IF NOT EXISTS original_dropped_at TIMESTAMPTZ;
-- The sweep walks finished images that still hold an original, oldest first.
CREATE INDEX IF NOT EXISTS processed_images_original_expiry_idx ON processed_images (processed_at)
  WHERE original_data IS NOT NULL AND status IN ('completed', 'failed');
`,
  },
  {
    version: 4,
    name: 'output options per image',
    sql: `
-- The batch's output options, resolved against the server's defaults when it
-- was uploaded, so a retry and a takeover by another pod make the same result.
ALTER TABLE processed_images ADD COLUMN IF NOT EXISTS output_options JSONB;
-- Where the file sat below the folder the person dropped (trip/day 1/IMG_1.JPG):
-- the ZIP recreates it when the options keep folders.
ALTER TABLE processed_images ADD COLUMN IF NOT EXISTS source_path TEXT;
`,
  },
  {
    version: 5,
    name: 'status notifications carry processed_at; deletions are announced',
    sql: `
-- Every pod keeps the status of the images its clients poll in memory (the
-- earlier API's GET /status/:id/json), fed by these notifications: the
-- payload carries processed_at, and deletions (a row, a batch, TRUNCATE)
-- tell every pod to forget.
CREATE OR REPLACE FUNCTION imgfleet_notify_status() RETURNS trigger AS $fn$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
    PERFORM pg_notify('${STATUS_CHANNEL}', json_build_object(
      'id', NEW.id,
      'batchId', NEW.batch_id,
      'filename', left(NEW.filename, 300),
      'status', NEW.status,
      'error', left(NEW.error, 1000),
      'errorCode', NEW.error_code,
      'width', NEW.width,
      'height', NEW.height,
      'workerId', NEW.worker_id,
      'processingMs', NEW.processing_ms,
      'processedAt', NEW.processed_at,
      'at', clock_timestamp()
    )::text);
    IF NEW.status = 'pending' THEN
      PERFORM pg_notify('${WORK_CHANNEL}', '');
    END IF;
  END IF;
  RETURN NULL;
END
$fn$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION imgfleet_notify_deleted() RETURNS trigger AS $fn$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify('${DELETED_CHANNEL}', '*');
  ELSE
    PERFORM pg_notify('${DELETED_CHANNEL}', OLD.id::text);
  END IF;
  RETURN NULL;
END
$fn$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS processed_images_notify_deleted ON processed_images;
CREATE TRIGGER processed_images_notify_deleted
  AFTER DELETE ON processed_images
  FOR EACH ROW EXECUTE FUNCTION imgfleet_notify_deleted();
DROP TRIGGER IF EXISTS processed_images_notify_truncated ON processed_images;
CREATE TRIGGER processed_images_notify_truncated
  AFTER TRUNCATE ON processed_images
  FOR EACH STATEMENT EXECUTE FUNCTION imgfleet_notify_deleted();
`,
  },
  {
    version: 6,
    name: 'an image handed over to a pod does not wake the others',
    sql: `
-- A pending row that is held (worker_id set: an upload handed it to its
-- pod's next free thread) is no work for the other pods until the hold
-- expires, which their poll finds as it finds expired leases; waking every
-- pod for it cost each a claim that could find nothing.
CREATE OR REPLACE FUNCTION imgfleet_notify_status() RETURNS trigger AS $fn$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
    PERFORM pg_notify('${STATUS_CHANNEL}', json_build_object(
      'id', NEW.id,
      'batchId', NEW.batch_id,
      'filename', left(NEW.filename, 300),
      'status', NEW.status,
      'error', left(NEW.error, 1000),
      'errorCode', NEW.error_code,
      'width', NEW.width,
      'height', NEW.height,
      'workerId', NEW.worker_id,
      'processingMs', NEW.processing_ms,
      'processedAt', NEW.processed_at,
      'at', clock_timestamp()
    )::text);
  END IF;
  -- New work: a pending row nobody holds, newly so (inserted, back from another status, or a hold handed back).
  IF NEW.status = 'pending' AND NEW.worker_id IS NULL
     AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'pending' OR OLD.worker_id IS NOT NULL) THEN
    PERFORM pg_notify('${WORK_CHANNEL}', '');
  END IF;
  RETURN NULL;
END
$fn$ LANGUAGE plpgsql;
`,
  },
  {
    version: 7,
    name: 'what each job needs, measured at upload',
    sql: `
-- The memory a job needs at its peak (decode + resize + encode) and its CPU
-- work, from the image's header and its output options (imaging/job-cost.ts):
-- every pod admits it against its memory budget and times it by the same
-- figures without reading the original.
ALTER TABLE processed_images
  ADD COLUMN IF NOT EXISTS job_memory_bytes BIGINT,
  ADD COLUMN IF NOT EXISTS job_cpu_ms INTEGER;
`,
  },
  {
    version: 8,
    name: 'photos in a blob store: keys and sizes in the row',
    sql: `
-- The bytes live in a blob store (a shared folder, S3, or these rows' own
-- BYTEA columns for BLOB_STORE=postgres): the row keeps where and how big.
-- original_data and processed_data stay, so the earlier operational SQL
-- still runs (NULL unless the postgres store is used).
ALTER TABLE processed_images
  ADD COLUMN IF NOT EXISTS original_key TEXT,
  ADD COLUMN IF NOT EXISTS processed_key TEXT,
  ADD COLUMN IF NOT EXISTS original_bytes BIGINT,
  ADD COLUMN IF NOT EXISTS processed_bytes BIGINT;
-- Rows stored before keep their bytes where they are (they are read from the
-- columns); their sizes are read off the TOAST pointers, without the bytes.
UPDATE processed_images SET original_bytes = octet_length(original_data) WHERE original_data IS NOT NULL AND original_bytes IS NULL;
UPDATE processed_images SET processed_bytes = octet_length(processed_data) WHERE processed_data IS NOT NULL AND processed_bytes IS NULL;
-- The orphan sweep asks whether any row still names a blob.
CREATE INDEX IF NOT EXISTS processed_images_original_key_idx ON processed_images (original_key) WHERE original_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS processed_images_processed_key_idx ON processed_images (processed_key) WHERE processed_key IS NOT NULL;
-- Retention walks finished images that still hold an original, wherever it is.
DROP INDEX IF EXISTS processed_images_original_expiry_idx;
CREATE INDEX processed_images_original_expiry_idx ON processed_images (processed_at)
  WHERE original_bytes IS NOT NULL AND status IN ('completed', 'failed');
`,
  },
];

export async function migrate(client: pg.ClientBase): Promise<number[]> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS imgfleet_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM imgfleet_migrations');
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO imgfleet_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
        applied.push(m.version);
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
  }
}
