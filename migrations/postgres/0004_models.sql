-- The model registry. Every succeeded job of a name (imports are succeeded jobs too) is a
-- version of the model of that name, numbered 1, 2, ... in order of completion; numbers
-- are never reused. Aliases (e.g. "production") point at versions.
-- Same tables, meanings and version number as migrations/sqlite/0004_models.sql.
CREATE TABLE models (
  name         TEXT    PRIMARY KEY,
  -- The highest version number ever given, so a deleted version's number is not reused.
  last_version INTEGER NOT NULL DEFAULT 0,
  created_at   BIGINT  NOT NULL
);

CREATE TABLE model_versions (
  name       TEXT    NOT NULL REFERENCES models (name),
  version    INTEGER NOT NULL CHECK (version >= 1),
  -- The job that holds the weights (its final checkpoint); deleting the job deletes the version.
  job_id     TEXT    NOT NULL UNIQUE REFERENCES jobs (id) ON DELETE CASCADE,
  source     TEXT    NOT NULL CHECK (source IN ('job', 'import')),
  created_at BIGINT  NOT NULL,
  PRIMARY KEY (name, version)
);

CREATE TABLE model_aliases (
  name       TEXT    NOT NULL,
  alias      TEXT    NOT NULL,
  version    INTEGER NOT NULL,
  updated_at BIGINT  NOT NULL,
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
         CASE WHEN data_summary::jsonb ->> 'type' = 'import' THEN 'import' ELSE 'job' END,
         COALESCE(finished_at, updated_at)
  FROM jobs WHERE status = 'succeeded';

-- From now on a job becomes a version in the same transaction that marks it succeeded (or
-- inserts it succeeded: an import). The UPDATE of models locks that name's row, so
-- concurrent successes of one name get consecutive numbers.
CREATE FUNCTION register_model_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  next_version INTEGER;
BEGIN
  INSERT INTO models (name, last_version, created_at) VALUES (NEW.name, 0, NEW.updated_at) ON CONFLICT (name) DO NOTHING;
  UPDATE models SET last_version = last_version + 1 WHERE name = NEW.name RETURNING last_version INTO next_version;
  INSERT INTO model_versions (name, version, job_id, source, created_at)
  VALUES (NEW.name, next_version, NEW.id,
          CASE WHEN NEW.data_summary::jsonb ->> 'type' = 'import' THEN 'import' ELSE 'job' END,
          COALESCE(NEW.finished_at, NEW.updated_at));
  RETURN NULL;
END
$$;

CREATE TRIGGER jobs_succeeded_version AFTER UPDATE OF status ON jobs
  FOR EACH ROW WHEN (NEW.status = 'succeeded' AND OLD.status <> 'succeeded')
  EXECUTE FUNCTION register_model_version();

CREATE TRIGGER jobs_imported_version AFTER INSERT ON jobs
  FOR EACH ROW WHEN (NEW.status = 'succeeded')
  EXECUTE FUNCTION register_model_version();
