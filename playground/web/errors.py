"""What the page's handler modules (app.py, explore.py) share: how a project error reaches the user, and
this process's cache of loaded checkpoints."""
from __future__ import annotations

import gradio as gr

from playground.web.saved_runs import SamplerCache

SAMPLERS = SamplerCache()    # loaded checkpoints, shared by every session and demo in this process
USER_ERRORS = (ValueError, RuntimeError, OSError)   # the project's errors are these; all carry a message


def user_error(exc: Exception) -> gr.Error:
    """Show the message to the user; anything not raised on purpose by the project also goes to the log."""
    expected = type(exc).__module__.startswith("playground.")
    return gr.Error(str(exc) or type(exc).__name__, print_exception=not expected)


def session_of(handlers, request):
    """The visitor's session (created on first use) in the handlers' registry."""
    return handlers.registry.session(request.session_hash)
