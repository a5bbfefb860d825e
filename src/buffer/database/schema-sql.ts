/**
 * Inspect's `SampleBufferDatabase.SCHEMA` (sample-buffer.md §A.3), character for character: SQLite
 * keeps each statement's text in `sqlite_master`, so tools that compare schemas see the same DDL,
 * comments and indentation as in a DB Inspect created. Statement order matters for the same reason.
 */
export const sampleBufferSchemaSql = `
    CREATE TABLE task_database (
        version INTEGER PRIMARY KEY DEFAULT 1,
        metrics TEXT DEFAULT '[]',
        last_updated DATETIME DEFAULT CURRENT_TIMESTAMP
    );

    CREATE TABLE samples (
        id TEXT,
        epoch INTEGER,
        data TEXT, -- JSON containing all other sample fields
        sample_metadata TEXT, -- full sample metadata (summaries are intentionally thinned)
        sample_metadata_hash TEXT, -- sidecar lookup key or exact-summary marker
        PRIMARY KEY (id, epoch)
    );

    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT,
        sample_id TEXT,
        sample_epoch INTEGER,
        data TEXT -- JSON containing full event
    );

    CREATE INDEX idx_events_sample_uuid
        ON events(sample_id, sample_epoch, event_id, id);

    CREATE TABLE attachments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        sample_id TEXT,
        sample_epoch INTEGER,
        hash TEXT,
        content TEXT,
        UNIQUE(sample_id, sample_epoch, hash)
    );

    CREATE TABLE message_pool (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        sample_id TEXT,
        sample_epoch INTEGER,
        msg_id TEXT,
        data TEXT,
        UNIQUE(sample_id, sample_epoch, msg_id)
    );

    CREATE TABLE call_pool (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        sample_id TEXT,
        sample_epoch INTEGER,
        hash TEXT,
        data TEXT,
        UNIQUE(sample_id, sample_epoch, hash)
    );

    CREATE INDEX idx_events_sample ON events(sample_id, sample_epoch);
    CREATE INDEX idx_attachments_hash ON attachments(hash);
`;

/** Per-connection settings of Inspect's writer (§A.2); `journal_mode` is set separately. */
export const writerPragmas = [
  'foreign_keys = ON',
  'busy_timeout = 30000',
  'synchronous = OFF',
  'journal_size_limit = 134217728',
  'cache_size = -64000',
  'temp_store = MEMORY',
] as const;
