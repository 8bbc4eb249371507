-- Leases name the node apart from the process (incarnation): a node that restarts takes back
-- the leases its previous incarnation held at once, instead of waiting for them to lapse.
-- claim_epoch is the newest checkpoint's epoch when the current attempt was claimed: a lost
-- lease costs no attempt when the job saved a newer checkpoint since.
-- Same columns and meanings as migrations/sqlite/0006_lease_progress.sql.
ALTER TABLE jobs ADD COLUMN lease_node TEXT;
ALTER TABLE jobs ADD COLUMN claim_epoch INTEGER NOT NULL DEFAULT 0;

CREATE INDEX jobs_running_lease_node ON jobs (lease_node) WHERE status = 'running';
