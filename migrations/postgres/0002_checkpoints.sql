-- Training checkpoints (weights, optimiser and RNG state, ...). The bytes live in
-- checkpoint_chunks, a row per chunk: a single bytea value is capped at 1 GB.
CREATE TABLE checkpoints (
  id          BIGINT   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id      TEXT     NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  epoch       INTEGER  NOT NULL,
  is_final    SMALLINT NOT NULL DEFAULT 0 CHECK (is_final IN (0, 1)),
  -- Version of the blob's encoding, so old checkpoints can still be read or refused clearly.
  format      INTEGER  NOT NULL,
  byte_length BIGINT   NOT NULL CHECK (byte_length >= 0),
  created_at  BIGINT   NOT NULL,
  UNIQUE (job_id, epoch)
);

CREATE TABLE checkpoint_chunks (
  checkpoint_id BIGINT  NOT NULL REFERENCES checkpoints (id) ON DELETE CASCADE,
  part          INTEGER NOT NULL CHECK (part >= 0),
  data          BYTEA   NOT NULL,
  PRIMARY KEY (checkpoint_id, part)
);
