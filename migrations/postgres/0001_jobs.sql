-- Training jobs: the durable queue. Times are BIGINT milliseconds since the epoch.
-- Same columns, meanings and version numbers as migrations/sqlite/, in PostgreSQL's types.
CREATE TABLE jobs (
  -- Queue order and pagination cursor; an identity is never reused, even after a delete.
  seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id               TEXT     NOT NULL UNIQUE,
  name             TEXT     NOT NULL,
  status           TEXT     NOT NULL
                   CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  -- JSON of the normalised job: {model, data, training}, kept as the text that was written.
  spec             TEXT     NOT NULL,
  data_summary     TEXT     NOT NULL,
  epochs           INTEGER  NOT NULL CHECK (epochs >= 0),
  progress_epoch   INTEGER  NOT NULL DEFAULT 0,
  loss             DOUBLE PRECISION,
  best_loss        DOUBLE PRECISION,
  error_code       TEXT,
  error_message    TEXT,
  -- How many times a worker started the job.
  attempt          INTEGER  NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  cancel_requested SMALLINT NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
  lease_owner      TEXT,
  lease_expires_at BIGINT,
  idempotency_key  TEXT UNIQUE,
  request_hash     TEXT,
  created_at       BIGINT   NOT NULL,
  started_at       BIGINT,
  finished_at      BIGINT,
  updated_at       BIGINT   NOT NULL
);

-- Claiming the oldest queued job, and listing by status newest first.
CREATE INDEX jobs_status_seq ON jobs (status, seq);

-- Listing by name (+ status), and predict by model name = newest succeeded job of a name.
CREATE INDEX jobs_name_status_seq ON jobs (name, status, seq);
CREATE INDEX jobs_name_seq ON jobs (name, seq);

-- The reaper scans only running jobs by lease expiry.
CREATE INDEX jobs_running_lease_expiry ON jobs (lease_expires_at) WHERE status = 'running';
