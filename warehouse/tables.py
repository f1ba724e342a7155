"""The warehouse tables, defined once as Arrow schemas.

The Parquet files and the DuckDB DDL both come from these schemas, so a column
exists in one place only. Names listed in the README are a contract with
analysts: add columns, never rename or drop them.
"""

from __future__ import annotations

import pyarrow as pa

_TS = pa.timestamp("us", tz="UTC")


def _field(name: str, type_: pa.DataType, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable)


ARTICLES = pa.schema(
    [
        _field("article_id", pa.string(), False),
        _field("source_path", pa.string(), False),
        _field("text", pa.string(), False),
        _field("text_norm", pa.string(), False),
        _field("text_chars", pa.int32(), False),
        _field("text_norm_chars", pa.int32(), False),
        _field("n_sentences", pa.int32(), False),
        _field("n_tokens", pa.int32(), False),
        _field("n_mentions", pa.int32(), False),
        _field("raw_sha256", pa.string(), False),
        _field("run_id", pa.string(), False),
        _field("ingested_at", _TS, False),
        # Intake: where and how the item came in.
        _field("source_id", pa.string()),
        _field("format", pa.string()),
        _field("encoding", pa.string()),
        _field("url", pa.string()),
        # Metadata, each field with how it was found (dateline, timestamp, lead, header, metadata, registry, none).
        _field("title", pa.string()),
        _field("title_source", pa.string()),
        _field("dateline_city", pa.string()),
        _field("published_date", pa.date32()),
        _field("date_source", pa.string()),
        _field("agency", pa.string()),
        _field("agency_source", pa.string()),
        # The story without site furniture: body = text[body_start:body_end], furniture lines inside blanked.
        _field("body", pa.string()),
        _field("body_start", pa.int32()),
        _field("body_end", pa.int32()),
        # A near copy of an earlier article: not NER-processed again.
        _field("duplicate_of", pa.string()),
        _field("duplicate_similarity", pa.float64()),
        # Added later (older rows hold NULL): which version of the metadata rules
        # (transforms.metadata.METADATA_RULES_VERSION) produced the fields above, NULL meaning version 1,
        # and the fields that came with the item outside its text, so that ``akhbar reprocess``
        # re-derives the metadata from the stored text exactly as an ingest would.
        _field("metadata_rules", pa.int32()),
        _field("item_title", pa.string()),
        _field("item_published", pa.date32()),
        _field("item_agency", pa.string()),
        _field("registry_agency", pa.string()),
        # A web page's byline and site name, from its markup (trafilatura).
        _field("author", pa.string()),
        _field("site_name", pa.string()),
    ]
)

SENTENCES = pa.schema(
    [
        _field("article_id", pa.string(), False),
        _field("sentence_index", pa.int32(), False),
        _field("start_char", pa.int32(), False),
        _field("end_char", pa.int32(), False),
        _field("n_tokens", pa.int32(), False),
    ]
)

MENTIONS = pa.schema(
    [
        _field("article_id", pa.string(), False),
        _field("mention_index", pa.int32(), False),
        _field("sentence_index", pa.int32(), False),
        _field("start_char", pa.int32(), False),
        _field("end_char", pa.int32(), False),
        _field("surface", pa.string(), False),
        _field("label", pa.string(), False),
        _field("norm_key", pa.string(), False),
        # The canonical entity (transforms/entities.py) and how the mention was linked to it.
        _field("entity_id", pa.string()),
        _field("entity_key", pa.string()),
        _field("link_method", pa.string()),  # transforms.entities.LINK_METHODS
        _field("link_score", pa.float64()),
        # Added later (older rows hold NULL, meaning model): who found the span, the NER model or the
        # knowledge base's pass over the body (transforms/kb_mentions.py).
        _field("source", pa.string()),
    ]
)

# Amounts as the press writes them (transforms/amounts.py): a number, its scale and unit, with offsets into
# articles.text.
AMOUNTS = pa.schema(
    [
        _field("article_id", pa.string(), False),
        _field("amount_index", pa.int32(), False),
        _field("sentence_index", pa.int32()),  # NULL: in the headline, before the body's first sentence
        _field("start_char", pa.int32(), False),
        _field("end_char", pa.int32(), False),
        _field("text", pa.string(), False),
        _field("value", pa.float64(), False),  # the number with its scale applied; a range's lower bound
        _field("unit", pa.string(), False),  # transforms.amounts.UNITS
        _field("currency", pa.string()),  # ISO 4217, when the words name one
        _field("scale", pa.float64(), False),
        _field("qualifier", pa.string()),  # transforms.amounts.QUALIFIERS
        _field("upper", pa.float64()),  # a range's upper bound
    ]
)

