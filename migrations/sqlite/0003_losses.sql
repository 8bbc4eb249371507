-- Loss history: one point per job and epoch, never two.
CREATE TABLE losses (
  job_id   TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  epoch    INTEGER NOT NULL,
  loss     REAL    NOT NULL,
  val_loss REAL,
  at       INTEGER NOT NULL,
  PRIMARY KEY (job_id, epoch)
) WITHOUT ROWID;
