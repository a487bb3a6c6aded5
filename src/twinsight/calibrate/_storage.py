"""Saving and loading a twin's calibration: ``<twin>/calibration.json`` (the current one) and a
dated copy under ``<twin>/calibrations/``. Writes are atomic (a temporary file, then rename), so
a crash never leaves a half-written calibration in place of the previous one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ._episodes import CalibrationError
from ._hospital import HospitalCalibration

__all__ = ["CALIBRATIONS_DIR", "CALIBRATION_FILE", "load_calibration", "save_calibration"]

CALIBRATION_FILE = "calibration.json"
CALIBRATIONS_DIR = "calibrations"


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_calibration(folder: Path | str, cal: HospitalCalibration) -> Path:
    """Write ``cal`` to ``<folder>/calibration.json`` and to ``<folder>/calibrations/
    calibration-<watermark>-w<days>.json``; returns the path of the current one."""
    root = Path(folder)
    if not root.is_dir():
        raise CalibrationError(f"{root}: no such twin folder")
    text = json.dumps(cal.to_dict(), indent=1, allow_nan=False) + "\n"
    dated = root / CALIBRATIONS_DIR
    dated.mkdir(exist_ok=True)
    stamp = cal.watermark.strftime("%Y%m%dT%H%M%SZ")
    _atomic_write(dated / f"calibration-{stamp}-w{cal.window_days:g}.json", text)
    current = root / CALIBRATION_FILE
    _atomic_write(current, text)
    return current


def load_calibration(folder: Path | str) -> HospitalCalibration:
    """The twin's current calibration (``<folder>/calibration.json``)."""
    path = Path(folder) / CALIBRATION_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CalibrationError(
            f"{path}: no calibration yet: run 'twinsight calibrate NAME' first"
        ) from None
    except json.JSONDecodeError as exc:
        raise CalibrationError(f"{path}: not valid JSON ({exc}): calibrate again") from None
    return HospitalCalibration.from_dict(data)
