-- Loss history: one point per job and epoch, never two.
CREATE TABLE losses (
  job_id   TEXT             NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  epoch    INTEGER          NOT NULL,
  loss     DOUBLE PRECISION NOT NULL,
  val_loss DOUBLE PRECISION,
  at       BIGINT           NOT NULL,
  PRIMARY KEY (job_id, epoch)
);
