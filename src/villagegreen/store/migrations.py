"""Named, ordered schema migrations.

Each migration runs in its own transaction together with the row that records it in
``schema_migrations``, so a store is always at exactly one known version. Append new
migrations; never edit one that has shipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from villagegreen.store.word_count import word_count_sql


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


_DECLARED: tuple[Migration, ...] = (
    Migration(
        1,
        "canonical_model",
        """
        CREATE TABLE sources (
            id VARCHAR PRIMARY KEY,
            connector VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            location VARCHAR,
            first_imported_at TIMESTAMPTZ NOT NULL,
            last_imported_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE raw_items (
            id VARCHAR PRIMARY KEY,
            source_id VARCHAR NOT NULL,
            connector VARCHAR NOT NULL,
            connector_version VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            native_id VARCHAR NOT NULL,
            payload JSON NOT NULL,
            fetched_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE spaces (
            id VARCHAR PRIMARY KEY,
            source_id VARCHAR NOT NULL,
            native_id VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            private BOOLEAN NOT NULL,
            meta JSON
        );
        CREATE TABLE people (
            id VARCHAR PRIMARY KEY,
            display_name VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE identities (
            id VARCHAR PRIMARY KEY,
            source_id VARCHAR NOT NULL,
            native_id VARCHAR NOT NULL,
            display_name VARCHAR NOT NULL,
            handle VARCHAR,
            email VARCHAR,
            is_bot BOOLEAN NOT NULL,
            meta JSON,
            person_id VARCHAR NOT NULL
        );
        CREATE TABLE conversations (
            id VARCHAR PRIMARY KEY,
            source_id VARCHAR NOT NULL,
            space_id VARCHAR NOT NULL,
            title VARCHAR,
            started_at TIMESTAMPTZ NOT NULL,
            meta JSON
        );
        CREATE TABLE messages (
            id VARCHAR PRIMARY KEY,
            source_id VARCHAR NOT NULL,
            native_id VARCHAR NOT NULL,
            conversation_id VARCHAR NOT NULL,
            reply_to_id VARCHAR,
            space_id VARCHAR NOT NULL,
            author_id VARCHAR,
            sent_at TIMESTAMPTZ NOT NULL,
            text VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            meta JSON
        );
        CREATE TABLE reactions (
            id VARCHAR PRIMARY KEY,
            source_id VARCHAR NOT NULL,
            message_id VARCHAR NOT NULL,
            identity_id VARCHAR,
            kind VARCHAR NOT NULL,
            count INTEGER NOT NULL,
            reacted_at TIMESTAMPTZ
        );
        CREATE TABLE events (
            id VARCHAR PRIMARY KEY,
            source_id VARCHAR NOT NULL,
            space_id VARCHAR,
            identity_id VARCHAR,
            kind VARCHAR NOT NULL,
            occurred_at TIMESTAMPTZ NOT NULL,
            meta JSON
        );
        CREATE TABLE sync_state (
            source_id VARCHAR NOT NULL,
            stream VARCHAR NOT NULL,
            cursor VARCHAR NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (source_id, stream)
        );
        CREATE TABLE import_runs (
            id VARCHAR PRIMARY KEY,
            source_id VARCHAR NOT NULL,
            connector VARCHAR NOT NULL,
            location VARCHAR NOT NULL,
            started_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ NOT NULL,
            report JSON NOT NULL
        );
        """,
    ),
    Migration(
        2,
        "people_merges",
        # The merge log keeps, per identity moved, the person it belonged to before (parallel
        # arrays) and the people rows the merge removed, so an unmerge restores them exactly.
        # Rejected pairs are stored in a fixed order (identity_a < identity_b).
        """
        CREATE TABLE people_merges (
            id INTEGER PRIMARY KEY,
            kind VARCHAR NOT NULL CHECK (kind IN ('merge', 'unmerge')),
            merged_at TIMESTAMPTZ NOT NULL,
            actor VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,
            score DOUBLE,
            target_person_id VARCHAR NOT NULL,
            identity_ids VARCHAR[] NOT NULL,
            previous_person_ids VARCHAR[] NOT NULL,
            removed_people JSON,
            undoes INTEGER
        );
        CREATE TABLE people_merge_rejections (
            identity_a VARCHAR NOT NULL,
            identity_b VARCHAR NOT NULL,
            rejected_at TIMESTAMPTZ NOT NULL,
            actor VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,
            PRIMARY KEY (identity_a, identity_b)
        );
        """,
    ),
    Migration(
        3,
        "analyses_and_consent",
        # Analysis results use one long layout (a number per period, scope and metric) so that
        # adding a metric never needs a migration; a run is replaced by a re-run of the same
        # (analysis, version, window key). Consent is per person and purpose; a missing row
        # means "not recorded", which is not the same as consent.
        """
        CREATE TABLE analysis_runs (
            id VARCHAR PRIMARY KEY,
            analysis VARCHAR NOT NULL,
            version VARCHAR NOT NULL,
            window_key VARCHAR NOT NULL,
            grain VARCHAR NOT NULL,
            since TIMESTAMPTZ,
            until TIMESTAMPTZ,
            include_private BOOLEAN NOT NULL,
            started_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ NOT NULL,
            result_rows INTEGER NOT NULL,
            params JSON
        );
        CREATE TABLE analysis_results (
            run_id VARCHAR NOT NULL,
            period_start TIMESTAMP,
            scope_kind VARCHAR NOT NULL,
            scope_id VARCHAR NOT NULL,
            metric VARCHAR NOT NULL,
            value DOUBLE
        );
        CREATE TABLE analysis_findings (
            run_id VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            scope_kind VARCHAR NOT NULL,
            scope_id VARCHAR NOT NULL,
            severity VARCHAR NOT NULL,
            message VARCHAR NOT NULL,
            evidence JSON
        );
        CREATE TABLE consent (
            person_id VARCHAR NOT NULL,
            purpose VARCHAR NOT NULL,
            status VARCHAR NOT NULL CHECK (status IN ('granted', 'refused')),
            recorded_at TIMESTAMPTZ NOT NULL,
            actor VARCHAR NOT NULL,
            note VARCHAR,
            PRIMARY KEY (person_id, purpose)
        );
        """,
    ),
    Migration(
        4,
        "privacy_audit",
        # The audit log names facilitator actions that touch people; an erasure rewrites the
        # rows about the erased person and leaves one tombstone row with counts only.
        # erased_identities is the block list that keeps a forgotten person out of re-imports:
        # a SHA-256 of (source id, native id), never the id itself (see store/erasure.py).
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            recorded_at TIMESTAMPTZ NOT NULL,
            actor VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            person_id VARCHAR,
            details JSON
        );
        CREATE TABLE erased_identities (
            key VARCHAR PRIMARY KEY,
            source_id VARCHAR NOT NULL,
            erased_at TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    Migration(
        5,
        "embeddings_and_topics",
        # One embedding per message and model (analyses/embedding_store.py); text_hash is
        # md5(text), so a changed message is re-embedded and an unchanged one never is. Vectors
        # are derived from message text: erasing a message must delete its rows here too.
        # Topics are kept per run (analysis_runs, analysis 'topics'); their keyphrases quote
        # words from messages.
        """
        CREATE TABLE embeddings (
            message_id VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            model_version VARCHAR NOT NULL,
            text_hash VARCHAR NOT NULL,
            vector FLOAT[] NOT NULL,
            embedded_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (message_id, model)
        );
        CREATE TABLE topics (
            run_id VARCHAR NOT NULL,
            topic_id INTEGER NOT NULL,
            label VARCHAR NOT NULL,
            keyphrases VARCHAR[] NOT NULL,
            conversations INTEGER NOT NULL,
            trend VARCHAR NOT NULL,
            slope DOUBLE,
            PRIMARY KEY (run_id, topic_id)
        );
        CREATE TABLE conversation_topics (
            run_id VARCHAR NOT NULL,
            conversation_id VARCHAR NOT NULL,
            topic_id INTEGER NOT NULL,
            similarity DOUBLE NOT NULL,
            PRIMARY KEY (run_id, conversation_id)
        );
        """,
    ),
    Migration(
        6,
        "message_acts",
        # One dialogue act per message (analyses/acts.py), with the rule that fired and its
        # evidence, so a label can be explained and re-labelled when the rules change
        # (acts_version). Evidence quotes a few words of the message: erasing a person's
        # messages must delete their rows here too.
        """
        CREATE TABLE message_acts (
            message_id VARCHAR PRIMARY KEY,
            act VARCHAR NOT NULL,
            confidence DOUBLE NOT NULL,
            rule VARCHAR NOT NULL,
            evidence VARCHAR,
            acts_version VARCHAR NOT NULL,
            labelled_at TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    Migration(
        7,
        "stories",
        # The editor's desk (stories/desk.py): a story per drafted conversation with its
        # editorial state, and every version of its body (Story.to_dict() as JSON) with who made
        # it and the state it moved to, never overwritten. Bodies quote members: erasure's
        # text scan (store/privacy_redaction.py) covers these JSON columns like any other.
        """
        CREATE TABLE stories (
            id INTEGER PRIMARY KEY,
            conversation_id VARCHAR NOT NULL,
            title VARCHAR NOT NULL,
            state VARCHAR NOT NULL CHECK (state IN ('draft', 'in_review', 'approved', 'published')),
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE story_versions (
            story_id INTEGER NOT NULL,
            version INTEGER NOT NULL,
            state VARCHAR NOT NULL,
            body JSON NOT NULL,
            actor VARCHAR NOT NULL,
            note VARCHAR,
            created_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (story_id, version)
        );
        """,
    ),
    Migration(
        8,
        "publications",
        # What `villagegreen publish` posted where: one row per (item, target), written only after
        # the platform accepted it, so re-running never posts twice and a failure leaves no row.
        # content_hash is the SHA-256 of what was sent. No person data: items are cited by id.
        """
        CREATE TABLE publications (
            item_kind VARCHAR NOT NULL CHECK (item_kind IN ('story', 'wrapup', 'poll', 'digest')),
            item_id VARCHAR NOT NULL,
            target VARCHAR NOT NULL,
            target_kind VARCHAR NOT NULL,
            remote_id VARCHAR,
            remote_url VARCHAR,
            content_hash VARCHAR NOT NULL,
            published_at TIMESTAMPTZ NOT NULL,
            actor VARCHAR NOT NULL,
            PRIMARY KEY (item_kind, item_id, target)
        );
        """,
    ),
    Migration(
        10,
        "dashboard_accounts",
        # Dashboard users (interfaces/web/accounts.py): a scrypt hash of the password with its
        # salt and parameters, never the password; sessions keep only the SHA-256 of the random
        # token in the browser's cookie, so a copy of the store opens no session.
        """
        CREATE TABLE users (
            username VARCHAR PRIMARY KEY,
            role VARCHAR NOT NULL CHECK (role IN ('facilitator', 'viewer')),
            password_hash VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            created_by VARCHAR NOT NULL
        );
        CREATE TABLE sessions (
            token_hash VARCHAR PRIMARY KEY,
            username VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    Migration(
        9,
        "expert_routing",
        # Who may be asked (analyses/experts_availability.py): one availability row per person
        # (no row: available, no cap), and the routing log, one row per person suggested when a
        # facilitator routes a question (`experts --route`, `questions unanswered --suggest
        # --route`), so expert load = that person's routed questions still open. Both name
        # people: erasing a person must delete their rows, and a merge must move them.
        """
        CREATE TABLE availability (
            person_id VARCHAR PRIMARY KEY,
            away BOOLEAN NOT NULL,
            away_until TIMESTAMPTZ,
            max_open_questions INTEGER CHECK (max_open_questions IS NULL OR max_open_questions >= 0),
            note VARCHAR,
            actor VARCHAR NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE routing_log (
            id INTEGER PRIMARY KEY,
            conversation_id VARCHAR,
            question VARCHAR NOT NULL,
            person_id VARCHAR NOT NULL,
            rank INTEGER NOT NULL,
            score DOUBLE NOT NULL,
            routed_at TIMESTAMPTZ NOT NULL,
            actor VARCHAR NOT NULL
        );
        """,
    ),
    # The bulk tables lose their PRIMARY KEY: its ART index cost two thirds of a 1M-message
    # import's writing (2M keys built and written at commit: about 20 of 30 CPU-s, measured) and
    # made every relabelling delete and insert slow. Ids stay unique because each writer keeps
    # them so: imports merge with an anti-join (tested after overlapping imports), acts and
    # embeddings delete a message's row before inserting it. A lookup by id scans instead,
    # milliseconds at 1M rows.
    Migration(
        11,
        "bulk_tables_without_primary_keys",
        """
        CREATE TABLE raw_items_v11 (
            id VARCHAR NOT NULL,
            source_id VARCHAR NOT NULL,
            connector VARCHAR NOT NULL,
            connector_version VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            native_id VARCHAR NOT NULL,
            payload JSON NOT NULL,
            fetched_at TIMESTAMPTZ NOT NULL
        );
        INSERT INTO raw_items_v11 SELECT * FROM raw_items;
        DROP TABLE raw_items;
        ALTER TABLE raw_items_v11 RENAME TO raw_items;
        CREATE TABLE messages_v11 (
            id VARCHAR NOT NULL,
            source_id VARCHAR NOT NULL,
            native_id VARCHAR NOT NULL,
            conversation_id VARCHAR NOT NULL,
            reply_to_id VARCHAR,
            space_id VARCHAR NOT NULL,
            author_id VARCHAR,
            sent_at TIMESTAMPTZ NOT NULL,
            "text" VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            meta JSON
        );
        INSERT INTO messages_v11 SELECT * FROM messages;
        DROP TABLE messages;
        ALTER TABLE messages_v11 RENAME TO messages;
        CREATE TABLE conversations_v11 (
            id VARCHAR NOT NULL,
            source_id VARCHAR NOT NULL,
            space_id VARCHAR NOT NULL,
            title VARCHAR,
            started_at TIMESTAMPTZ NOT NULL,
            meta JSON
        );
        INSERT INTO conversations_v11 SELECT * FROM conversations;
        DROP TABLE conversations;
        ALTER TABLE conversations_v11 RENAME TO conversations;
        CREATE TABLE reactions_v11 (
            id VARCHAR NOT NULL,
            source_id VARCHAR NOT NULL,
            message_id VARCHAR NOT NULL,
            identity_id VARCHAR,
            kind VARCHAR NOT NULL,
            count INTEGER NOT NULL,
            reacted_at TIMESTAMPTZ
        );
        INSERT INTO reactions_v11 SELECT * FROM reactions;
        DROP TABLE reactions;
        ALTER TABLE reactions_v11 RENAME TO reactions;
        CREATE TABLE events_v11 (
            id VARCHAR NOT NULL,
            source_id VARCHAR NOT NULL,
            space_id VARCHAR,
            identity_id VARCHAR,
            kind VARCHAR NOT NULL,
            occurred_at TIMESTAMPTZ NOT NULL,
            meta JSON
        );
        INSERT INTO events_v11 SELECT * FROM events;
        DROP TABLE events;
        ALTER TABLE events_v11 RENAME TO events;
        CREATE TABLE message_acts_v11 (
            message_id VARCHAR NOT NULL,
            act VARCHAR NOT NULL,
            confidence DOUBLE NOT NULL,
            "rule" VARCHAR NOT NULL,
            evidence VARCHAR,
            acts_version VARCHAR NOT NULL,
            labelled_at TIMESTAMPTZ NOT NULL
        );
        INSERT INTO message_acts_v11 SELECT * FROM message_acts;
        DROP TABLE message_acts;
        ALTER TABLE message_acts_v11 RENAME TO message_acts;
        CREATE TABLE embeddings_v11 (
            message_id VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            model_version VARCHAR NOT NULL,
            text_hash VARCHAR NOT NULL,
            vector FLOAT[] NOT NULL,
            embedded_at TIMESTAMPTZ NOT NULL
        );
        INSERT INTO embeddings_v11 SELECT * FROM embeddings;
        DROP TABLE embeddings;
        ALTER TABLE embeddings_v11 RENAME TO embeddings;
        """,
    ),
    Migration(
        12,
        "message_word_counts",
        # Every analysis run split every message's text to count its words (8-11 CPU-s at a
        # million messages); the writer now counts them once (store/word_count.py). Existing
        # messages are counted here with the same definition in SQL. Rebuilt rather than
        # altered: DuckDB 1.5 cannot add a column with a constraint (NOT NULL).
        f"""
        CREATE TABLE messages_v12 (
            id VARCHAR NOT NULL,
            source_id VARCHAR NOT NULL,
            native_id VARCHAR NOT NULL,
            conversation_id VARCHAR NOT NULL,
            reply_to_id VARCHAR,
            space_id VARCHAR NOT NULL,
            author_id VARCHAR,
            sent_at TIMESTAMPTZ NOT NULL,
            "text" VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            meta JSON,
            word_count INTEGER NOT NULL
        );
        INSERT INTO messages_v12 SELECT *, {word_count_sql('"text"')} FROM messages;
        DROP TABLE messages;
        ALTER TABLE messages_v12 RENAME TO messages;
        """,
    ),
)

# Applied in version order whatever the order of declaration; versions must run 1..N with no
# gap or repeat (tests/store/test_database.py checks it), so a store is always at one version.
MIGRATIONS: tuple[Migration, ...] = tuple(sorted(_DECLARED, key=lambda migration: migration.version))
LATEST_VERSION = MIGRATIONS[-1].version
