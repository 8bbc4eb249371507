-- Per-epoch task metrics (JSON object: accuracy, val_accuracy, perplexity, mae, ...) and the
-- learning rate the epoch started with. NULL for points written before this migration.
ALTER TABLE losses ADD COLUMN metrics TEXT;
ALTER TABLE losses ADD COLUMN lr REAL;
