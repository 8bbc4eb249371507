-- Where a running job stands inside its epoch (batch k of n) and how fast it trains, so event
-- streams in any process can report progress within long epochs. One row per job, replaced
-- by the lease holder at most every few seconds; it goes with the job. Times are ms.
-- Same table and meanings as migrations/sqlite/0007_job_progress.sql.
CREATE TABLE job_progress (
  job_id            TEXT             PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
  epoch             INTEGER          NOT NULL,
  batch             INTEGER          NOT NULL,
  batches           INTEGER          NOT NULL,
  tokens_per_second DOUBLE PRECISION,
  at                BIGINT           NOT NULL
);
