"""What the page's handler modules (app.py, explore.py, ganlab.py, guide.py) share: how a problem reaches the
user (each area's one message area, `reported`), the one safety net under every event (GuardedBlocks), who a
request comes from, and this process's cache of loaded checkpoints."""
from __future__ import annotations

import asyncio
import functools
import inspect
import math
import os
import pathlib
import traceback

import gradio as gr
from gradio.exceptions import InvalidPathError

from playground.text import shortened, shown
from playground.web.saved_runs import SamplerCache
from playground.web.sessions import ENGINE_LOADED, SessionError, import_engine
from playground.web.visitors import client_address
from playground.web.views import message_html

SAMPLERS = SamplerCache()    # loaded checkpoints, shared by every session and demo in this process
USER_ERRORS = (ValueError, RuntimeError, OSError)   # the project's errors are these; all carry a message
UNEXPECTED = ("the server could not handle this request ({kind}); check the values you sent and try again, or "
              "reload the page. The server's log has the details.")


def raised_by_project(exc: Exception) -> bool:
    """Whether the project raised `exc` on purpose: one of its own error classes, or a plain error raised by its
    own code (latent.py's checks say what is allowed); not one from deep inside a library."""
    if type(exc).__module__.startswith("playground."):
        return True
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    return frame is not None and frame.tb_frame.f_globals.get("__name__", "").startswith("playground.")


def as_message(exc: Exception) -> gr.Error:
    """Any exception as an error with a message: the project's own say what to do, Gradio's are cut short (its
    choice checks echo the value), anything else gets a generic line and its traceback goes to the log."""
    if isinstance(exc, gr.Error):
        return gr.Error(shortened(exc.message), duration=exc.duration, visible=exc.visible, title=exc.title,
                        print_exception=exc.print_exception)
    if isinstance(exc, InvalidPathError):   # a file path the client made up rather than uploaded
        return gr.Error("that file was not uploaded through this page; upload it again", print_exception=False)
    if isinstance(exc, USER_ERRORS) and raised_by_project(exc):
        expected = type(exc).__module__.startswith("playground.")     # a plain ValueError also goes to the log
        return gr.Error(shortened(str(exc) or type(exc).__name__), print_exception=not expected)
    return gr.Error(UNEXPECTED.format(kind=type(exc).__name__), print_exception=True)


class GuardedBlocks(gr.Blocks):
    """gr.Blocks whose every event (Gradio's checks of the inputs, the handler, the outputs) answers an error
    with a message: Gradio sends `"error": null` for any exception that is not a gr.Error."""

    async def process_api(self, *args, **kwargs):
        try:
            if not ENGINE_LOADED.is_set():     # the first events may come while warm-up still imports TensorFlow
                await asyncio.to_thread(import_engine)
            return await super().process_api(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 — the net: turned into a message, logged when unexpected
            raise as_message(exc) from exc


def checked_number(**options) -> gr.Number:
    """gr.Number that refuses NaN, infinities and text with a message naming the field (gr.Number's own
    rounding raises a bare ValueError / OverflowError / TypeError for them). Wrapped, not subclassed: Gradio
    writes a .pyi stub beside the source of every Component subclass."""
    number = gr.Number(**options)
    preprocess = number.preprocess

    def checked(payload):
        if payload is not None:
            is_number = isinstance(payload, (int, float)) and not isinstance(payload, bool)
            if not is_number or not math.isfinite(payload):
                raise gr.Error(f"{number.label or 'a number field'} must be a finite number, got {shown(payload)}")
        return preprocess(payload)

    number.preprocess = checked
    return number


def uploaded_file(upload) -> pathlib.Path:
    """An uploaded file's path, only if it lies in Gradio's upload folder (Gradio checks this too)."""
    from gradio.utils import get_upload_folder

    path = pathlib.Path(str(upload)).resolve()
    if not path.is_relative_to(pathlib.Path(get_upload_folder()).resolve()) or not path.is_file():
        raise SessionError("that file was not uploaded through this page; upload it again")
    return path


def visitor_of(request) -> str:
    """The client address behind a request (sessions.client_address); GAN_CLIENT_ADDRESS=peer ignores the
    proxy's X-Forwarded-For header (for a server that no proxy fronts)."""
    use_forwarded = os.environ.get("GAN_CLIENT_ADDRESS", "forwarded").strip().lower() != "peer"
    headers = getattr(request, "headers", None) or {}
    forwarded = headers.get("x-forwarded-for") if hasattr(headers, "get") else None
    client = getattr(request, "client", None)
    return client_address(forwarded, getattr(client, "host", None), use_forwarded)


def problem_message(exc: Exception) -> str:
    """What the message area says about a failed action: as_message's text (cut short; a generic line for what
    was not raised on purpose, whose traceback goes to the log)."""
    error = as_message(exc)
    if error.print_exception:
        traceback.print_exception(exc)
    return error.message


def session_of(handlers, request):
    """The visitor's session (created on first use) in the handlers' registry."""
    return handlers.registry.session(request.session_hash)


def reported(outputs: int, fields=None):
    """An action whose problems go to its area's one message area (its last output) instead of a gr.Error, which
    Gradio shows as a toast and an "Error" overlay on every output of the event. The action returns (values,
    note): its `outputs` values and a note for the message area ("" clears an old message); a generator yields
    such pairs. `fields`: the names a message may start with → the element ids it outlines (views.message_html;
    None: the Train tab's settings)."""
    def problem(exc):
        return (*(gr.skip(),) * outputs, message_html(problem_message(exc), fields=fields))

    def wrap(action):
        if inspect.isgeneratorfunction(action):
            @functools.wraps(action)
            def run_steps(*args, **kwargs):
                try:
                    for values, note in action(*args, **kwargs):
                        yield (*values, message_html(note, "info", fields))
                except Exception as exc:  # noqa: BLE001 — every problem becomes a message; the app keeps running
                    yield problem(exc)
            return run_steps

        @functools.wraps(action)
        def run(*args, **kwargs):
            try:
                values, note = action(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 — every problem becomes a message; the app keeps running
                return problem(exc)
            return (*values, message_html(note, "info", fields))
        return run
    return wrap
