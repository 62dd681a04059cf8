"""The points a user types (or draws) for a 2D run: "x, y" lines → a float (N, 2) array, checked line by line."""
from __future__ import annotations

import numpy as np

from playground.data.images import DataError
from playground.text import shown

MAX_POINT_LINES = 5000
MAX_POINTS_TEXT = 40 * MAX_POINT_LINES      # characters in the points box, checked before any line is read


def parse_points(text: str) -> np.ndarray:
    """ "x, y" (or "x y") per line → float (N, 2); blank lines and # comments are skipped."""
    if not isinstance(text, str) or not text.strip():
        raise DataError("the points box is empty; type one 'x, y' pair per line (at least 8 lines)")
    if len(text) > MAX_POINTS_TEXT:
        raise DataError(f"the points box holds {len(text):,} characters; up to {MAX_POINT_LINES} lines of 'x, y' "
                           f"({MAX_POINTS_TEXT:,} characters) are accepted, and a few hundred are plenty")
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.replace(",", " ").split()
        try:
            x, y = (float(p) for p in parts)
        except ValueError:
            raise DataError(f"points line {number} ({shown(line)}) is not two numbers; write it as 'x, y'") from None
        if not (np.isfinite(x) and np.isfinite(y)):
            raise DataError(f"points line {number} has a value that is not a finite number")
        rows.append((x, y))
        if len(rows) > MAX_POINT_LINES:
            raise DataError(f"too many points (more than {MAX_POINT_LINES}); a few hundred are plenty")
    return np.array(rows, dtype=np.float64).reshape(-1, 2)
