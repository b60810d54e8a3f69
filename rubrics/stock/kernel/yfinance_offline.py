"""Kernel adapter: ``yfinance`` (when it is not installed) answering GOOG/GOOGL from the course's stock files.

Students fetch the Google prices with ``yfinance.download("GOOG", ...)`` or
``yfinance.Ticker("GOOGL").history(...)``; the sandbox is offline, so the
stand-in answers those tickers from the files served beside the notebook.
``GOOGL.csv`` (Yahoo's own columns) is preferred; otherwise the Kaggle
``Google_Stock_Price_Train.csv`` + ``_Test.csv`` pair (thousands separators
in Close and Volume) is read, with ``Adj Close`` = ``Close``.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

from labgrade_runtime.errors import LabgradeNeedsNetwork
from labgrade_runtime.kernel import stubs
from labgrade_runtime.kernel.state import JOB, note

TICKERS = {"GOOG", "GOOGL", "^GOOG"}


def _frame() -> tuple[Any, str]:
    import pandas as pd

    cwd = Path(JOB.spec.cwd)
    names = [n for n in JOB.spec.data_files if (cwd / n).is_file()]
    if "GOOGL.csv" in names:
        df = pd.read_csv(cwd / "GOOGL.csv", parse_dates=["Date"], index_col="Date")
        return df, "GOOGL.csv"
    parts = [n for n in ("Google_Stock_Price_Train.csv", "Google_Stock_Price_Test.csv") if n in names]
    if not parts:
        raise LabgradeNeedsNetwork(
            "https://query1.finance.yahoo.com (yfinance; no stock data file is served for this experiment)"
        )
    df = pd.concat([pd.read_csv(cwd / n, thousands=",") for n in parts])
    df["Date"] = pd.to_datetime(df["Date"], format="%m/%d/%Y")
    df = df.set_index("Date").astype("float64")
    df.insert(4, "Adj Close", df["Close"])
    return df, " + ".join(parts)


def _select(df: Any, start: Any = None, end: Any = None, period: str | None = None) -> Any:
    import pandas as pd

    if start is not None:
        df = df[df.index >= pd.Timestamp(start)]
    if end is not None:
        df = df[df.index < pd.Timestamp(end)]
    if period and period != "max" and start is None:
        units = {"d": "D", "mo": "MS", "y": "YS"}
        for suffix, unit in units.items():
            if period.endswith(suffix) and period[: -len(suffix)].isdigit():
                span = int(period[: -len(suffix)])
                offset = (
                    pd.DateOffset(days=span)
                    if unit == "D"
                    else (pd.DateOffset(months=span) if unit == "MS" else pd.DateOffset(years=span))
                )
                df = df[df.index >= df.index.max() - offset]
                break
    return df


def download(
    tickers: Any = "GOOG", start: Any = None, end: Any = None, period: str | None = None, **kwargs: Any
) -> Any:
    """yfinance.download for GOOG/GOOGL from the course files; other tickers need the network."""
    symbol = (tickers if isinstance(tickers, str) else " ".join(tickers)).strip().upper()
    if symbol not in TICKERS:
        raise LabgradeNeedsNetwork(f"https://query1.finance.yahoo.com (yfinance.download({tickers!r}))")
    df, source = _frame()
    note("dataset_served", f"yfinance.download({tickers!r}) served offline from the course file {source}")
    out = _select(df, start, end, period)
    return out.drop(columns=["Adj Close"]) if kwargs.get("auto_adjust") else out


class Ticker:
    """yfinance.Ticker for GOOG/GOOGL: ``history(period=, start=, end=)``."""

    def __init__(self, symbol: str) -> None:
        self.ticker = symbol.upper()

    def history(self, period: str = "1mo", start: Any = None, end: Any = None, **kwargs: Any) -> Any:
        """Daily prices (Open, High, Low, Close, Volume) like yfinance's history()."""
        df = download(self.ticker, start=start, end=end, period=period if start is None else None)
        return df.drop(columns=["Adj Close"])


def build() -> dict[str, ModuleType]:
    """yfinance, answered from the course's Google stock files."""
    module = ModuleType("yfinance", "labgrade's offline stand-in for yfinance (course stock files)")
    module.download = download  # type: ignore[attr-defined]
    module.Ticker = Ticker  # type: ignore[attr-defined]
    module.__version__ = "0.0-labgrade"  # type: ignore[attr-defined]
    return {"yfinance": module}


def install() -> None:
    """Serve ``import yfinance`` with the stand-in, unless the real package is installed."""
    stubs.register("yfinance", build, unless_installed=True)
