"""Errors a user sees. Each message says what went wrong and what to do about it."""

from __future__ import annotations

from collections.abc import Sequence


class LaetitiaError(Exception):
    """Base of every error laetitia raises on purpose.

    An error about settings carries the fields it names as data, so the CLI can name each by
    the flag that sets it without reading the wording: `field` is the setting at fault, and
    the message starts with its name; `mentions` are the other settings the message names,
    each written in it as `written` says.

        ConfigError("steps must be at least 1, got 0.", field="steps")
        SessionError("... ask for more steps (`steps`) to add them.", mentions=("steps",))
        CameraError("... use a recorded video (the viewer `video:PATH`).",
                    mentions=("viewer=video:PATH",))

    Args:
        message: What is wrong and what to do. When it is about one config field, it starts
            with the field's name ("steps must be at least 1, got 0.").
        field: The config field at fault, if one is: the CLI names it by its flag instead.
        mentions: Other config fields the message names: a field ("model_path", written
            "`model_path`"), or a field and a value to give it ("viewer=video:PATH", written
            "the viewer `video:PATH`"). The CLI shows them as flags ("--model", "--viewer
            video:PATH").
    """

    def __init__(
        self, message: str = "", field: str | None = None, mentions: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.mentions = tuple(mentions)
        missing = [m for m in self.mentions if written(m) not in message]
        assert not missing, f"mentions {missing} are not written in the message {message!r}"


def written(mention: str) -> str:
    """How an error's message writes a config field it mentions (`LaetitiaError.mentions`).

    A field between backquotes ("`model_path`"); a field and a value to give it as "the field
    `value`" ("viewer=video:PATH": "the viewer `video:PATH`").
    """
    field, given, value = mention.partition("=")
    return f"the {field} `{value}`" if given else f"`{field}`"


class ParameterError(LaetitiaError, ValueError):
    """An emoticon parameter vector of the wrong length or with non-finite values."""


class ViewerSpecError(LaetitiaError, ValueError):
    """A viewer spec string that is not one of the known forms."""


class CameraError(LaetitiaError, RuntimeError):
    """A camera that cannot be opened or that stopped delivering frames."""


class LabelMismatchError(LaetitiaError, ValueError):
    """Class names that disagree with the label map or with what the caller expects."""


class CheckpointError(LaetitiaError, ValueError):
    """A weights file that is missing, corrupt or not one of ours."""


class SessionError(LaetitiaError, ValueError):
    """A session folder that cannot be written, read or resumed."""


class ConfigError(LaetitiaError, ValueError):
    """A configuration value out of range or an unknown setting."""


class DiskError(LaetitiaError, OSError):
    """A file that cannot be written or made durable: a full disk, an I/O error, a read-only one.

    Its message names the file; it is an `OSError` too, for code that handles those.
    """


class WebServerError(ConfigError):
    """laetitia's web server cannot serve a dashboard or a participant's page as asked.

    An address in use, plain HTTP off this machine, a certificate that does not load.
    """


class ProtocolError(LaetitiaError, ValueError):
    """A message from a browser page that laetitia's pages do not send (its socket closes)."""


class DependencyError(LaetitiaError, RuntimeError):
    """An installed package that does not offer what laetitia relies on (a changed internal)."""


class StudyError(LaetitiaError, ValueError):
    """A study folder or study file that cannot be read, run, changed or exported."""


class DatasetError(LaetitiaError, ValueError):
    """A FER dataset (CSV or image folders) that cannot be read as labelled face images."""


class SplitError(DatasetError):
    """A train/validation/test split that would leave a class out."""


class NormalizationMismatchError(LaetitiaError, ValueError):
    """Model inputs whose statistics differ between sets (e.g. one scaled 0-255, one 0-1)."""


class SessionEndedByUser(LaetitiaError):
    """The person ended a live session (`q` or closing the window); every completed step is kept."""


class CalibrationError(LaetitiaError, ValueError):
    """Calibration input that cannot give a profile (bad time ranges, too few face frames)."""


class ProfileError(LaetitiaError, ValueError):
    """A calibration profile that is unreadable or made for another FER model."""


class VideoEndedError(CameraError):
    """A recorded video standing in for a live camera has no frames left for another step."""