# Who said what (transforms/quotes.py): a quote or a piece of reported speech, its verb and its speaker, with
# offsets into articles.text.
QUOTES = pa.schema(
    [
        _field("article_id", pa.string(), False),
        _field("quote_index", pa.int32(), False),
        _field("sentence_index", pa.int32()),  # the verb's sentence
        _field("start_char", pa.int32(), False),
        _field("end_char", pa.int32(), False),
        _field("text", pa.string(), False),
        _field("kind", pa.string(), False),  # transforms.quotes.KINDS
        _field("verb", pa.string(), False),  # as written: وأضاف، مشيراً
        _field("verb_start", pa.int32(), False),
        _field("verb_end", pa.int32(), False),
        _field("speaker_text", pa.string(), False),  # the name, the title, or (pronoun) the antecedent's words
        _field("speaker_start", pa.int32(), False),
        _field("speaker_end", pa.int32(), False),
        _field("speaker_via", pa.string(), False),  # transforms.quotes.SPEAKER_VIA
        # The speaker's mention in this article (NULL for a title the article never gave a name to) and its entity.
        _field("speaker_mention_index", pa.int32()),
        _field("speaker_entity_id", pa.string()),
        _field("speaker_label", pa.string()),
    ]
)

# Stories across outlets (transforms/stories.py): articles about the same happening. A run replaces the rows of
# the stories it opened or extended.
STORIES = pa.schema(
    [
        _field("story_id", pa.string(), False),
        _field("first_seen", pa.date32()),  # its members' days (published, else taken in)
        _field("last_seen", pa.date32()),
        _field("n_articles", pa.int32(), False),
        _field("n_sources", pa.int32(), False),  # outlets: warehouse.views.ARTICLE_OUTLET
        _field("title", pa.string()),  # the earliest member's headline
    ]
)

# Each article's story: one row per article, near copies included.
ARTICLE_STORIES = pa.schema(
    [
        _field("article_id", pa.string(), False),
        _field("story_id", pa.string(), False),
        _field("similarity", pa.float64(), False),  # its mean similarity to the members when it joined; 1 to open
    ]
)

# One row per canonical entity; a run replaces the rows of the entities it touched.
ENTITIES = pa.schema(
    [
        _field("entity_id", pa.string(), False),
        _field("type", pa.string(), False),
        _field("name_ar", pa.string(), False),
        _field("name_en", pa.string()),
        _field("wikidata_qid", pa.string()),
        _field("first_seen", pa.date32()),
        _field("last_seen", pa.date32()),
        _field("mention_count", pa.int64(), False),
        _field("article_count", pa.int64(), False),
        _field("in_alias_table", pa.bool_(), False),  # known to the knowledge base (any of its sources)
        _field("run_id", pa.string(), False),
        # Added later (older rows hold NULL): the knowledge base's source of the entity (transforms.kb.SOURCES),
        # and for places their GeoNames id, country (ISO 3166-1 alpha-2) and coordinates.
        _field("kb_source", pa.string()),
        _field("geonames_id", pa.int64()),
        _field("country_code", pa.string()),
        _field("latitude", pa.float64()),
        _field("longitude", pa.float64()),
    ]
)

ARTICLE_ENTITIES = pa.schema(
    [
        _field("article_id", pa.string(), False),
        _field("entity_id", pa.string(), False),
        _field("mention_count", pa.int32(), False),
        _field("first_char", pa.int32(), False),
    ]
)

# Uncertain merges, for a person to decide: never merged silently.
ENTITY_REVIEW = pa.schema(
    [
        _field("article_id", pa.string(), False),
        _field("mention_index", pa.int32(), False),
        _field("surface", pa.string(), False),
        _field("entity_key", pa.string(), False),
        _field("label", pa.string(), False),
        _field("entity_id", pa.string(), False),
        _field("candidate_id", pa.string(), False),
        _field("candidate_name", pa.string()),
        _field("score", pa.float64(), False),
        _field("reason", pa.string()),
    ]
)

