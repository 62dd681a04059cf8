"""What the page's handler modules (app.py, explore.py) share: how a project error reaches the user, and
this process's cache of loaded checkpoints."""
from __future__ import annotations

import functools
import traceback

import gradio as gr

from playground.web.saved_runs import SamplerCache
from playground.web.views import message_html

SAMPLERS = SamplerCache()    # loaded checkpoints, shared by every session and demo in this process
USER_ERRORS = (ValueError, RuntimeError, OSError)   # the project's errors are these; all carry a message


def user_error(exc: Exception) -> gr.Error:
    """Show the message to the user; anything not raised on purpose by the project also goes to the log."""
    expected = type(exc).__module__.startswith("playground.")
    return gr.Error(str(exc) or type(exc).__name__, print_exception=not expected)


def problem_message(exc: Exception) -> str:
    """What the message area says about a failed action; anything not raised on purpose also goes to the log."""
    if not type(exc).__module__.startswith("playground."):
        traceback.print_exception(exc)
    if isinstance(exc, USER_ERRORS):
        return str(exc) or type(exc).__name__
    return (f"something went wrong ({type(exc).__name__}: {exc}); the app keeps running: try again, "
            "or reload the page")


def session_of(handlers, request):
    """The visitor's session (created on first use) in the handlers' registry."""
    return handlers.registry.session(request.session_hash)


def reported(outputs: int):
    """A Train-tab action whose problems go to the one message area (its last output) instead of a gr.Error,
    which Gradio shows as an "Error" overlay on every output of the event. The action returns (values, note):
    its `outputs` values and a note for the message area ("" clears an old message)."""
    def wrap(action):
        @functools.wraps(action)
        def run(*args, **kwargs):
            try:
                values, note = action(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 — every problem becomes a message; the app keeps running
                return (*(gr.skip(),) * outputs, message_html(problem_message(exc)))
            return (*values, message_html(note, "info"))
        return run
    return wrap
