"""The course's datasets, read from a local folder first, then the Hugging Face hub.

Both loaders return a ``datasets.DatasetDict`` with the same two columns whatever the source:
``text`` (a string) and ``label`` (a ``ClassLabel`` carrying the class names).

Sources, in order:
1. the folder named by ``NLPCOURSE_DATA_DIR``, laid out as ``<dir>/<dataset>/<split>.csv.gz``
   (when the variable is unset: the course's own ``data/`` folder, where ``nlpcourse download``
   writes by default);
2. the hub through ``datasets.load_dataset`` (which honours ``HF_ENDPOINT`` and ``HF_HUB_OFFLINE``);
3. a :class:`DataUnavailableError` that says what was tried and how to fix it.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from nlpcourse.data.runs import project_root
from nlpcourse.errors import DataFileError, DataUnavailableError

DATA_DIR_ENV = "NLPCOURSE_DATA_DIR"


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset lives locally and on the hub, and what its labels mean."""

    name: str  # folder name under NLPCOURSE_DATA_DIR
    title: str  # how people call it
    hub_id: str
    label_names: tuple[str, ...]
    first_label: int  # the label value of the first class in the local files
    splits: tuple[str, ...]  # splits the course uses, in order

    @property
    def label_range(self) -> str:
        """The valid label values of the local files, for error messages."""
        return f"{self.first_label}..{self.first_label + len(self.label_names) - 1}"


SST2 = DatasetSpec(
    name="sst2",
    title="SST-2",
    hub_id="stanfordnlp/sst2",
    label_names=("negative", "positive"),
    first_label=0,
    splits=("train", "validation"),
)
AG_NEWS = DatasetSpec(
    name="ag_news",
    title="AG News",
    hub_id="fancyzhx/ag_news",
    label_names=("World", "Sports", "Business", "Sci/Tech"),
    first_label=1,  # the original files number the classes 1-4
    splits=("train", "test"),
)
SPECS = {spec.name: spec for spec in (SST2, AG_NEWS)}

