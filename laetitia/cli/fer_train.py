"""`laetitia fer train` and `laetitia fer eval`: train a FER model on your data, evaluate any.

Both commands print and save the label distribution of each split and the model-input
statistics side by side, and stop on a mismatch (see `laetitia.fer.data`).
"""

from __future__ import annotations

import argparse

from laetitia.cli import number, path_arg, whole
from laetitia.labels import EMOTIONS

SPLIT_CHOICES = ("train", "val", "test", "all")


def add_parser(fer_subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `laetitia fer train` and `laetitia fer eval`."""
    _add_train_parser(fer_subparsers)
    _add_eval_parser(fer_subparsers)


def _add_train_parser(fer_subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = fer_subparsers.add_parser(
        "train",
        help="train a FER model on a FER2013 CSV or class folders (resumable)",
        description=(
            "Train a FER CNN. DATA is a FER2013 CSV (emotion, pixels[, Usage]) or a folder of "
            "class folders (happy/, sad/, ...), flat or under train/, val/, test/. Where the "
            "data name each face's person (--person-column, --people, or CLASS/PERSON/ "
            "folders) the split is by person: no person's faces in two splits; else it is by "
            "image, and the run says so. OUT receives "
            "best_model.safetensors (for `fer eval --model` and the meter's --model), "
            "checkpoints/last and best (for --resume), history.csv/png, splits and input "
            "statistics, and the best model's test report in test/. Unset options take the "
            "defaults, or on --resume the run's own values."
        ),
    )
    parser.add_argument("--data", help="FER2013 CSV file or class-folder dataset")
    parser.add_argument("--out", help="run folder to write (on --resume: the run's own)")
    _add_model_options(parser)
    _add_training_options(parser)
    parser.add_argument("--device", help="auto (default: a GPU if any), cpu, cuda, cuda:N")
    parser.add_argument(
        "--resume",
        metavar="CKPT",
        help="continue a run: its folder, or checkpoints/last.json or best.json",
    )
    parser.add_argument(
        "--allow-stats-mismatch",
        action="store_true",
        default=None,
        help="train even if val/test inputs are scaled unlike the training inputs",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run_train)


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    """What the model is: its classes, architecture and input size."""
    parser.add_argument(
        "--classes",
        nargs="+",
        metavar="CLASS",
        help=f"classes to train on (default all: {' '.join(EMOTIONS)}); kept in label-map order",
    )
    parser.add_argument("--arch", help="architecture (default mini_xception)")
    parser.add_argument("--input-size", type=whole, help="crop side in pixels (default 64)")


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    """How the model is trained: schedule, splits, sampling, loss, augmentation, first weights."""
    parser.add_argument("--epochs", type=whole, help="most epochs; the cosine's length (60)")
    parser.add_argument("--batch-size", type=whole, help="images per step (64)")
    parser.add_argument("--lr", type=number, help="AdamW learning rate at the start (1e-3)")
    parser.add_argument("--lr-min", type=number, help="floor of the cosine schedule (1e-5)")
    parser.add_argument("--weight-decay", type=number, help="AdamW weight decay (1e-4)")
    parser.add_argument("--patience", type=whole, help="epochs without a better val UAR (10)")
    parser.add_argument("--seed", type=whole, help="seed of everything random (0)")
    parser.add_argument("--val-fraction", type=number, help="val share when carved (0.1)")
    parser.add_argument("--test-fraction", type=number, help="test share when carved (0.1)")
    _add_person_options(parser)
    parser.add_argument(
        "--weight",
        dest="sampling_weights",
        action="append",
        metavar="CLASS=W",
        help="sampling weight: draw CLASS's images W times as often (repeatable; on --resume "
        "the given weights replace the run's, and the change is logged)",
    )
    parser.add_argument(
        "--loss-weight",
        dest="loss_weights",
        action="append",
        metavar="CLASS=W",
        help="weight of CLASS in the cross-entropy (repeatable)",
    )
    parser.add_argument(
        "--balanced-loss",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also weight the loss by inverse class frequency",
    )
    parser.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="augment training images: flip, rotate, shift, zoom, light (default on)",
    )
    parser.add_argument(
        "--init", help="initial weights: scratch (default), default (the shipped model), or a file"
    )


def _add_person_options(parser: argparse.ArgumentParser) -> None:
    """Whose face each image is, so that the split keeps a person's faces in one split."""
    parser.add_argument(
        "--person-column",
        metavar="COLUMN",
        help="the column naming each face's person: of the CSV data, or of --people (default "
        "there: person); the split is then by person. Person folders (CLASS/PERSON/x.png) "
        "need no option",
    )
    parser.add_argument(
        "--people",
        metavar="CSV",
        help="image folders: a CSV naming each image's person (columns file, relative to "
        "--data, and person)",
    )


def _add_eval_parser(fer_subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = fer_subparsers.add_parser(
        "eval",
        help="evaluate a FER model on a labelled dataset: metrics, figures, predictions",
        description=(
            "Evaluate a FER model on one split of a FER2013 CSV or class-folder dataset, split "
            "as the training run split it (by person where the data name people). OUT "
            "receives metrics.json (accuracy, UAR, per-class precision/recall/F1, happiness "
            "AUC, and by person when people are named), predictions.csv, by_person.csv, "
            "confusion_matrix.png, roc_happy.png, splits and input statistics."
        ),
    )
    parser.add_argument("--data", required=True, help="FER2013 CSV file or class-folder dataset")
    parser.add_argument(
        "--model",
        default="default",
        metavar="CKPT",
        help="'default' (the shipped model), a model .safetensors file, or a training run folder",
    )
    parser.add_argument("--out", required=True, type=path_arg, help="folder for the report")
    parser.add_argument(
        "--classes", nargs="+", metavar="CLASS", help="evaluate a subset of the model's classes"
    )
    parser.add_argument(
        "--split", default="test", choices=SPLIT_CHOICES, help="which split to evaluate (test)"
    )
    parser.add_argument("--seed", type=whole, help="seed for carving splits (the run's, else 0)")
    parser.add_argument("--val-fraction", type=number, help="val share when carved (0.1)")
    parser.add_argument("--test-fraction", type=number, help="test share when carved (0.1)")
    _add_person_options(parser)
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    parser.add_argument(
        "--allow-stats-mismatch",
        action="store_true",
        help="evaluate even if the inputs are scaled unlike the reference's",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_eval)


def run_train(args: argparse.Namespace) -> int:
    """Run `laetitia fer train`."""
    from laetitia.errors import ConfigError
    from laetitia.fer.train import TrainConfig, parse_class_weights, resume, train

    settings = {
        "data": args.data,
        "out": args.out,
        "classes": tuple(args.classes) if args.classes else None,
        "arch": args.arch,
        "input_size": args.input_size,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "lr_min": args.lr_min,
        "weight_decay": args.weight_decay,
        "patience": args.patience,
        "seed": args.seed,
        "val_fraction": args.val_fraction,
        "test_fraction": args.test_fraction,
        "person_column": args.person_column,
        "people": args.people,
        "sampling_weights": (
            parse_class_weights(args.sampling_weights) if args.sampling_weights else None
        ),
        "loss_weights": parse_class_weights(args.loss_weights) if args.loss_weights else None,
        "balanced_loss": args.balanced_loss,
        "augment": args.augment,
        "init": args.init,
        "device": args.device,
        "allow_stats_mismatch": args.allow_stats_mismatch,
    }
    if args.resume:
        result = resume(args.resume, progress=not args.no_progress, **settings)
    else:
        if not args.data or not args.out:
            raise ConfigError("a new run needs --data and --out (or --resume CKPT to continue).")
        config = TrainConfig(**{k: v for k, v in settings.items() if v is not None})
        result = train(config, progress=not args.no_progress)
    print(
        f"best epoch {result.best_epoch} of {result.epochs_done}: val UAR "
        f"{result.best_val_uar:.3f}; model {result.best_model}"
    )
    return 0


def run_eval(args: argparse.Namespace) -> int:
    """Run `laetitia fer eval`."""
    from laetitia.fer.evaluate import EvalConfig, evaluate_model

    config = EvalConfig(
        data=args.data,
        model=args.model,
        out=str(args.out),
        classes=tuple(args.classes) if args.classes else None,
        split=args.split,
        seed=args.seed,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        person_column=args.person_column,
        people=args.people,
        device=args.device,
        allow_stats_mismatch=args.allow_stats_mismatch,
    )
    evaluate_model(config, progress=not args.no_progress)
    return 0
