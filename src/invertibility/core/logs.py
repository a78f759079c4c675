"""Send a job's logging and progress bars (stderr) to its Snakemake log file."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path


@contextlib.contextmanager
def logged(path: str | None):
    """Log to ``path`` (and keep tqdm's stderr there too) for the duration of a job."""
    if not path:
        logging.basicConfig(level=logging.INFO)
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", buffering=1) as handle, contextlib.redirect_stderr(handle):
        handler = logging.StreamHandler(handle)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            yield
        except Exception:
            logging.exception("job failed")
            raise
        finally:
            root.removeHandler(handler)
