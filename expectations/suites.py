"""The expectation suites, one per table, as readable Great Expectations objects.

Each suite validates an *audit frame*: the staged rows of one table plus a few
derived columns computed in DuckDB (see ``expectations/audit.py``), so that
cross-table rules (a mention's surface equals its slice of the article, every
row has a parent, nothing duplicates a published article) become plain column
expectations.

Every expectation carries ``meta.level``:
- ``article``: a failure belongs to the articles named in the unexpected rows;
  those articles are quarantined and the rest of the batch is validated again;
- ``batch``: a broken invariant; the whole batch is held back.
``meta.reason`` is the quarantine reason for article-level failures.

What changes from run to run (expected row counts, the model's labels, the
clock) is an expectation parameter (``{"$PARAMETER": name}``), filled in by
:func:`suite_parameters` when the checkpoint runs. The suites themselves only
change with the rules, so the gate registers them in its in-memory Great
Expectations context once per process and warehouse and reuses them for every
run (see ``expectations/gate.py``).

Bump SUITE_VERSION when a rule changes: it is recorded with every result.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Sequence

import expectations.gx_import  # noqa: F401  (before Great Expectations: it defers what the suites never run)
import great_expectations as gx
import great_expectations.expectations as gxe

from transforms.amounts import QUALIFIERS as AMOUNT_QUALIFIERS, UNITS as AMOUNT_UNITS
from transforms.entities import LINK_METHODS
from transforms.kb_mentions import SOURCES as MENTION_SOURCES
from transforms.quotes import KINDS as QUOTE_KINDS, SPEAKER_LABELS, SPEAKER_VIA
from transforms.script import MAX_MOJIBAKE_SHARE

SUITE_VERSION = "9"  # 2: body slice, date provenance, duplicate_of; 3: entities; 4: mojibake; 5: masked body lines;
# 6: mention source and link method; 7: amounts; 8: quotes; 9: stories

DATE_SOURCES = ("dateline", "timestamp", "metadata", "lead", "none")


@dataclass(frozen=True)
class GateLimits:
    min_arabic_ratio: float = 0.5  # share of letters that are Arabic script
    min_chars: int = 40
    max_chars: int = 200_000
    oldest_date: str = "1990-01-01"  # Arabic online news archives start in the late 1990s
    clock_skew: timedelta = timedelta(minutes=10)


def _parameter(name: str) -> dict:
    return {"$PARAMETER": name}


def suite_parameters(
    expected_rows: dict[str, int], labels: Sequence[str], limits: GateLimits, now: datetime | None = None
) -> dict:
    """The values of this run for the suites' parameters."""
    now = now or datetime.now(timezone.utc)
    return {
        "articles_rows": expected_rows["articles"],
        "sentences_rows": expected_rows["sentences"],
        "mentions_rows": expected_rows["mentions"],
        "labels": list(labels),
        "latest_ingested_at": now + limits.clock_skew,
    }


def _article(reason: str, **meta) -> dict:
    return {"level": "article", "reason": reason, **meta}


def _batch(**meta) -> dict:
    return {"level": "batch", **meta}


