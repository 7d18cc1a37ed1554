//! The schemas, as ordered lists of migrations: [`SQLITE`] for the embedded
//! store, [`POSTGRES`] for the PostgreSQL store.
//!
//! SQLite: `PRAGMA user_version` holds how many have been applied. PostgreSQL:
//! the table `schema_migrations` holds one row per applied version. Opening a
//! store applies the rest, each in its own transaction. Never edit a released
//! migration: append a new one.

/// The migrations, in order. Index `i` brings the schema to version `i + 1`.
pub const SQLITE: &[&str] = &[
    // 1: the registry's foundation.
    r#"
CREATE TABLE insurers (
    number      TEXT PRIMARY KEY,      -- 保険者番号, canonical 6 or 8 digits
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL          -- InsuranceKind, snake_case
) STRICT;

CREATE TABLE institutions (
    code        TEXT PRIMARY KEY,      -- 医療機関コード, 10 digits
    name        TEXT NOT NULL,
    phone       TEXT                   -- the number on file, for call-backs
) STRICT;

CREATE TABLE persons (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    kana        TEXT NOT NULL,
    birth_date  TEXT NOT NULL,         -- YYYY-MM-DD
    sex         INTEGER NOT NULL CHECK (sex IN (1, 2)),
    address     TEXT NOT NULL,
    name_key    TEXT NOT NULL,         -- onshi_core::kana::name_key
    kana_key    TEXT NOT NULL,         -- onshi_core::kana::kana_key
    address_key TEXT NOT NULL          -- onshi_core::kana::address_key
) STRICT;
CREATE INDEX persons_kana_birth ON persons (kana_key, birth_date);

-- 利用者証明用電子証明書 of a card; the serial is what a card check sends.
CREATE TABLE cards (
    serial      TEXT PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES persons (id),
    valid_to    TEXT NOT NULL,         -- last valid day
    revoked_on  TEXT                   -- 失効日
) STRICT;
CREATE INDEX cards_person ON cards (person_id);

-- Every qualification ever registered: rows are never deleted, a loss sets
-- lost_on, so the table is the full history.
CREATE TABLE qualifications (
    id             INTEGER PRIMARY KEY,
    person_id      INTEGER NOT NULL REFERENCES persons (id),
    insurer_number TEXT NOT NULL REFERENCES insurers (number),
    symbol         TEXT,
    number         TEXT NOT NULL,
    branch         TEXT,
    relation       INTEGER NOT NULL CHECK (relation IN (1, 2)),
    acquired_on    TEXT NOT NULL,
    lost_on        TEXT,
    burden_ratio   INTEGER CHECK (burden_ratio IN (1, 2, 3, 10)),
    employer       TEXT,
    visible        INTEGER NOT NULL DEFAULT 1 CHECK (visible IN (0, 1)),
    CHECK (lost_on IS NULL OR lost_on > acquired_on)
) STRICT;
CREATE INDEX qualifications_person ON qualifications (person_id);
CREATE INDEX qualifications_numbers ON qualifications (insurer_number, number, symbol, branch);

-- Each change to a qualification, with the record as it stood after it.
CREATE TABLE qualification_revisions (
    id               INTEGER PRIMARY KEY,
    qualification_id INTEGER NOT NULL REFERENCES qualifications (id),
    recorded_at      TEXT NOT NULL,
    action           TEXT NOT NULL,   -- register | lose | correct
    snapshot         TEXT NOT NULL    -- JSON of onshi_core::Qualification
) STRICT;
CREATE INDEX qualification_revisions_q ON qualification_revisions (qualification_id);

-- 資格確認履歴: every check an institution made, with what it was shown.
CREATE TABLE check_history (
    id                 INTEGER PRIMARY KEY,
    institution_code   TEXT NOT NULL REFERENCES institutions (code),
    checked_at         TEXT NOT NULL,  -- when (UTC, RFC 3339)
    checked_on         TEXT NOT NULL,  -- 資格確認日
    reference          TEXT NOT NULL,  -- card | numbers
    certificate_serial TEXT,
    insurer_number     TEXT,
    symbol             TEXT,
    number             TEXT,
    branch             TEXT,
    birth_date         TEXT,
    person_id          INTEGER REFERENCES persons (id),
    validity           INTEGER,
    error_code         TEXT,
    answer             TEXT NOT NULL   -- JSON of the answer as sent
) STRICT;
CREATE INDEX check_history_inst_day ON check_history (institution_code, checked_on);

-- API tokens; only the SHA-256 of a token is kept.
CREATE TABLE tokens (
    id                 INTEGER PRIMARY KEY,
    token_hash         TEXT NOT NULL UNIQUE,
    role               TEXT NOT NULL,
    institution_code   TEXT REFERENCES institutions (code),
    insurer_number     TEXT REFERENCES insurers (number),
    certificate_serial TEXT REFERENCES cards (serial),
    label              TEXT NOT NULL,
    created_at         TEXT NOT NULL
) STRICT;
"#,
    // 2: the insurer side: resident link keys, the 5-attribute match,
    // registration times, idempotency keys.
    r#"
ALTER TABLE persons ADD COLUMN person_ref TEXT;
UPDATE persons SET person_ref = printf('P%010d', id) WHERE person_ref IS NULL;
CREATE UNIQUE INDEX persons_ref ON persons (person_ref);

-- When the insurer's registration arrived (not the 資格取得日).
ALTER TABLE qualifications ADD COLUMN registered_at TEXT NOT NULL DEFAULT '';
-- The 5 attributes as the insurer declared them (JSON of onshi_core::Person);
-- NULL for rows loaded as reference data, which matched by construction.
ALTER TABLE qualifications ADD COLUMN declared TEXT;
-- Comma-separated onshi_core::matching::Attribute names that differ; NULL when
-- matched. A row with a mismatch has visible = 0.
ALTER TABLE qualifications ADD COLUMN mismatch TEXT;
CREATE INDEX qualifications_insurer ON qualifications (insurer_number, visible);
CREATE INDEX check_history_person ON check_history (person_id, checked_on);

-- Idempotency-Key of each successful write: a retry with the same key and
-- body gets the stored answer; another body under the same key is refused.
CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,      -- the caller, e.g. insurer:01130012
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,      -- SHA-256 of the request body
    status       INTEGER NOT NULL,
    response     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT;
"#,
    // 3: the reception side: visits, declarations and their deletion log,
    // the reader mode (visual confirmation) with its audit, fault injection,
    // and how identity was confirmed on each check.
    r#"
ALTER TABLE check_history ADD COLUMN identity_confirmed_by TEXT;  -- face | pin | visual
ALTER TABLE check_history ADD COLUMN staff_id TEXT;

-- The face reader's mode per institution (目視確認モード), and every switch.
CREATE TABLE reader_modes (
    institution_code TEXT PRIMARY KEY REFERENCES institutions (code),
    mode             TEXT NOT NULL CHECK (mode IN ('face', 'visual')),
    staff_id         TEXT,
    changed_at       TEXT NOT NULL
) STRICT;
CREATE TABLE reader_mode_events (
    id               INTEGER PRIMARY KEY,
    institution_code TEXT NOT NULL REFERENCES institutions (code),
    mode             TEXT NOT NULL,
    staff_id         TEXT,
    changed_at       TEXT NOT NULL
) STRICT;

-- Fault injection for vendors: while set, the institution's checks fail so.
CREATE TABLE faults (
    institution_code TEXT PRIMARY KEY REFERENCES institutions (code),
    kind             TEXT NOT NULL CHECK (kind IN ('reader', 'certificate', 'network', 'registry')),
    set_at           TEXT NOT NULL,
    until            TEXT            -- RFC 3339; NULL: until cleared
) STRICT;

-- A patient at the window: the check attempt, why it failed, the decision,
-- the deferred re-check, what the claim must use. The record is the clinic
-- crate's JSON; the columns are what is searched.
CREATE TABLE visits (
    id               INTEGER PRIMARY KEY,
    institution_code TEXT NOT NULL REFERENCES institutions (code),
    visited_on       TEXT NOT NULL,
    patient_key      TEXT,            -- the institution's own patient id (診察券番号)
    recheck_state    TEXT NOT NULL CHECK (recheck_state IN ('none', 'pending', 'done')),
    claim_paid_on    TEXT,
    record           TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
) STRICT;
CREATE INDEX visits_day ON visits (institution_code, visited_on);
CREATE INDEX visits_patient ON visits (institution_code, patient_key, id);
CREATE INDEX visits_recheck ON visits (institution_code, recheck_state);

-- 被保険者資格申立書: kept only until the claim it supported is paid.
CREATE TABLE declarations (
    visit_id     INTEGER PRIMARY KEY REFERENCES visits (id),
    form         TEXT NOT NULL,
    submitted_at TEXT NOT NULL
) STRICT;
CREATE TABLE declaration_deletions (
    id               INTEGER PRIMARY KEY,
    visit_id         INTEGER NOT NULL,
    institution_code TEXT NOT NULL,
    claim_paid_on    TEXT NOT NULL,
    deleted_at       TEXT NOT NULL,
    reason           TEXT NOT NULL
) STRICT;
"#,
    // 4: system-failure mode (緊急時医療情報・資格確認機能): activation
    // requests, disaster activations, searches, and the audit log.
    r#"
CREATE TABLE failure_mode_requests (
    id                 INTEGER PRIMARY KEY,
    institution_code   TEXT NOT NULL REFERENCES institutions (code),
    contact_name       TEXT NOT NULL,
    reason             TEXT,
    status             TEXT NOT NULL CHECK (status IN ('requested', 'confirmed', 'enabled')),
    requested_at       TEXT NOT NULL,
    confirmed_at       TEXT,
    confirmed_by       TEXT,
    called_number      TEXT,
    enabled_from       TEXT,
    enabled_until      TEXT,
    report_due_on      TEXT,
    report_received_at TEXT,
    report_text        TEXT
) STRICT;
CREATE INDEX failure_mode_requests_inst ON failure_mode_requests (institution_code, status);

CREATE TABLE disaster_activations (
    id            INTEGER PRIMARY KEY,
    prefecture    INTEGER NOT NULL CHECK (prefecture BETWEEN 1 AND 47),
    enabled_from  TEXT NOT NULL,
    enabled_until TEXT NOT NULL,
    reason        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL
) STRICT;

CREATE TABLE failure_mode_searches (
    id               INTEGER PRIMARY KEY,
    institution_code TEXT NOT NULL REFERENCES institutions (code),
    searched_at      TEXT NOT NULL,
    checked_on       TEXT NOT NULL,
    candidates       TEXT NOT NULL,   -- JSON array of person ids, in the order shown
    purpose          TEXT
) STRICT;
CREATE INDEX failure_mode_searches_inst ON failure_mode_searches (institution_code, searched_at);
CREATE INDEX persons_name_birth ON persons (name_key, birth_date);

-- Every read of a person's data outside a card or number check (the hash
-- chain of issue 10 will be built over this table).
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    person_id INTEGER,
    purpose   TEXT,
    detail    TEXT
) STRICT;
"#,
    // 5: the hash chains of the audit log and the check history (issue 10,
    //    onshi_store::chain), and both made append-only.
    r#"
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
ALTER TABLE check_history ADD COLUMN prev_hash TEXT;
ALTER TABLE check_history ADD COLUMN hash TEXT;
CREATE INDEX check_history_inst_id ON check_history (institution_code, id);
-- Rows up to these ids are from before the chain; any later row needs a hash.
CREATE TABLE chain_start (
    chain     TEXT PRIMARY KEY,
    before_id INTEGER NOT NULL
) STRICT;
INSERT INTO chain_start SELECT 'audit_log', coalesce(max(id), 0) FROM audit_log;
INSERT INTO chain_start SELECT 'check_history', coalesce(max(id), 0) FROM check_history;
CREATE TRIGGER chain_start_no_update BEFORE UPDATE ON chain_start
    BEGIN SELECT RAISE(ABORT, 'chain_start is append-only'); END;
