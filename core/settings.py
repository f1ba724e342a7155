"""One typed settings object for the whole pipeline.

Every field is read from an ``AKHBAR_``-prefixed environment variable (or a
``.env`` file), except the Stanza model folder, which keeps Stanza's own
``STANZA_RESOURCES_DIR`` so that one variable serves both akhbar and Stanza.
Defaults make a fresh clone work: the sample articles in, a DuckDB file out.
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit
from typing import MutableMapping, TypeVar

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The project's offline Arabic model, beside a checkout (../shared/stanza_resources).
OFFLINE_MODEL = PROJECT_ROOT.parent / "shared" / "stanza_resources"


class DownloadPolicy(str, Enum):
    """What to do when no Arabic model is found in the resources folder."""

    auto = "auto"  # download Stanza's official model; fail clearly when offline
    never = "never"  # fail clearly at once (tests, air-gapped machines)


def default_cache_dir() -> Path:
    """akhbar's folder for caches it can rebuild (``$XDG_CACHE_HOME/akhbar``, else ``~/.cache/akhbar``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "akhbar"


Environ = TypeVar("Environ", bound=MutableMapping[str, str])


def offline_model_environment(environ: Environ) -> Environ:
    """Point ``environ`` at the offline model beside the checkout, and forbid downloads, if that model is there.

    Only defaults: a ``STANZA_RESOURCES_DIR`` or ``AKHBAR_STANZA_DOWNLOAD``
    already set wins. Without ``../shared/stanza_resources/resources.json``
    nothing is set: Stanza's default folder and the configured download policy
    apply. Call it on ``os.environ`` before anything reads these variables
    (``get_settings``, ``import stanza``), or on a dict for a child process.
    """
    if (OFFLINE_MODEL / "resources.json").is_file():
        environ.setdefault("STANZA_RESOURCES_DIR", str(OFFLINE_MODEL))
        environ.setdefault("AKHBAR_STANZA_DOWNLOAD", DownloadPolicy.never.value)
    return environ


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AKHBAR_", env_file=".env", extra="ignore", populate_by_name=True, allow_inf_nan=False
    )

    inbox: Path | None = Field(
        default=None,
        description="One folder to take in instead of the sources registry (ad-hoc runs).",
    )
    sources: Path = Field(
        default=PROJECT_ROOT / "seeds" / "sources.csv",
        description="The sources registry: every enabled row is read by a run.",
    )
    agencies: Path = Field(
        default=PROJECT_ROOT / "seeds" / "agencies.csv",
        description="The registry of agencies and outlets (names, abbreviations, domains) that credit an article.",
    )
    places: Path = Field(
        default=PROJECT_ROOT / "seeds" / "places.csv",
        description="Dateline places the gazetteer (GeoNames cities, CLDR countries) lacks, added to it.",
    )
    entity_aliases: Path = Field(
        default=PROJECT_ROOT / "seeds" / "entity_aliases.csv",
        description="The curated part of the knowledge base: canonical entities and their aliases.",
    )
    countries: Path = Field(
        default=PROJECT_ROOT / "seeds" / "countries.csv",
        description="Every country's names in the press, its Wikipedia title and its nisba adjectives.",
    )
    bodies: Path = Field(
        default=PROJECT_ROOT / "seeds" / "bodies.csv",
        description="Generic government bodies (foreign ministry, parliament...) made for every country.",
    )
    places_kb: Path = Field(
        default=PROJECT_ROOT / "seeds" / "kb" / "places.parquet",
        description="The place part of the knowledge base (GeoNames and CLDR), built on first use or by "
                    "`akhbar kb build-places`.",
    )
    kb_dir: Path | None = Field(
        default=None,
        description="Entities imported by `akhbar kb import` (Wikidata extracts); unset: the warehouse's kb/ folder.",
    )
    gazetteer_pass: bool = Field(
        default=True,
        description="Also find known names the NER model did not tag (mentions with source 'gazetteer').",
    )
    lock_wait_seconds: float = Field(
        default=0, ge=0, le=86_400, description="How long a run waits for another run on the same warehouse (0: exit at once)."
    )
    schedule: str = Field(default="0 * * * *", description="Cron schedule of `akhbar serve` (hourly).")
    max_item_bytes: int = Field(
        default=20_000_000, ge=1, le=1_000_000_000,
        description="Files and feed bodies larger than this are quarantined (at most 1 GB: a run holds an item whole)."
    )
    fetch_timeout: float = Field(default=30.0, gt=0, le=3600,
                                 description="Seconds a whole feed request may take (connect to last byte).")
    contact_url: str | None = Field(
        default=None,
        description="Where a site can reach whoever runs this crawler; sent in the User-Agent (akhbar/0.1 (+URL)).",
    )
    crawl_delay: float = Field(default=1.0, ge=0, le=3600,
                               description="Seconds between the starts of two requests to one host.")
    crawl_per_host: int = Field(default=1, ge=1, le=64, description="Requests in flight to one host at most.")
    crawl_total: int = Field(default=8, ge=1, le=256, description="Requests in flight in all at most.")
    fetch_retries: int = Field(default=3, ge=1, le=10,
                               description="Attempts at a timeout, a refused connection, 429 or 5xx within a run.")
    fetch_max_wait: float = Field(default=30.0, ge=0, le=3600,
                                  description="Longest backoff or Retry-After a run waits before leaving a page "
                                              "to a later run.")
    fetch_max_attempts: int = Field(default=3, ge=1, le=100,
                                    description="Runs a story page that failed is asked for again before it is "
                                                "quarantined.")
    max_redirects: int = Field(default=5, ge=0, le=20, description="Redirects followed for one address.")
    max_new_per_source: int = Field(default=200, ge=1, le=1_000_000,
                                    description="New stories taken from one web source per run, the newest first; "
                                                "the rest wait for the next runs (a whole-archive sitemap).")
    sitemap_max_children: int = Field(default=20, ge=1, le=10_000,
                                      description="Sitemaps of a sitemap index read per run (the newest first).")
    silent_runs_alert: int = Field(default=5, ge=0, le=10_000,
                                   description="Alert when a web source that delivered before has delivered "
                                               "nothing new for this many runs in a row (0: never).")
    skip_unchanged: bool = Field(
        default=True,
        description="Skip, unread, inbox files whose items were all published and whose size and mtime "
                    "have not changed since (as make and rsync judge a file unchanged).",
    )
    near_duplicate_threshold: float = Field(
        default=0.7, gt=0, le=1, description="Estimated Jaccard similarity of word 3-grams for a near copy."
    )
    warehouse: Path = Field(
        default=PROJECT_ROOT / "warehouse" / "akhbar.duckdb",
        description="The DuckDB file; its folder also holds the Parquet lake and staging.",
    )
    stanza_resources_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("STANZA_RESOURCES_DIR", "AKHBAR_STANZA_RESOURCES_DIR"),
        description="Stanza model folder; unset means Stanza's default (~/stanza_resources).",
    )
    stanza_download: DownloadPolicy = DownloadPolicy.auto
    segmenter: str = Field(
        default="auto", pattern="^(auto|rules|stanza)$",
        description="Sentences and tokens for NER: rules (transforms/segment.py), stanza (its neural tokenizer), "
                    "or auto: rules for a model whose tokens keep clitics attached (no MWT), stanza otherwise.",
    )
    ner_batch_articles: int = Field(
        default=32, ge=1, le=100_000, description="Articles handed to Stanza per call (one bulk_process)."
    )
    ner_batch_size: int = Field(
        default=32, ge=1, le=100_000, description="Stanza's ner_batch_size: sentences per NER forward pass."
    )
    torch_threads: int = Field(
        default=0, ge=0, le=1024, description="torch intra-op threads; 0 keeps torch's own default."
    )
    cache_dir: Path | None = Field(
        default_factory=default_cache_dir,
        description="Caches akhbar rebuilds when their sources change: load copies of the Stanza model's files "
                    "(stanza/, flows/model_load.py) and the built knowledge base (kb/); empty: no caches.",
    )
    local_api_idle_seconds: float = Field(
        default=600, ge=0, le=86_400,
        description="With no PREFECT_API_URL, commands share a local Prefect API (flows/local_api.py) that stops "
                    "after this long without requests; 0: each command starts its own and stops it.",
    )
    serve_warm: bool = Field(
        default=True,
        description="akhbar serve runs each scheduled run in one warm worker process (model, knowledge base and "
                    "gate loaded once, flows/warm.py); false: Prefect's own runner, a new process per run.",
    )
    gate_helper: bool = Field(
        default=True,
        description="The quality gate's checkpoints run in a helper process (expectations/gate_helper.py): a new "
                    "`akhbar run` loads Great Expectations there beside NER, the warm worker checks half the tables "
                    "beside it; false: the gate runs in the run's own process.",
    )
    serve_poll_seconds: float = Field(default=5.0, gt=0, le=3600,
                                      description="How often akhbar serve asks the Prefect API for due runs.")
    device: str = Field(
        default="auto", pattern="^(auto|cpu|cuda)$",
        description="Where Stanza runs: cuda (a GPU, when torch sees one; the CPU otherwise, with a warning), "
                    "cpu, or auto: the GPU when there is one.",
    )
    ner_processes: int = Field(
        default=0, ge=0, le=64,
        description="Worker processes that tag and stage a run's NER chunks (flows/ner_workers.py), each with its "
                    "own model: 0 is one per CPU up to 4 (none on one CPU, or with AKHBAR_DEVICE=cuda); 1 keeps "
                    "NER in the run's own process.",
    )
    task_runner: str = Field(
        default="local", pattern="^(local|dask)$",
        description="local: NER chunks one after another in this process; dask: spread over Dask workers.",
    )
    dask_address: str | None = Field(
        default=None, description="An existing Dask scheduler (tcp://host:8786); unset starts a local cluster."
    )
    dask_workers: int = Field(default=2, ge=1, le=1024, description="Workers of the local Dask cluster.")
    sql_timeout_seconds: float = Field(
        default=300.0, gt=0, le=86_400, description="Seconds one `akhbar sql` statement may run before it is stopped."
    )
    sql_display_rows: int = Field(
        default=1000, ge=0, le=10_000_000, description="Rows `akhbar sql` shows as a table (0: all); exports are whole."
    )
    alert_webhook: SecretStr | None = Field(
        default=None, description="Slack-compatible incoming webhook for alerts (a secret: never logged)."
    )

    @field_validator("alert_webhook")
    @classmethod
    def _webhook_is_a_url(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked at start-up, not when the first alert is due; the message never holds the URL.
        if value is not None:
            parts = urlsplit(value.get_secret_value())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("must be an http(s) URL with a host, e.g. https://hooks.slack.com/services/...")
        return value

    @field_validator("stanza_resources_dir", "inbox", "kb_dir", "cache_dir", mode="before")
    @classmethod
    def _empty_means_default(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def model_cache_dir(self) -> Path | None:
        return self.cache_dir / "stanza" if self.cache_dir else None

    @property
    def kb_cache_dir(self) -> Path | None:
        return self.cache_dir / "kb" if self.cache_dir else None

    @property
    def warehouse_dir(self) -> Path:
        return self.warehouse.parent

    @property
    def lake_dir(self) -> Path:
        """Published Parquet files, one folder per table, one file per run."""
        return self.warehouse_dir / "lake"

    @property
    def staging_dir(self) -> Path:
        """Parquet written by a run before it is published: ``staging/<warehouse>/<run_id>/``.

        Named for the warehouse, so that two warehouses in one folder never
        clean up each other's live staging.
        """
        return self.warehouse_dir / "staging" / self.warehouse.stem

    @property
    def quarantine_dir(self) -> Path:
        """Items held back, each with its original bytes and its reason."""
        return self.warehouse_dir / "quarantine"

    @property
    def pages_dir(self) -> Path:
        """Story pages taken from the web, as fetched (``warehouse/pages.py``)."""
        return self.warehouse_dir / "pages"

    @property
    def data_docs_dir(self) -> Path:
        """Great Expectations Data Docs: open data_docs/index.html in a browser."""
        return self.warehouse_dir / "data_docs"

    @property
    def ner_cache_dir(self) -> Path:
        """NER output by (body text hash, model): never computed twice."""
        return self.warehouse_dir / "ner_cache"

    @property
    def imports_dir(self) -> Path:
        """Where `akhbar kb import` keeps what it imported: AKHBAR_KB_DIR, else beside the warehouse."""
        return self.kb_dir or self.warehouse_dir / "kb"

    @property
    def gx_dir(self) -> Path:
        """Great Expectations validation results (the suites and checkpoints are code, in expectations/)."""
        return self.warehouse_dir / "gx"


def _masked(url: object) -> str:
    """A webhook URL as far as it is not secret: its scheme and host."""
    text = url.get_secret_value() if isinstance(url, SecretStr) else str(url)
    parts = urlsplit(text)
    return f"{parts.scheme}://{parts.hostname}/***" if parts.scheme and parts.hostname else "***"


class SettingsError(ValueError):
    """A setting with a value it cannot take; the message names the variable, the value and what is allowed."""


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit (e.g. command-line) values on top."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as error:
        raise SettingsError("; ".join(_explain(e, given) for e in error.errors())) from None


def _explain(problem: dict, given: dict) -> str:
    """One line: ``AKHBAR_MAX_ITEM_BYTES='abc': Input should be a valid integer``."""
    field = str(problem["loc"][0]) if problem.get("loc") else "?"
    variable = "STANZA_RESOURCES_DIR" if field == "stanza_resources_dir" else f"AKHBAR_{field.upper()}"
    source = "--" + field.replace("_", "-") if field in given else variable
    value = problem.get("input")
    shown = _masked(value) if field == "alert_webhook" else repr(value)[:80]
    return f"{source}={shown}: {problem.get('msg', 'not allowed')}"