RUNS = pa.schema(
    [
        _field("run_id", pa.string(), False),
        _field("flow_run_id", pa.string()),
        _field("started_at", _TS, False),
        _field("finished_at", _TS),
        _field("n_seen", pa.int32(), False),
        _field("n_new", pa.int32(), False),
        _field("n_skipped", pa.int32(), False),
        _field("n_failed", pa.int32(), False),
        _field("n_sentences", pa.int32(), False),
        _field("n_mentions", pa.int32(), False),
        _field("n_duplicates", pa.int32()),
        _field("model", pa.string()),
        _field("model_version", pa.string()),
        _field("status", pa.string(), False),
        _field("inbox", pa.string()),
        _field("message", pa.string()),
        _field("device", pa.string()),  # where the NER model ran (cpu, cuda); NULL when it did not run
    ]
)

# Every later copy of a story, exact (same normalized text, so same article_id)
# or near (its own article row, with duplicate_of); the first copy wins.
DUPLICATES = pa.schema(
    [
        _field("source_path", pa.string(), False),
        _field("article_id", pa.string(), False),
        _field("duplicate_of", pa.string(), False),
        _field("kind", pa.string(), False),
        _field("similarity", pa.float64(), False),
        _field("run_id", pa.string(), False),
        _field("seen_at", _TS, False),
    ]
)

# MinHash signatures of first copies, so later runs find near copies of them.
FINGERPRINTS = pa.schema(
    [
        _field("article_id", pa.string(), False),
        _field("minhash", pa.binary(), False),
    ]
)

# The LSH band keys of a first copy's signature, in the layout (bands × rows per band) of the near-copy
# threshold it was published under: how a run finds the published signatures that can match its own without
# reading them all (transforms/dedup.py). A fingerprint without keys in the current layout is read whole.
FINGERPRINT_BANDS = pa.schema(
    [
        _field("article_id", pa.string(), False),
        _field("bands", pa.int32(), False),
        _field("rows_per_band", pa.int32(), False),
        _field("band", pa.int32(), False),
        _field("band_key", pa.int64(), False),
    ]
)

# Inbox files whose every item was published or recorded as a copy, with the size and mtime they had
# when read: while both stay the same, later runs skip the file unread.
INBOX_FILES = pa.schema(
    [
        _field("source_path", pa.string(), False),
        _field("size", pa.int64(), False),
        _field("mtime_ns", pa.int64(), False),
        _field("n_items", pa.int32(), False),
        _field("run_id", pa.string(), False),
    ]
)

QUARANTINE = pa.schema(
    [
        _field("item_id", pa.string(), False),
        _field("source_path", pa.string(), False),
        _field("reason", pa.string(), False),
        _field("run_id", pa.string(), False),
        _field("quarantined_at", _TS, False),
        _field("detail", pa.string()),
        _field("level", pa.string(), False),
        _field("stored_path", pa.string()),
        _field("status", pa.string(), False),
    ]
)

# Web sources (feeds and news sitemaps): every story address they announced and what became of it; each
# source's state between runs (conditional GET, streaks); each run's figures per source.
WEB_ENTRIES = pa.schema(
    [
        _field("source_id", pa.string(), False),
        _field("url", pa.string(), False),  # normalized (transforms.web.normalize_url)
        _field("guid", pa.string()),
        _field("title", pa.string()),  # as the source announced it
        _field("published", pa.date32()),
        _field("status", pa.string(), False),  # taken | retrying | quarantined
        _field("fetched_via", pa.string()),  # page | feed (the feed held the story) | canonical (another's page)
        _field("attempts", pa.int32(), False),
        _field("last_reason", pa.string()),  # why the last fetch failed (http_404, timeout...)
        _field("first_seen_at", _TS, False),
        _field("last_attempt_at", _TS),
        _field("run_id", pa.string(), False),
    ]
)

WEB_SOURCES = pa.schema(
    [
        _field("source_id", pa.string(), False),
        _field("kind", pa.string(), False),  # feed | sitemap
        _field("location", pa.string(), False),
        _field("etag", pa.string()),  # for the next conditional GET
        _field("last_modified", pa.string()),
        _field("last_checked_at", _TS, False),
        _field("last_success_at", _TS),  # the last time it answered
        _field("last_delivery_at", _TS),  # the last run it announced something new
        _field("failure_streak", pa.int32(), False),  # runs in a row it could not be read
        _field("silent_runs", pa.int32(), False),  # runs in a row it announced nothing new
        _field("last_error", pa.string()),
        _field("run_id", pa.string(), False),
    ]
)