CREATE TRIGGER chain_start_no_delete BEFORE DELETE ON chain_start
    BEGIN SELECT RAISE(ABORT, 'chain_start is append-only'); END;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER check_history_no_update BEFORE UPDATE ON check_history
    BEGIN SELECT RAISE(ABORT, 'check_history is append-only'); END;
CREATE TRIGGER check_history_no_delete BEFORE DELETE ON check_history
    BEGIN SELECT RAISE(ABORT, 'check_history is append-only'); END;
"#,
    // 6: claims with a life (versions, proposed corrections, submissions)
    // and the payer's memory (runs, results, 請求実績, 照会, settlements).
    r#"
CREATE TABLE claims (
    id               INTEGER PRIMARY KEY,
    institution_code TEXT NOT NULL,
    claim_month      TEXT NOT NULL,
    patient_key      TEXT NOT NULL,
    version          INTEGER NOT NULL,
    state            TEXT NOT NULL,
    record           TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (institution_code, claim_month, patient_key)
);
CREATE TABLE claim_versions (
    claim_id  INTEGER NOT NULL REFERENCES claims (id),
    version   INTEGER NOT NULL,
    state     TEXT NOT NULL,
    record    TEXT NOT NULL,
    meta      TEXT NOT NULL,
    PRIMARY KEY (claim_id, version)
);
CREATE TRIGGER claim_versions_no_update BEFORE UPDATE ON claim_versions
    BEGIN SELECT RAISE(ABORT, 'claim_versions is append-only'); END;
