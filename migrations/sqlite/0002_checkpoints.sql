-- Training checkpoints (weights, optimiser and RNG state, ...) as opaque blobs.
CREATE TABLE checkpoints (
  id         INTEGER PRIMARY KEY,
  job_id     TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  epoch      INTEGER NOT NULL,
  is_final   INTEGER NOT NULL DEFAULT 0 CHECK (is_final IN (0, 1)),
  -- Version of the blob's encoding, so old checkpoints can still be read or refused clearly.
  format     INTEGER NOT NULL,
  blob       BLOB    NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (job_id, epoch)
);
