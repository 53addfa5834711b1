"""The order each participant meets the conditions in: a balanced Latin square, or fixed.

A balanced Latin square (Williams, 1949) orders n conditions so that, over its rows, each
condition comes at each position equally often and each condition follows each other condition
equally often (first-order carry-over balanced). For an even n it has n rows; for an odd n no
n-row square is balanced, and its n rows are followed by the same rows reversed (2n rows).
Participant of index i gets row i mod rows: the orders balance over every full set of rows.

    balanced_latin_square(2)   # [[0, 1], [1, 0]]
    balanced_latin_square(3)   # [[0, 1, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0], [0, 2, 1], [1, 0, 2]]
"""

from __future__ import annotations

from laetitia.app.study.protocol import Study


def balanced_latin_square(n: int) -> list[list[int]]:
    """The rows of a balanced Latin square of `n` conditions (numbered from 0).

    Row 0 is 0, 1, n-1, 2, n-2, ...; row r adds r to each entry, modulo n.

    Raises:
        ValueError: If `n` is below 1.
    """
    if n < 1:
        raise ValueError(f"a Latin square needs at least one condition, got {n}.")
    first, low, high = [0], 1, n - 1
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    rows = [[(c + r) % n for c in first] for r in range(n)]
    return rows if n % 2 == 0 else rows + [row[::-1] for row in rows]


def condition_order(study: Study, index: int) -> tuple[str, ...]:
    """The conditions, in order, of the participant of `index` (from 0)."""
    names = [c.name for c in study.conditions]
    if study.order == "fixed":
        return tuple(names)
    rows = balanced_latin_square(len(names))
    return tuple(names[c] for c in rows[index % len(rows)])