CREATE TRIGGER claim_versions_no_delete BEFORE DELETE ON claim_versions
    BEGIN SELECT RAISE(ABORT, 'claim_versions is append-only'); END;
CREATE TABLE claim_proposals (
    id               INTEGER PRIMARY KEY,
    claim_id         INTEGER NOT NULL REFERENCES claims (id),
    based_on_version INTEGER NOT NULL,
    record           TEXT NOT NULL,
    reason           TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'open',
    decided_at       TEXT,
    decided_by       TEXT,
    decision_reason  TEXT
);
CREATE INDEX claim_proposals_claim ON claim_proposals (claim_id);
CREATE TABLE claim_submissions (
    id               INTEGER PRIMARY KEY,
    institution_code TEXT NOT NULL,
    claim_month      TEXT NOT NULL,
    payer            TEXT NOT NULL,
    format           TEXT NOT NULL,
    digest           TEXT NOT NULL,
    body             BLOB NOT NULL,
    claims           INTEGER NOT NULL,
    at               TEXT NOT NULL,
    actor            TEXT NOT NULL
);
CREATE TABLE payer_runs (
    id       INTEGER PRIMARY KEY,
    as_of    TEXT NOT NULL,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    inputs   TEXT NOT NULL,
    policy   TEXT NOT NULL,
    summary  TEXT NOT NULL,
    outcome  TEXT NOT NULL
);
CREATE TABLE payer_results (
    run_id           INTEGER NOT NULL REFERENCES payer_runs (id),
    institution_code TEXT NOT NULL,
    claim_month      TEXT NOT NULL,
    claim_id         TEXT NOT NULL,
    fate             TEXT NOT NULL,
    detail           TEXT NOT NULL,
    PRIMARY KEY (run_id, institution_code, claim_month, claim_id)
);
CREATE INDEX payer_results_inst ON payer_results (institution_code, run_id);
CREATE TABLE payer_ratio_differences (
    run_id           INTEGER NOT NULL REFERENCES payer_runs (id),
    insurer          TEXT NOT NULL,
    institution_code TEXT NOT NULL,
    claim_month      TEXT NOT NULL,
    claim_id         TEXT NOT NULL,
    detail           TEXT NOT NULL,
    PRIMARY KEY (run_id, institution_code, claim_month, claim_id)
);
CREATE INDEX payer_ratio_differences_insurer ON payer_ratio_differences (insurer, run_id);
CREATE TABLE payment_record (
    institution_code TEXT NOT NULL,
    payer            TEXT NOT NULL,
    claim_month      TEXT NOT NULL,
    claim_id         TEXT NOT NULL,
    insurer          TEXT NOT NULL,
    yen              INTEGER NOT NULL,
    PRIMARY KEY (institution_code, claim_month, claim_id, insurer)
);
CREATE INDEX payment_record_month ON payment_record (institution_code, payer, claim_month);
CREATE TABLE payer_inquiries (
    institution_code TEXT NOT NULL,
    claim_month      TEXT NOT NULL,
    claim_id         TEXT NOT NULL,
    insurer          TEXT NOT NULL,
    matches          INTEGER NOT NULL,
    answered_by      TEXT NOT NULL,
    at               TEXT NOT NULL,
    PRIMARY KEY (institution_code, claim_month, claim_id, insurer)
);
CREATE TABLE ratio_settlements (
    insurer          TEXT NOT NULL,
    institution_code TEXT NOT NULL,
    claim_month      TEXT NOT NULL,
    claim_id         TEXT NOT NULL,
    kind             TEXT NOT NULL,
    yen              INTEGER NOT NULL,
    settled_on       TEXT,
    done             INTEGER NOT NULL,
    settled_by       TEXT NOT NULL,
    at               TEXT NOT NULL,
    PRIMARY KEY (insurer, institution_code, claim_month, claim_id)
);
"#,
];

