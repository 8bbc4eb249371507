-- The model registry. Every succeeded job of a name (imports are succeeded jobs too) is a
-- version of the model of that name, numbered 1, 2, ... in order of completion; numbers
-- are never reused. Aliases (e.g. "production") point at versions.
CREATE TABLE models (
  name         TEXT    PRIMARY KEY,
  -- The highest version number ever given, so a deleted version's number is not reused.
  last_version INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL
);

CREATE TABLE model_versions (
  name       TEXT    NOT NULL REFERENCES models (name),
  version    INTEGER NOT NULL CHECK (version >= 1),
  -- The job that holds the weights (its final checkpoint); deleting the job deletes the version.
  job_id     TEXT    NOT NULL UNIQUE REFERENCES jobs (id) ON DELETE CASCADE,
  source     TEXT    NOT NULL CHECK (source IN ('job', 'import')),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (name, version)
);

CREATE TABLE model_aliases (
  name       TEXT    NOT NULL,
  alias      TEXT    NOT NULL,
  version    INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (name, alias),
  -- A version an alias points to cannot disappear (the API answers 409 before this fires).
  FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON DELETE RESTRICT
);

CREATE INDEX model_aliases_version ON model_aliases (name, version);

-- Jobs that succeeded before the registry existed become versions, in order of completion.
INSERT INTO models (name, last_version, created_at)
  SELECT name, COUNT(*), MIN(COALESCE(finished_at, updated_at)) FROM jobs WHERE status = 'succeeded' GROUP BY name;
INSERT INTO model_versions (name, version, job_id, source, created_at)
  SELECT name, ROW_NUMBER() OVER (PARTITION BY name ORDER BY COALESCE(finished_at, updated_at), seq), id,
         CASE WHEN json_extract(data_summary, '$.type') = 'import' THEN 'import' ELSE 'job' END,
         COALESCE(finished_at, updated_at)
  FROM jobs WHERE status = 'succeeded';

-- From now on a job becomes a version in the same transaction that marks it succeeded.
CREATE TRIGGER jobs_succeeded_version AFTER UPDATE OF status ON jobs
WHEN NEW.status = 'succeeded' AND OLD.status <> 'succeeded'
BEGIN
  INSERT OR IGNORE INTO models (name, last_version, created_at) VALUES (NEW.name, 0, NEW.updated_at);
  UPDATE models SET last_version = last_version + 1 WHERE name = NEW.name;
  INSERT INTO model_versions (name, version, job_id, source, created_at)
    SELECT NEW.name, last_version, NEW.id, 'job', COALESCE(NEW.finished_at, NEW.updated_at) FROM models WHERE name = NEW.name;
END;

-- Imports are inserted as succeeded jobs.
CREATE TRIGGER jobs_imported_version AFTER INSERT ON jobs
WHEN NEW.status = 'succeeded'
BEGIN
  INSERT OR IGNORE INTO models (name, last_version, created_at) VALUES (NEW.name, 0, NEW.updated_at);
  UPDATE models SET last_version = last_version + 1 WHERE name = NEW.name;
  INSERT INTO model_versions (name, version, job_id, source, created_at)
    SELECT NEW.name, last_version, NEW.id,
           CASE WHEN json_extract(NEW.data_summary, '$.type') = 'import' THEN 'import' ELSE 'job' END,
           COALESCE(NEW.finished_at, NEW.updated_at)
    FROM models WHERE name = NEW.name;
END;