SOURCE_RUNS = pa.schema(
    [
        _field("run_id", pa.string(), False),
        _field("source_id", pa.string(), False),
        _field("kind", pa.string(), False),
        _field("status", pa.string(), False),  # ok | not_modified | failed
        _field("http_status", pa.int32()),
        _field("entries_seen", pa.int32(), False),
        _field("entries_new", pa.int32(), False),
        _field("entries_deferred", pa.int32(), False),  # new, over AKHBAR_MAX_NEW_PER_SOURCE: taken at later runs
        _field("pages_fetched", pa.int32(), False),
        _field("pages_failed", pa.int32(), False),
        _field("failures", pa.string()),  # JSON: reason → count
        _field("bytes", pa.int64(), False),
        _field("seconds", pa.float64(), False),
    ]
)

# Tables whose staged rows replace the published rows with the same key (running aggregates, state).
REPLACED_TABLES = ("entities", "stories", "inbox_files", "web_entries", "web_sources")

# Publication order: parents before children.
TABLES: dict[str, pa.Schema] = {
    "articles": ARTICLES,
    "sentences": SENTENCES,
    "mentions": MENTIONS,
    "amounts": AMOUNTS,
    "quotes": QUOTES,
    "entities": ENTITIES,
    "stories": STORIES,
    "article_entities": ARTICLE_ENTITIES,
    "entity_review": ENTITY_REVIEW,
    "article_stories": ARTICLE_STORIES,
    "duplicates": DUPLICATES,
    "fingerprints": FINGERPRINTS,
    "fingerprint_bands": FINGERPRINT_BANDS,
    "inbox_files": INBOX_FILES,
    "web_entries": WEB_ENTRIES,
    "web_sources": WEB_SOURCES,
    "source_runs": SOURCE_RUNS,
    "runs": RUNS,
    "quarantine": QUARANTINE,
}

PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "articles": ("article_id",),
    "sentences": ("article_id", "sentence_index"),
    "mentions": ("article_id", "mention_index"),
    "amounts": ("article_id", "amount_index"),
    "quotes": ("article_id", "quote_index"),
    "stories": ("story_id",),
    "article_stories": ("article_id",),
    "entities": ("entity_id",),
    "article_entities": ("article_id", "entity_id"),
    "entity_review": ("article_id", "mention_index"),
    "duplicates": ("source_path", "article_id"),
    "fingerprints": ("article_id",),
    "fingerprint_bands": ("article_id", "bands", "rows_per_band", "band"),
    "inbox_files": ("source_path",),
    "web_entries": ("source_id", "url"),
    "web_sources": ("source_id",),
    "source_runs": ("run_id", "source_id"),
    "runs": ("run_id",),
    "quarantine": ("item_id", "run_id", "status"),
}

# Tables with rows for every article published, nearly all of a warehouse: no index enforces their keys.
# DuckDB's ART index on them held three quarters of a 100,000-article file, and every publish's checkpoint
# rewrote about 100 MB of it for a few thousand new keys. The gate vouches for these keys (unique in the
# batch, every article new), and publishing checks them again in its transaction (``warehouse/store.py``).
UNINDEXED_KEYS = ("articles", "sentences", "mentions", "amounts", "quotes", "article_stories", "article_entities",
                  "entity_review", "duplicates", "fingerprints", "fingerprint_bands")

_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.binary(): "BLOB",
    _TS: "TIMESTAMPTZ",
}


def duckdb_type(type_: pa.DataType) -> str:
    return _DUCKDB_TYPES[type_]


def create_table_sql(name: str, as_name: str | None = None) -> str:
    """The table's DDL (under ``as_name`` if given)."""
    schema = TABLES[name]
    columns = [
        f"{f.name} {duckdb_type(f.type)}{'' if f.nullable else ' NOT NULL'}" for f in schema
    ]
    if name not in UNINDEXED_KEYS:
        columns.append(f"PRIMARY KEY ({', '.join(PRIMARY_KEYS[name])})")
    return f"CREATE TABLE IF NOT EXISTS {as_name or name} (\n  " + ",\n  ".join(columns) + "\n)"


def to_arrow(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=TABLES[name])
