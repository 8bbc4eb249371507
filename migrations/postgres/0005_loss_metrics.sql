-- Per-epoch task metrics (JSON object: accuracy, val_accuracy, perplexity, mae, ...) and the
-- learning rate the epoch started with. NULL for points written before this migration.
-- Same columns and meanings as migrations/sqlite/0005_loss_metrics.sql.
ALTER TABLE losses ADD COLUMN metrics TEXT;
ALTER TABLE losses ADD COLUMN lr DOUBLE PRECISION;
