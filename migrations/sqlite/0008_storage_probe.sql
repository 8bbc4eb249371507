-- One row that the readiness probe rewrites: a real write, so /readyz goes red as soon as the
-- database cannot take writes (disk full, read-only, I/O errors) instead of when a job fails.
CREATE TABLE storage_probe (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  written_at INTEGER NOT NULL
);

INSERT INTO storage_probe (id, written_at) VALUES (1, 0);