/// The PostgreSQL migrations, in order. Index `i` brings the schema to
/// version `i + 1`. Version 1 is the whole of [`SQLITE`] 1–4 as one migration
/// (PostgreSQL deployments start from it).
pub const POSTGRES: &[&str] = &[
    // 1: the registry, the insurer side, the reception side and the
    // system-failure mode, equivalent to SQLite migrations 1–4.
    r#"
-- Distribution by person (for a later hash-distributed deployment, e.g.
-- Citus; nothing here is partitioned yet):
--   distributed by person_id: persons (by id), cards, qualifications,
--     qualification_revisions (person_id kept equal to its qualification's),
--     check_history (person_id is NULL for checks of unknown cards; those
--     would need a stand-in key or a table of their own).
--   reference tables (copied to every node): insurers, institutions.
--   local (small, keyed by institution or caller): tokens, idempotency_keys,
--     reader_modes, reader_mode_events, faults, visits, declarations,
--     declaration_deletions, failure_mode_requests, disaster_activations,
--     failure_mode_searches, audit_log.
-- A distributed table's unique keys must contain person_id; lookups by card
-- serial or person_ref would then go through a small routing table.
--
-- Text that SQLite compares (codes, keys, RFC 3339 timestamps, all UTC with
-- milliseconds and 'Z', so text order is time order) is COLLATE "C": byte
-- order, like SQLite's BINARY. JSON columns are TEXT holding the exact text
-- the store wrote.

CREATE TABLE insurers (
    number      TEXT COLLATE "C" PRIMARY KEY,   -- 保険者番号, canonical 6 or 8 digits
    name        TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL       -- InsuranceKind, snake_case
);

CREATE TABLE institutions (
    code        TEXT COLLATE "C" PRIMARY KEY,   -- 医療機関コード, 10 digits
    name        TEXT COLLATE "C" NOT NULL,
    phone       TEXT COLLATE "C"                -- the number on file, for call-backs
);

CREATE TABLE persons (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    kana        TEXT COLLATE "C" NOT NULL,
    birth_date  DATE NOT NULL,
    sex         SMALLINT NOT NULL CHECK (sex IN (1, 2)),
    address     TEXT COLLATE "C" NOT NULL,
    name_key    TEXT COLLATE "C" NOT NULL,      -- onshi_core::kana::name_key
    kana_key    TEXT COLLATE "C" NOT NULL,      -- onshi_core::kana::kana_key
    address_key TEXT COLLATE "C" NOT NULL,      -- onshi_core::kana::address_key
    -- The resident link key: 'P' + 16 lowercase hex digits unless given.
    person_ref  TEXT COLLATE "C" NOT NULL
                DEFAULT ('P' || substr(md5(random()::text || clock_timestamp()::text), 1, 16))
);
CREATE UNIQUE INDEX persons_ref ON persons (person_ref);
CREATE INDEX persons_kana_birth ON persons (kana_key, birth_date);
CREATE INDEX persons_name_birth ON persons (name_key, birth_date);

-- 利用者証明用電子証明書 of a card; the serial is what a card check sends.
CREATE TABLE cards (
    serial      TEXT COLLATE "C" PRIMARY KEY,
    person_id   BIGINT NOT NULL REFERENCES persons (id),
    valid_to    DATE NOT NULL,                  -- last valid day
    revoked_on  DATE                            -- 失効日
);
CREATE INDEX cards_person ON cards (person_id);

-- Every qualification ever registered: rows are never deleted, a loss sets
-- lost_on, so the table is the full history.
CREATE TABLE qualifications (
    id             BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    person_id      BIGINT NOT NULL REFERENCES persons (id),
    insurer_number TEXT COLLATE "C" NOT NULL REFERENCES insurers (number),
    symbol         TEXT COLLATE "C",
    number         TEXT COLLATE "C" NOT NULL,
    branch         TEXT COLLATE "C",
    relation       SMALLINT NOT NULL CHECK (relation IN (1, 2)),
    acquired_on    DATE NOT NULL,
    lost_on        DATE,
    burden_ratio   SMALLINT CHECK (burden_ratio IN (1, 2, 3, 10)),
    employer       TEXT COLLATE "C",
    visible        BOOLEAN NOT NULL DEFAULT true,
    -- When the insurer's registration arrived (not the 資格取得日).
    registered_at  TEXT COLLATE "C" NOT NULL DEFAULT '',
    -- The 5 attributes as the insurer declared them (JSON of
    -- onshi_core::Person); NULL for rows loaded as reference data.
    declared       TEXT,
    -- Comma-separated onshi_core::matching::Attribute names that differ; NULL
    -- when matched. A row with a mismatch has visible = false.
    mismatch       TEXT COLLATE "C",
    CONSTRAINT qualifications_lost_after_acquired CHECK (lost_on IS NULL OR lost_on > acquired_on)
);
CREATE INDEX qualifications_person ON qualifications (person_id);
CREATE INDEX qualifications_numbers ON qualifications (insurer_number, number, symbol, branch);
CREATE INDEX qualifications_insurer ON qualifications (insurer_number, visible);

-- Each change to a qualification, with the record as it stood after it.
CREATE TABLE qualification_revisions (
    id               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    qualification_id BIGINT NOT NULL REFERENCES qualifications (id),
    person_id        BIGINT NOT NULL REFERENCES persons (id),  -- = the qualification's
    recorded_at      TEXT COLLATE "C" NOT NULL,
    action           TEXT COLLATE "C" NOT NULL,  -- register | lose | correct
    snapshot         TEXT NOT NULL               -- JSON of onshi_core::Qualification
);
CREATE INDEX qualification_revisions_q ON qualification_revisions (qualification_id);

-- 資格確認履歴: every check an institution made, with what it was shown.
CREATE TABLE check_history (
    id                    BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    institution_code      TEXT COLLATE "C" NOT NULL REFERENCES institutions (code),
    checked_at            TEXT COLLATE "C" NOT NULL,  -- when (UTC, RFC 3339)
    checked_on            DATE NOT NULL,              -- 資格確認日
    reference             TEXT COLLATE "C" NOT NULL,  -- card | numbers | failure_mode
    certificate_serial    TEXT COLLATE "C",
    insurer_number        TEXT COLLATE "C",
    symbol                TEXT COLLATE "C",
    number                TEXT COLLATE "C",
    branch                TEXT COLLATE "C",
    birth_date            DATE,
    person_id             BIGINT REFERENCES persons (id),
    validity              SMALLINT,
    error_code            TEXT COLLATE "C",
    answer                TEXT NOT NULL,              -- JSON of the answer as sent
    identity_confirmed_by TEXT COLLATE "C",           -- face | pin | visual
    staff_id              TEXT COLLATE "C"
);
CREATE INDEX check_history_inst_day ON check_history (institution_code, checked_on);
CREATE INDEX check_history_person ON check_history (person_id, checked_on);

-- API tokens; only the SHA-256 of a token is kept.
CREATE TABLE tokens (
    id                 BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    token_hash         TEXT COLLATE "C" NOT NULL UNIQUE,
    role               TEXT COLLATE "C" NOT NULL,
    institution_code   TEXT COLLATE "C" REFERENCES institutions (code),
    insurer_number     TEXT COLLATE "C" REFERENCES insurers (number),
    certificate_serial TEXT COLLATE "C" REFERENCES cards (serial),
    label              TEXT COLLATE "C" NOT NULL,
    created_at         TEXT COLLATE "C" NOT NULL
);

-- Idempotency-Key of each successful write: a retry with the same key and
-- body gets the stored answer; another body under the same key is refused.
CREATE TABLE idempotency_keys (
    scope        TEXT COLLATE "C" NOT NULL,   -- the caller, e.g. insurer:01130012
    key          TEXT COLLATE "C" NOT NULL,
    request_hash TEXT COLLATE "C" NOT NULL,   -- SHA-256 of the request body
    status       INT NOT NULL,
    response     TEXT NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (scope, key)
);

-- The face reader's mode per institution (目視確認モード), and every switch.
CREATE TABLE reader_modes (
    institution_code TEXT COLLATE "C" PRIMARY KEY REFERENCES institutions (code),
    mode             TEXT COLLATE "C" NOT NULL CHECK (mode IN ('face', 'visual')),
    staff_id         TEXT COLLATE "C",
    changed_at       TEXT COLLATE "C" NOT NULL
);
CREATE TABLE reader_mode_events (
    id               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    institution_code TEXT COLLATE "C" NOT NULL REFERENCES institutions (code),
    mode             TEXT COLLATE "C" NOT NULL,
    staff_id         TEXT COLLATE "C",
    changed_at       TEXT COLLATE "C" NOT NULL
);

-- Fault injection for vendors: while set, the institution's checks fail so.
CREATE TABLE faults (
    institution_code TEXT COLLATE "C" PRIMARY KEY REFERENCES institutions (code),
    kind             TEXT COLLATE "C" NOT NULL
                     CHECK (kind IN ('reader', 'certificate', 'network', 'registry')),
    set_at           TEXT COLLATE "C" NOT NULL,
    until            TEXT COLLATE "C"            -- RFC 3339; NULL: until cleared
);

-- A patient at the window: the check attempt, why it failed, the decision,
-- the deferred re-check, what the claim must use. The record is the clinic
-- crate's JSON; the columns are what is searched.
CREATE TABLE visits (
    id               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    institution_code TEXT COLLATE "C" NOT NULL REFERENCES institutions (code),
    visited_on       DATE NOT NULL,
    patient_key      TEXT COLLATE "C",           -- the institution's own patient id (診察券番号)
    recheck_state    TEXT COLLATE "C" NOT NULL CHECK (recheck_state IN ('none', 'pending', 'done')),
    claim_paid_on    DATE,
    record           TEXT NOT NULL,
    created_at       TEXT COLLATE "C" NOT NULL,
    updated_at       TEXT COLLATE "C" NOT NULL
);
CREATE INDEX visits_day ON visits (institution_code, visited_on);
CREATE INDEX visits_patient ON visits (institution_code, patient_key, id);
CREATE INDEX visits_recheck ON visits (institution_code, recheck_state);

-- 被保険者資格申立書: kept only until the claim it supported is paid.
CREATE TABLE declarations (
    visit_id     BIGINT PRIMARY KEY REFERENCES visits (id),
    form         TEXT NOT NULL,
    submitted_at TEXT COLLATE "C" NOT NULL
);
CREATE TABLE declaration_deletions (
    id               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    visit_id         BIGINT NOT NULL,
    institution_code TEXT COLLATE "C" NOT NULL,
    claim_paid_on    DATE NOT NULL,
    deleted_at       TEXT COLLATE "C" NOT NULL,
    reason           TEXT COLLATE "C" NOT NULL
);

-- System-failure mode (緊急時医療情報・資格確認機能): activation requests,
-- disaster activations, searches, and the audit log.
CREATE TABLE failure_mode_requests (
    id                 BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    institution_code   TEXT COLLATE "C" NOT NULL REFERENCES institutions (code),
    contact_name       TEXT COLLATE "C" NOT NULL,
    reason             TEXT COLLATE "C",
    status             TEXT COLLATE "C" NOT NULL CHECK (status IN ('requested', 'confirmed', 'enabled')),
    requested_at       TEXT COLLATE "C" NOT NULL,
    confirmed_at       TEXT COLLATE "C",
    confirmed_by       TEXT COLLATE "C",
    called_number      TEXT COLLATE "C",
    enabled_from       TEXT COLLATE "C",
    enabled_until      TEXT COLLATE "C",
    report_due_on      DATE,
    report_received_at TEXT COLLATE "C",
    report_text        TEXT COLLATE "C"
);
CREATE INDEX failure_mode_requests_inst ON failure_mode_requests (institution_code, status);

CREATE TABLE disaster_activations (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    prefecture    SMALLINT NOT NULL CHECK (prefecture BETWEEN 1 AND 47),
    enabled_from  TEXT COLLATE "C" NOT NULL,
    enabled_until TEXT COLLATE "C" NOT NULL,
    reason        TEXT COLLATE "C" NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    created_by    TEXT COLLATE "C" NOT NULL
);

CREATE TABLE failure_mode_searches (
    id               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    institution_code TEXT COLLATE "C" NOT NULL REFERENCES institutions (code),
    searched_at      TEXT COLLATE "C" NOT NULL,
    checked_on       DATE NOT NULL,
    candidates       TEXT NOT NULL,   -- JSON array of person ids, in the order shown
    purpose          TEXT COLLATE "C"
);
CREATE INDEX failure_mode_searches_inst ON failure_mode_searches (institution_code, searched_at);

-- Every read of a person's data outside a card or number check.
CREATE TABLE audit_log (
    id        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at        TEXT COLLATE "C" NOT NULL,
    actor     TEXT COLLATE "C" NOT NULL,
    action    TEXT COLLATE "C" NOT NULL,
    person_id BIGINT,
    purpose   TEXT COLLATE "C",
    detail    TEXT
);
"#,
    // 2: the hash chains of the audit log and the check history (SQLite 5).
    r#"
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT COLLATE "C";
ALTER TABLE audit_log ADD COLUMN hash TEXT COLLATE "C";
ALTER TABLE check_history ADD COLUMN prev_hash TEXT COLLATE "C";
ALTER TABLE check_history ADD COLUMN hash TEXT COLLATE "C";
CREATE INDEX check_history_inst_id ON check_history (institution_code, id);
-- Rows up to these ids are from before the chain; any later row needs a hash.
CREATE TABLE chain_start (
    chain     TEXT COLLATE "C" PRIMARY KEY,
    before_id BIGINT NOT NULL
);
INSERT INTO chain_start SELECT 'audit_log', coalesce(max(id), 0) FROM audit_log;
INSERT INTO chain_start SELECT 'check_history', coalesce(max(id), 0) FROM check_history;
CREATE FUNCTION onshi_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION onshi_append_only();
CREATE TRIGGER check_history_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON check_history
    FOR EACH STATEMENT EXECUTE FUNCTION onshi_append_only();
CREATE TRIGGER chain_start_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON chain_start
    FOR EACH STATEMENT EXECUTE FUNCTION onshi_append_only();
"#,
    // 3: claims with a life and the payer's memory (SQLite 6).
    r#"
CREATE TABLE claims (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    institution_code TEXT COLLATE "C" NOT NULL,
    claim_month      TEXT COLLATE "C" NOT NULL,
    patient_key      TEXT COLLATE "C" NOT NULL,
    version          BIGINT NOT NULL,
    state            TEXT COLLATE "C" NOT NULL,
    record           TEXT COLLATE "C" NOT NULL,
    updated_at       TEXT COLLATE "C" NOT NULL,
    UNIQUE (institution_code, claim_month, patient_key)
);
CREATE TABLE claim_versions (
    claim_id  BIGINT NOT NULL REFERENCES claims (id),
    version   BIGINT NOT NULL,
    state     TEXT COLLATE "C" NOT NULL,
    record    TEXT COLLATE "C" NOT NULL,
    meta      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (claim_id, version)
);
CREATE TRIGGER claim_versions_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON claim_versions
    FOR EACH STATEMENT EXECUTE FUNCTION onshi_append_only();
CREATE TABLE claim_proposals (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    claim_id         BIGINT NOT NULL REFERENCES claims (id),
    based_on_version BIGINT NOT NULL,
    record           TEXT COLLATE "C" NOT NULL,
    reason           TEXT COLLATE "C" NOT NULL,
    created_at       TEXT COLLATE "C" NOT NULL,
    status           TEXT COLLATE "C" NOT NULL DEFAULT 'open',
    decided_at       TEXT COLLATE "C",
    decided_by       TEXT COLLATE "C",
    decision_reason  TEXT COLLATE "C"
);
CREATE INDEX claim_proposals_claim ON claim_proposals (claim_id);
CREATE TABLE claim_submissions (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    institution_code TEXT COLLATE "C" NOT NULL,
    claim_month      TEXT COLLATE "C" NOT NULL,
    payer            TEXT COLLATE "C" NOT NULL,
    format           TEXT COLLATE "C" NOT NULL,
    digest           TEXT COLLATE "C" NOT NULL,
    body             BYTEA NOT NULL,
    claims           BIGINT NOT NULL,
    at               TEXT COLLATE "C" NOT NULL,
    actor            TEXT COLLATE "C" NOT NULL
);
CREATE TABLE payer_runs (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    as_of    DATE NOT NULL,
    at       TEXT COLLATE "C" NOT NULL,
    actor    TEXT COLLATE "C" NOT NULL,
    inputs   TEXT COLLATE "C" NOT NULL,
    policy   TEXT COLLATE "C" NOT NULL,
    summary  TEXT COLLATE "C" NOT NULL,
    outcome  TEXT COLLATE "C" NOT NULL
);
CREATE TABLE payer_results (
    run_id           BIGINT NOT NULL REFERENCES payer_runs (id),
    institution_code TEXT COLLATE "C" NOT NULL,
    claim_month      TEXT COLLATE "C" NOT NULL,
    claim_id         TEXT COLLATE "C" NOT NULL,
    fate             TEXT COLLATE "C" NOT NULL,
    detail           TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run_id, institution_code, claim_month, claim_id)
);
CREATE INDEX payer_results_inst ON payer_results (institution_code, run_id);
CREATE TABLE payer_ratio_differences (
    run_id           BIGINT NOT NULL REFERENCES payer_runs (id),
    insurer          TEXT COLLATE "C" NOT NULL,
    institution_code TEXT COLLATE "C" NOT NULL,
    claim_month      TEXT COLLATE "C" NOT NULL,
    claim_id         TEXT COLLATE "C" NOT NULL,
    detail           TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run_id, institution_code, claim_month, claim_id)
);
CREATE INDEX payer_ratio_differences_insurer ON payer_ratio_differences (insurer, run_id);
CREATE TABLE payment_record (
    institution_code TEXT COLLATE "C" NOT NULL,
    payer            TEXT COLLATE "C" NOT NULL,
    claim_month      TEXT COLLATE "C" NOT NULL,
    claim_id         TEXT COLLATE "C" NOT NULL,
    insurer          TEXT COLLATE "C" NOT NULL,
    yen              BIGINT NOT NULL,
    PRIMARY KEY (institution_code, claim_month, claim_id, insurer)
);
CREATE INDEX payment_record_month ON payment_record (institution_code, payer, claim_month);
CREATE TABLE payer_inquiries (
    institution_code TEXT COLLATE "C" NOT NULL,
    claim_month      TEXT COLLATE "C" NOT NULL,
    claim_id         TEXT COLLATE "C" NOT NULL,
    insurer          TEXT COLLATE "C" NOT NULL,
    matches          BOOLEAN NOT NULL,
    answered_by      TEXT COLLATE "C" NOT NULL,
    at               TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (institution_code, claim_month, claim_id, insurer)
);
CREATE TABLE ratio_settlements (
    insurer          TEXT COLLATE "C" NOT NULL,
    institution_code TEXT COLLATE "C" NOT NULL,
    claim_month      TEXT COLLATE "C" NOT NULL,
    claim_id         TEXT COLLATE "C" NOT NULL,
    kind             TEXT COLLATE "C" NOT NULL,
    yen              BIGINT NOT NULL,
    settled_on       DATE,
    done             BOOLEAN NOT NULL,
    settled_by       TEXT COLLATE "C" NOT NULL,
    at               TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (insurer, institution_code, claim_month, claim_id)
);
"#,
];