_ENTITY_NO_AMP = re.compile(r"(?<!&)#(\d+);")  # AG News writes "#39;" where HTML has "&#39;"
_BACKSLASH_GAP = re.compile(r"\\+(?!\$)")  # "\\" or "\" stood for a line break
# HTML tags only: ticker symbols such as <TXN.N> stay
_HTML_TAG = re.compile(r"</?(?:font|b|br|p|a|i|em|strong|nobr)\b[^>]*>", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def clean_ag_news_text(text: str) -> str:
    """Undo AG News's escapes: ``\\$`` → ``$``, backslash breaks → space, ``#39;`` → ``'``, tags."""
    text = _BACKSLASH_GAP.sub(" ", text)
    text = text.replace("\\$", "$")
    text = _ENTITY_NO_AMP.sub(r"&#\1;", text)
    text = html.unescape(text)
    text = _HTML_TAG.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def features_for(spec: DatasetSpec) -> Features:
    """The columns every loader returns: ``text`` and a named ``label``."""
    return Features({"text": Value("string"), "label": ClassLabel(names=list(spec.label_names))})


def default_data_dir() -> Path | None:
    """The course's ``data/`` folder (used when ``NLPCOURSE_DATA_DIR`` is unset), if found."""
    root = project_root() or project_root(Path(__file__).resolve().parent)
    return root / "data" if root is not None else None


def local_data_dir() -> Path | None:
    """``NLPCOURSE_DATA_DIR``, else the course's ``data/`` folder, else None."""
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    if not value:
        default = default_data_dir()
        return default if default is not None and default.is_dir() else None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise DataFileError(
            f"{DATA_DIR_ENV} is set to {value!r}, which is not a folder. Point it at a folder "
            f"laid out as <dir>/sst2/train.csv.gz, <dir>/ag_news/test.csv.gz, ... or unset it "
            f"to use the course's data/ folder and then the Hugging Face hub."
        )
    return path


def split_file(folder: Path, split: str) -> Path | None:
    """The file holding ``split`` in a dataset folder (``.csv.gz`` or ``.csv``), if any."""
    for suffix in (".csv.gz", ".csv"):
        candidate = folder / f"{split}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _text_column(frame: pd.DataFrame, spec: DatasetSpec, path: Path) -> pd.Series:
    """Build the ``text`` column from whichever text columns the file has."""
    columns = set(frame.columns)
    if spec is AG_NEWS and {"title", "description"} <= columns:
        joined = frame["title"].astype(str) + " " + frame["description"].astype(str)
        return joined.map(clean_ag_news_text)
    if spec is AG_NEWS and "text" in columns:
        return frame["text"].astype(str).map(clean_ag_news_text)
    if spec is SST2 and ({"sentence"} & columns or {"text"} & columns):
        column = "sentence" if "sentence" in columns else "text"
        return frame[column].astype(str).str.strip()
    expected = "title,description (or text)" if spec is AG_NEWS else "sentence (or text)"
    raise DataFileError(
        f"{path} has no text column: expected label plus {expected}, "
        f"found {', '.join(map(str, frame.columns)) or 'no columns'}."
    )


def read_split(path: Path, spec: DatasetSpec) -> Dataset:
    """Read and validate one local split file; raise :class:`DataFileError` naming the problem."""
    try:
        frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    except pd.errors.EmptyDataError:
        raise DataFileError(f"{path} is empty: it has no header and no rows.") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataFileError(f"{path} could not be read as CSV: {exc}") from None
    if "label" not in frame.columns:
        raise DataFileError(
            f"{path} has no 'label' column; found {', '.join(map(str, frame.columns))}."
        )
    if frame.empty:
        raise DataFileError(f"{path} is empty: it has a header but no rows.")
    text = _text_column(frame, spec, path)
    labels = pd.to_numeric(frame["label"], errors="coerce")
    low, high = spec.first_label, spec.first_label + len(spec.label_names) - 1
    bad = labels.isna() | (labels < low) | (labels > high) | (labels % 1 != 0)
    if bad.any():
        row = int(bad.idxmax())
        values = sorted(set(frame.loc[bad, "label"]))[:5]
        raise DataFileError(
            f"{path} has labels outside {spec.label_range} for {spec.title} "
            f"({int(bad.sum())} rows, first at data row {row + 1}; values {values})."
        )
    empty = text.str.len() == 0
    if empty.any():
        raise DataFileError(
            f"{path} has {int(empty.sum())} rows with empty text "
            f"(first at data row {int(empty.idxmax()) + 1})."
        )
    table = {"text": text.tolist(), "label": (labels.astype(int) - low).tolist()}
    return Dataset.from_dict(table, features=features_for(spec))


def load_local(spec: DatasetSpec, folder: Path, splits: Sequence[str] | None) -> DatasetDict | None:
    """Load the splits found under ``folder/<spec.name>``; None when none of them is there."""
    base = folder / spec.name
    wanted = list(splits) if splits is not None else list(spec.splits)
    found = {split: split_file(base, split) for split in wanted}
    present = {split: path for split, path in found.items() if path is not None}
    if not present:
        return None
    missing = [split for split, path in found.items() if path is None]
    if missing and splits is not None:
        raise DataUnavailableError(
            f"{spec.title}: {base} has {', '.join(present)} but not {', '.join(missing)} "
            f"(expected {', '.join(f'{m}.csv.gz' for m in missing)}). On a connected machine, "
            f"`python -m nlpcourse download --to DIR` writes every split the profile needs."
        )
    return DatasetDict({split: read_split(path, spec) for split, path in present.items()})


def _from_hub_frame(dataset: Dataset, spec: DatasetSpec) -> Dataset:
    """Map a hub split onto the course's two columns."""
    text_column = "sentence" if "sentence" in dataset.column_names else "text"
    clean = clean_ag_news_text if spec is AG_NEWS else str.strip
    table = {
        "text": [clean(t) for t in dataset[text_column]],
        "label": list(dataset["label"]),
    }
    return Dataset.from_dict(table, features=features_for(spec))


def load_hub(spec: DatasetSpec, splits: Sequence[str] | None) -> DatasetDict:
    """Load from the hub through ``datasets`` (honours ``HF_ENDPOINT`` and offline mode)."""
    import datasets

    raw = datasets.load_dataset(spec.hub_id)
    wanted = list(splits) if splits is not None else [s for s in spec.splits if s in raw]
    return DatasetDict({split: _from_hub_frame(raw[split], spec) for split in wanted})


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` (or ``HF_DATASETS_OFFLINE``) switches the hub off."""
    truthy = {"1", "on", "yes", "true"}
    return any(
        os.environ.get(var, "").strip().lower() in truthy
        for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def hub_endpoint() -> str:
    """The hub address in use (``HF_ENDPOINT`` for mirrors)."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def load_dataset_dict(spec: DatasetSpec, splits: Sequence[str] | None = None) -> DatasetDict:
    """Load ``spec`` from the local folder, else the hub, else raise one clear error."""
    tried = []
    folder = local_data_dir()
    if folder is not None:
        local = load_local(spec, folder, splits)
        if local is not None:
            return local
        unset = "" if os.environ.get(DATA_DIR_ENV, "").strip() else f"{DATA_DIR_ENV} is not set; "
        tried.append(
            f"the local folder {folder / spec.name} ({unset}no {spec.name} split files there)"
        )
    else:
        tried.append(f"a local folder ({DATA_DIR_ENV} is not set)")
    if hub_offline():
        tried.append("the Hugging Face hub (skipped: HF_HUB_OFFLINE is set)")
    else:
        try:
            return load_hub(spec, splits)
        except Exception as exc:
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            tried.append(f"the Hugging Face hub at {hub_endpoint()} ({reason})")
    raise DataUnavailableError(
        f"Could not load {spec.title} (hub id {spec.hub_id}). Tried {'; then '.join(tried)}. "
        f"Two ways out: set {DATA_DIR_ENV} to a folder laid out as "
        f"<dir>/{spec.name}/<split>.csv.gz (your instructor may have one), or on a machine with "
        f"internet run `python -m nlpcourse download --to DIR` and point {DATA_DIR_ENV} at "
        f"DIR/data (behind a firewall, set HF_ENDPOINT to a hub mirror first)."
    )


def load_sst2(splits: Sequence[str] | None = None) -> DatasetDict:
    """SST-2 sentiment: ``train`` (67,349) and ``validation`` (872); labels negative/positive."""
    return load_dataset_dict(SST2, splits)


def load_ag_news(splits: Sequence[str] | None = None) -> DatasetDict:
    """AG News topics: ``train`` (120,000) and ``test`` (7,600) where available; 4 classes."""
    return load_dataset_dict(AG_NEWS, splits)


def write_local(dataset: DatasetDict, spec: DatasetSpec, folder: Path) -> list[Path]:
    """Write ``dataset`` (course columns) as ``folder/<spec.name>/<split>.csv.gz``."""
    base = folder / spec.name
    base.mkdir(parents=True, exist_ok=True)
    written = []
    for split, part in dataset.items():
        labels = [label + spec.first_label for label in part["label"]]
        names = [spec.label_names[label] for label in part["label"]]
        text_column = "sentence" if spec is SST2 else "text"
        frame = pd.DataFrame({"label": labels, "label_name": names, text_column: part["text"]})
        path = base / f"{split}.csv.gz"
        frame.to_csv(path, index=False)
        written.append(path)
    return written
