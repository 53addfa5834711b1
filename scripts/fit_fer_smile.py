"""Refit the `fer-smile` signal's population map from the London set's development half.

    .venv/bin/python scripts/fit_fer_smile.py ../shared/fixtures/london

Writes laetitia/fer/weights/fer_smile.json (or --out): the logistic regression from the FER
model's happy log-odds to P(smile), fitted on every person of the folder, and its figures left
one person out at a time (`laetitia.app.fer_smile_fit`). Fit it on the development half only:
the other half of the London set is kept for an independent check.
"""

import argparse
from pathlib import Path

from laetitia.app.fer_smile_fit import fit_fer_smile, write_population_fit
from laetitia.app.smiles import find_pairs
from laetitia.signals import fer_smile_fit_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="FOLDER/neutral/ID.jpg and FOLDER/smiling/ID.jpg")
    parser.add_argument("--out", type=Path, default=fer_smile_fit_path())
    parser.add_argument("--name", default="Face Research Lab London Set, development half")
    args = parser.parse_args()
    fit = fit_fer_smile(find_pairs(args.folder), name=args.name)
    print(f"fitted on {fit.fitted_on['people']} people; left one person out: {fit.cross_validated}")
    print(f"wrote {write_population_fit(fit, args.out)}")


if __name__ == "__main__":
    main()