def articles_suite(limits: GateLimits) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="articles", meta={"version": SUITE_VERSION})
    for expectation in (
        gxe.ExpectTableRowCountToEqual(value=_parameter("articles_rows"),
                                       meta=_batch(rule="row count matches the run record")),
        gxe.ExpectColumnValuesToNotBeNull(column="article_id", meta=_batch(rule="key not null")),
        gxe.ExpectColumnValuesToBeUnique(column="article_id", meta=_batch(rule="key unique in the batch")),
        gxe.ExpectColumnValuesToBeInSet(
            column="already_published", value_set=[False],
            meta=_batch(rule="no duplicate of a published article"),
        ),
        gxe.ExpectColumnValuesToNotBeNull(column="text", meta=_article("empty")),
        gxe.ExpectColumnValuesToBeBetween(
            column="text_chars", min_value=limits.min_chars, max_value=limits.max_chars,
            meta=_article("length_out_of_bounds", rule=f"{limits.min_chars}..{limits.max_chars} characters"),
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="arabic_ratio", min_value=limits.min_arabic_ratio,
            meta=_article("not_mostly_arabic", rule=f"Arabic share of letters >= {limits.min_arabic_ratio}"),
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="mojibake_ratio", max_value=MAX_MOJIBAKE_SHARE,
            meta=_article("mojibake", rule=f"ط and ظ at most {MAX_MOJIBAKE_SHARE:.0%} of the Arabic letters "
                                           "(UTF-8 decoded as Windows-1256 reads as ط/ظ every other letter)"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="mentions_consistent", value_set=[True],
            meta=_batch(rule="n_mentions equals the article's mention rows"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="sentences_consistent", value_set=[True],
            meta=_batch(rule="n_sentences equals the article's sentence rows"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="body_is_slice", value_set=[True],
            meta=_batch(rule="body is text[body_start:body_end], furniture lines inside it blanked"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="date_has_source", value_set=[True],
            meta=_batch(rule="a published_date always records its date_source, and only then"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="duplicate_of_exists", value_set=[True],
            meta=_batch(rule="duplicate_of names a published article or a first copy in the batch"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="date_source", value_set=list(DATE_SOURCES),
            meta=_batch(rule="date_source is one of the known ways"),
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="ingested_at", min_value=datetime(2000, 1, 1, tzinfo=timezone.utc),
            max_value=_parameter("latest_ingested_at"), meta=_batch(rule="ingested_at not in the future"),
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="published_date_days_ahead", max_value=1, mostly=1.0,
            meta=_article("date_in_future", rule="published_date not after tomorrow"),
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="published_date_year", min_value=int(limits.oldest_date[:4]),
            meta=_article("date_implausibly_old", rule=f"published_date after {limits.oldest_date}"),
        ),
    ):
        suite.add_expectation(expectation)
    return suite


def sentences_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="sentences", meta={"version": SUITE_VERSION})
    for expectation in (
        gxe.ExpectTableRowCountToEqual(value=_parameter("sentences_rows"),
                                       meta=_batch(rule="row count matches the run record")),
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=["article_id", "sentence_index"], meta=_batch(rule="key unique")
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="has_article", value_set=[True], meta=_batch(rule="refers to an existing article")
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="within_text", value_set=[True],
            meta=_article("sentence_offsets_invalid", rule="0 <= start < end <= len(text)"),
        ),
    ):
        suite.add_expectation(expectation)
    return suite


def _span_rules(index: str, matches: str, what: str, sentence: str) -> list:
    """What every table of spans into an article's text keeps: its key unique, its article and sentence there,
    its offsets inside the text and its text their slice (``matches``: the audit column that says so)."""
    return [
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["article_id", index], meta=_batch(rule="key unique")),
        gxe.ExpectColumnValuesToBeInSet(
            column="has_article", value_set=[True], meta=_batch(rule="refers to an existing article")
        ),
        gxe.ExpectColumnValuesToBeInSet(column="has_sentence", value_set=[True], meta=_batch(rule=sentence)),
        gxe.ExpectColumnValuesToBeInSet(
            column="within_text", value_set=[True],
            meta=_article(f"{what}_offsets_invalid", rule="0 <= start < end <= len(text)"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column=matches, value_set=[True],
            meta=_article(f"{what}_{matches.removesuffix('_matches')}_mismatch",
                          rule=f"{matches.removesuffix('_matches')} equals text[start:end]"),
        ),
    ]


def mentions_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="mentions", meta={"version": SUITE_VERSION})
    for expectation in (
        gxe.ExpectTableRowCountToEqual(value=_parameter("mentions_rows"),
                                       meta=_batch(rule="row count matches the run record")),
        *_span_rules("mention_index", "surface_matches", "mention", "refers to an existing sentence"),
        gxe.ExpectColumnValuesToBeInSet(
            column="label", value_set=_parameter("labels"), meta=_batch(rule="label from the model's label set")
        ),
        gxe.ExpectColumnValuesToNotBeNull(column="norm_key", meta=_batch(rule="normalized key present")),
        gxe.ExpectColumnValuesToNotBeNull(column="entity_id", meta=_batch(rule="every mention is linked")),
        gxe.ExpectColumnValuesToBeInSet(column="source", value_set=list(MENTION_SOURCES),
                                        meta=_batch(rule="found by the model or the gazetteer pass")),
        gxe.ExpectColumnValuesToBeInSet(column="link_method", value_set=list(LINK_METHODS),
                                        meta=_batch(rule="linked by a documented method")),
    ):
        suite.add_expectation(expectation)
    return suite


def amounts_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="amounts", meta={"version": SUITE_VERSION})
    for expectation in (
        *_span_rules("amount_index", "text_matches", "amount", "refers to an existing sentence, if any"),
        gxe.ExpectColumnValuesToBeInSet(
            column="value_plausible", value_set=[True],
            meta=_article("amount_value_implausible", rule="value finite and > 0; a range's upper bound above it"),
        ),
        gxe.ExpectColumnValuesToBeInSet(column="unit", value_set=list(AMOUNT_UNITS),
                                        meta=_batch(rule="unit from transforms.amounts.UNITS")),
        gxe.ExpectColumnValuesToBeInSet(column="qualifier", value_set=list(AMOUNT_QUALIFIERS),
                                        meta=_batch(rule="qualifier from transforms.amounts.QUALIFIERS, or none")),
        gxe.ExpectColumnValuesToMatchRegex(column="currency", regex=r"^[A-Z]{3}$",
                                           meta=_batch(rule="currencies are ISO 4217 codes")),
    ):
        suite.add_expectation(expectation)
    return suite


def quotes_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="quotes", meta={"version": SUITE_VERSION})
    for expectation in (
        *_span_rules("quote_index", "text_matches", "quote", "refers to an existing sentence, if any"),
        gxe.ExpectColumnValuesToBeInSet(
            column="speaker_is_mention", value_set=[True],
            meta=_article("quote_speaker_not_a_mention",
                          rule="a speaker is a mention of the same article with its entity, save a title never "
                               "named"),
        ),
        gxe.ExpectColumnValuesToBeInSet(column="kind", value_set=list(QUOTE_KINDS),
                                        meta=_batch(rule="kind from transforms.quotes.KINDS")),
        gxe.ExpectColumnValuesToBeInSet(column="speaker_via", value_set=list(SPEAKER_VIA),
                                        meta=_batch(rule="speaker_via from transforms.quotes.SPEAKER_VIA")),
        gxe.ExpectColumnValuesToBeInSet(column="speaker_label", value_set=list(SPEAKER_LABELS),
                                        meta=_batch(rule="a speaker is a person, a body or a state, or a title")),
    ):
        suite.add_expectation(expectation)
    return suite


def stories_suite() -> gx.ExpectationSuite:
    """Stories and memberships in one checkpoint (one row per membership, and per story with none)."""
    suite = gx.ExpectationSuite(name="stories", meta={"version": SUITE_VERSION})
    for expectation in (
        gxe.ExpectColumnValuesToNotBeNull(column="article_id", meta=_batch(rule="every story has an article")),
        gxe.ExpectColumnValuesToBeUnique(column="article_id", meta=_batch(rule="an article is in one story")),
        gxe.ExpectColumnValuesToBeInSet(column="has_article", value_set=[True],
                                        meta=_batch(rule="a member is a staged or published article")),
        gxe.ExpectColumnValuesToBeInSet(column="has_story", value_set=[True],
                                        meta=_batch(rule="a membership names a staged or published story")),
        gxe.ExpectColumnValuesToBeInSet(
            column="story_consistent", value_set=[True],
            meta=_batch(rule="n_articles counts every member, 1 <= n_sources <= n_articles, first_seen <= last_seen"),
        ),
        gxe.ExpectColumnValuesToBeBetween(column="similarity", min_value=0, max_value=1,
                                          meta=_batch(rule="similarity between 0 and 1")),
    ):
        suite.add_expectation(expectation)
    return suite


def entities_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="entities", meta={"version": SUITE_VERSION})
    for expectation in (
        gxe.ExpectColumnValuesToNotBeNull(column="entity_id", meta=_batch(rule="key not null")),
        gxe.ExpectColumnValuesToBeUnique(column="entity_id", meta=_batch(rule="key unique")),
        gxe.ExpectColumnValuesToBeInSet(column="type", value_set=_parameter("labels"),
                                        meta=_batch(rule="type from the label set")),
        gxe.ExpectColumnValuesToNotBeNull(column="name_ar", meta=_batch(rule="every entity has a name")),
        gxe.ExpectColumnValuesToMatchRegex(
            column="wikidata_qid", regex=r"^Q[1-9][0-9]*$", meta=_batch(rule="QIDs look like Q123")
        ),
        gxe.ExpectColumnValuesToBeBetween(column="mention_count", min_value=1, meta=_batch(rule="seen at least once")),
        gxe.ExpectColumnValuesToBeInSet(
            column="mention_count_consistent", value_set=[True],
            meta=_batch(rule="mention_count equals published plus staged mentions of the entity"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="seen_in_order", value_set=[True], meta=_batch(rule="first_seen <= last_seen")
        ),
    ):
        suite.add_expectation(expectation)
    return suite


def article_entities_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="article_entities", meta={"version": SUITE_VERSION})
    for expectation in (
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["article_id", "entity_id"], meta=_batch(rule="key unique")),
        gxe.ExpectColumnValuesToBeInSet(
            column="has_article", value_set=[True], meta=_batch(rule="refers to an existing article")
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="has_entity", value_set=[True], meta=_batch(rule="refers to a staged entity")
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="counts_match_article", value_set=[True],
            meta=_batch(rule="an article's entity counts add up to its n_mentions"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="counts_match_mentions", value_set=[True],
            meta=_batch(rule="mention_count equals the article's mentions linked to the entity"),
        ),
    ):
        suite.add_expectation(expectation)
    return suite


