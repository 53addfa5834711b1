"""Orders: a balanced Latin square by participant index, or the file's order for everyone."""

from collections import Counter
from itertools import permutations

import pytest

from laetitia.app.study.order import balanced_latin_square, condition_order
from laetitia.app.study.protocol import parse_study


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_each_condition_comes_at_each_position_and_after_each_other_equally_often(n):
    rows = balanced_latin_square(n)
    assert len(rows) == (n if n % 2 == 0 else 2 * n)
    assert all(sorted(row) == list(range(n)) for row in rows)
    for position in range(n):
        assert Counter(row[position] for row in rows) == {c: len(rows) // n for c in range(n)}
    follows = Counter((a, b) for row in rows for a, b in zip(row, row[1:], strict=False))
    assert set(follows) == set(permutations(range(n), 2))
    assert len(set(follows.values())) <= 1  # every ordered pair equally often


def test_participants_take_the_rows_in_turn_and_a_fixed_order_is_the_files(tmp_path, study_text):
    study = parse_study(study_text, tmp_path / "study.toml", tmp_path)
    assert [condition_order(study, i) for i in range(4)] == [
        ("climb", "bayes"),
        ("bayes", "climb"),
        ("climb", "bayes"),
        ("bayes", "climb"),
    ]
    fixed = parse_study(study_text.replace('"latin-square"', '"fixed"'), tmp_path / "f", tmp_path)
    assert {condition_order(fixed, i) for i in range(5)} == {("climb", "bayes")}
