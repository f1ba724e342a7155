"""One typed settings object for the whole pipeline.

Every field is read from an ``AKHBAR_``-prefixed environment variable (or a
``.env`` file), except the Stanza model folder, which keeps Stanza's own
``STANZA_RESOURCES_DIR`` so that one variable serves both akhbar and Stanza.
Defaults make a fresh clone work: the sample articles in, a DuckDB file out.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import MutableMapping, TypeVar

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The project's offline Arabic model, beside a checkout (../shared/stanza_resources).
OFFLINE_MODEL = PROJECT_ROOT.parent / "shared" / "stanza_resources"


class DownloadPolicy(str, Enum):
    """What to do when no Arabic model is found in the resources folder."""

    auto = "auto"  # download Stanza's official model; fail clearly when offline
    never = "never"  # fail clearly at once (tests, air-gapped machines)


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
        env_prefix="AKHBAR_", env_file=".env", extra="ignore", populate_by_name=True
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
        description="Agency markers (dateline, source line, lead) that name an article's agency.",
    )
    entity_aliases: Path = Field(
        default=PROJECT_ROOT / "seeds" / "entity_aliases.csv",
        description="Canonical entities and their aliases (with Wikidata QIDs).",
    )
    lock_wait_seconds: float = Field(
        default=0, ge=0, description="How long a run waits for another run on the same warehouse (0: exit at once)."
    )
    schedule: str = Field(default="0 * * * *", description="Cron schedule of `akhbar serve` (hourly).")
    max_item_bytes: int = Field(
        default=20_000_000, ge=1, description="Files and feed bodies larger than this are quarantined."
    )
    fetch_timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for a feed.")
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
        default=32, ge=1, description="Articles handed to Stanza per call (one bulk_process)."
    )
    ner_batch_size: int = Field(
        default=32, ge=1, description="Stanza's ner_batch_size: sentences per NER forward pass."
    )
    torch_threads: int = Field(
        default=0, ge=0, description="torch intra-op threads; 0 keeps torch's own default."
    )
    task_runner: str = Field(
        default="local", pattern="^(local|dask)$",
        description="local: NER chunks one after another in this process; dask: spread over Dask workers.",
    )
    dask_address: str | None = Field(
        default=None, description="An existing Dask scheduler (tcp://host:8786); unset starts a local cluster."
    )
    dask_workers: int = Field(default=2, ge=1, description="Workers of the local Dask cluster.")
    alert_webhook: SecretStr | None = Field(
        default=None, description="Slack-compatible incoming webhook for alerts (a secret: never logged)."
    )

    @field_validator("stanza_resources_dir", "inbox", mode="before")
    @classmethod
    def _empty_means_default(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def warehouse_dir(self) -> Path:
        return self.warehouse.parent

    @property
    def lake_dir(self) -> Path:
        """Published Parquet files, one folder per table, one file per run."""
        return self.warehouse_dir / "lake"

    @property
    def staging_dir(self) -> Path:
        """Parquet written by a run before it is published."""
        return self.warehouse_dir / "staging"

    @property
    def quarantine_dir(self) -> Path:
        """Items held back, each with its original bytes and its reason."""
        return self.warehouse_dir / "quarantine"

    @property
    def data_docs_dir(self) -> Path:
        """Great Expectations Data Docs: open data_docs/index.html in a browser."""
        return self.warehouse_dir / "data_docs"

    @property
    def ner_cache_dir(self) -> Path:
        """NER output by (body text hash, model): never computed twice."""
        return self.warehouse_dir / "ner_cache"

    @property
    def gx_dir(self) -> Path:
        """Great Expectations validation results (the suites and checkpoints are code, in expectations/)."""
        return self.warehouse_dir / "gx"


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit (e.g. command-line) values on top."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**given)