def checked_columns(suite: gx.ExpectationSuite, always: Sequence[str] = ()) -> list[str]:
    """The columns a suite's expectations read, after ``always`` (the columns failing rows are named by)."""
    columns = list(always)
    for expectation in suite.expectations:
        kwargs = expectation.configuration.kwargs
        for column in [kwargs.get("column"), *(kwargs.get("column_list") or [])]:
            if column and column not in columns:
                columns.append(column)
    return columns


def all_suites(limits: GateLimits) -> dict[str, gx.ExpectationSuite]:
    """Every table's suite, each stamped with a digest of its rules (``meta.digest``).

    New objects on every call: the gate calls this once per process and
    warehouse, when it builds its in-memory context, and registers the suites
    there; no suite is stored on disk, so none is ever compared or replaced.
    """
    suites = {
        "articles": articles_suite(limits),
        "sentences": sentences_suite(),
        "mentions": mentions_suite(),
        "amounts": amounts_suite(),
        "quotes": quotes_suite(),
        "stories": stories_suite(),
        "entities": entities_suite(),
        "article_entities": article_entities_suite(),
    }
    for suite in suites.values():
        # Without the ids Great Expectations gives expectations made while a context is active: new each time.
        rules = json.dumps([{k: v for k, v in e.configuration.to_json_dict().items() if k != "id"}
                            for e in suite.expectations], sort_keys=True, default=str)
        suite.meta["digest"] = hashlib.sha256(f"{SUITE_VERSION}\n{rules}".encode()).hexdigest()[:16]
    return suites
