"""The app as a hostile stranger meets it on a public Space: a real Gradio server launched with the app's own
launch options, gradio_client sessions and raw HTTP calls; tiny real runs. Issue 19."""
import html
import io
import json
import pathlib
import re
import zipfile

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from playground.web.sessions import SessionRegistry
from test_ui import TINY_RING, free_port, prepared_checkpoints, wait_for

SLIDERS = [0.0] * 6
NO_MESSAGE = "has not enabled verbose error reporting"    # what gradio_client says for "error": null
UPLOAD_MB = 1


def launched(demo, **options) -> str:
    """demo.launch on a free loopback port with the app's launch options; its URL. Gradio's start-up check gives
    the new server 3 s to answer a HEAD request and gives up on the first time-out, which a loaded 2-core
    machine sometimes misses: a second try, then a real failure."""
    from playground.web.app import launch_options

    for attempt in (1, 2):
        try:
            _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(),
                                    quiet=True, **launch_options(), **options)
            return url
        except ValueError as exc:
            if "localhost is not accessible" not in str(exc) or attempt == 2:
                raise
            demo.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from playground.web.app import build_demo

    patcher = pytest.MonkeyPatch()
    patcher.setenv("GAN_MAX_UPLOAD_MB", str(UPLOAD_MB))
    patcher.setenv("GRADIO_HEARTBEAT_INTERVAL", "1")
    root = prepared_checkpoints(tmp_path_factory)
    registry = SessionRegistry(max_trainings=3, max_train_seconds=None, max_per_visitor=1)
    demo = build_demo(registry=registry, checkpoints_dir=root)
    url = launched(demo)
    yield dict(url=url, registry=registry, root=root)
    registry.close_all()
    demo.close()
    patcher.undo()


def connect(server, address=None):
    headers = {"X-Forwarded-For": address} if address else None
    return Client(server["url"], verbose=False, headers=headers)


@pytest.fixture
def client(server):
    c = connect(server)
    yield c
    c.close()


@pytest.fixture(scope="module")
def run_zip(server, tmp_path_factory):
    """A real run zip (tiny ring, 2 steps) from 'Save run', unpacked as {name: bytes}."""
    c = connect(server)
    try:
        c.predict("both", 2, *TINY_RING, api_name="/step")
        archive, *_ = c.predict("zip-source", api_name="/save")
    finally:
        c.close()
    with zipfile.ZipFile(archive) as z:
        return {pathlib.PurePosixPath(name).name: z.read(name) for name in z.namelist() if not name.endswith("/")}


def crafted_zip(files, folder, **changes) -> str:
    """A run zip with some files replaced (bytes) or removed (None)."""
    path = pathlib.Path(folder) / "crafted.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in {**files, **changes}.items():
            if data is not None:
                z.writestr(f"run/{name}", data)
    return str(path)


def with_config(files, **fields) -> bytes:
    return json.dumps({**json.loads(files["config.json"]), **fields}).encode()


def error_of(call) -> str:
    """The message of a refused call: a Gradio error, or (most actions) the error in its message area."""
    try:
        outputs = call()
    except AppError as caught:
        message = str(caught)
    else:
        message = area_error(outputs)
    assert NO_MESSAGE not in message, "an error reached the client without a message"
    return message


def area_error(outputs) -> str:
    """The error text in an action's message area (its last output); fails when there is none."""
    last = outputs[-1] if isinstance(outputs, (list, tuple)) else outputs
    assert isinstance(last, str) and "gan-error" in last, f"the call was not refused: {str(outputs)[:300]}"
    return html.unescape(re.sub(r"<[^>]+>", "", last.split("</style>")[-1]))


# -- 1. an uploaded run names only a built-in dataset ----------------------------------------------------
def test_an_uploaded_run_cannot_point_the_server_at_its_disk(client, run_zip, tmp_path):
    images = tmp_path / "pictures"
    images.mkdir()
    for i in range(20):                       # a folder of images elsewhere on the disk would load and train
        Image.fromarray(np.full((28, 28), i * 10, np.uint8)).save(images / f"{i}.png")
    messages = set()
    for dataset in ("/etc", "/root", str(images), "/no/such/folder", "../../etc/passwd", "upload", 7):
        zipped = crafted_zip(run_zip, tmp_path, **{"config.json": with_config(run_zip, dataset=dataset)})
        messages.add(error_of(lambda: client.predict(handle_file(zipped), api_name="/load_zip")))
    assert len(messages) == 1, f"existing and missing paths must answer alike: {messages}"
    message = messages.pop()
    assert "not built in" in message and "/etc" not in message and "passwd" not in message
    assert client.predict(api_name="/run_status")["status"] == "none"


def test_an_uploaded_run_on_a_built_in_dataset_still_loads(client, run_zip, tmp_path):
    zipped = crafted_zip(run_zip, tmp_path, **{"config.json": with_config(run_zip, dataset="ring")})
    loaded = client.predict(handle_file(zipped), api_name="/load_zip")
    assert loaded[0] == "ring" and "step 2" in loaded[15]


def raw_call(server, api, data) -> str:
    """An event sent the way any HTTP client can (no gradio_client file handling; NaN and Infinity as JSON
    allows them); the event stream's text."""
    url = server["url"]
    posted = httpx.post(f"{url}gradio_api/call/{api}", content=json.dumps({"data": data}),
                        headers={"content-type": "application/json"}, timeout=60)
    posted.raise_for_status()
    return httpx.get(f"{url}gradio_api/call/{api}/{posted.json()['event_id']}", timeout=120).text


def raw_error(server, api, data) -> str:
    """The message a raw call is refused with (an error event, or the error in the action's message area); fails
    when it succeeds or answers without a message."""
    reply = raw_call(server, api, data)
    event = "event: error" if "event: error" in reply else "event: complete"
    answer = json.loads(reply.split(event, 1)[1].split("data:", 1)[1].strip())
    message = answer["error"] if event == "event: error" else area_error(answer)
    assert message, "an error reached the client without a message"
    return message


@pytest.mark.parametrize("path", ["/etc/passwd", "/etc", "checkpoints/digits/meta.json"])
def test_a_file_path_the_client_made_up_is_refused_with_a_message(server, path):
    settings = list(TINY_RING)
    settings[0], settings[-1] = "upload", {"path": path, "meta": {"_type": "gradio.FileData"}}
    for api, data in (("train", settings), ("load_zip", [settings[-1]])):
        reply = raw_call(server, api, data)
        assert "event: error" in reply and "not uploaded through this page" in reply, reply


def test_the_dataset_field_takes_only_the_listed_names(server):
    settings = list(TINY_RING)
    settings[0] = "/etc"
    reply = raw_call(server, "train", settings)
    assert "event: error" in reply and "not in the list of choices" in reply


# -- 5. one visitor, several tabs --------------------------------------------------------------------------
def test_one_visitor_cannot_hold_every_training_slot(server):
    status = "/run_status"
    first, forged, other = (connect(server, address) for address in
                            ("8.8.8.8", "9.9.9.9, 8.8.8.8", "9.9.9.9"))
    try:
        first.predict(*TINY_RING, api_name="/train")
        # A client may put any address in front; the proxy's own entry (the rightmost) is the one that counts.
        assert "you already have 1 training" in error_of(lambda: forged.predict(*TINY_RING, api_name="/train"))
        assert "you already have 1 training" in error_of(lambda: forged.predict("both", 2, *TINY_RING,
                                                                                 api_name="/step"))
        other.predict(*TINY_RING, api_name="/train")            # another visitor gets a slot
        assert wait_for(lambda: other.predict(api_name=status)["step"] > 0)
        visitors = {server["registry"].session(c.session_hash).visitor for c in (first, forged, other)}
        assert visitors == {"8.8.8.8", "9.9.9.9"}
        first.predict(api_name="/pause")
        forged.predict("both", 2, *TINY_RING, api_name="/step")   # the visitor's slot is free again
        assert forged.predict(api_name=status)["step"] == 2
    finally:
        for c in (first, forged, other):
            if c.predict(api_name=status)["status"] == "running":
                c.predict(api_name="/stop")
            c.close()


# -- 6. uploads are capped at Gradio's door ---------------------------------------------------------------
def test_launch_options_take_the_upload_limit_from_the_apps_setting():
    from playground.web.app import launch_options

    assert launch_options({"GAN_MAX_UPLOAD_MB": "3"})["max_file_size"] == 3 * 1024 * 1024
    assert launch_options({})["max_file_size"] == 50 * 1024 * 1024


def test_an_upload_over_the_limit_is_refused_before_it_is_stored(server, client, tmp_path):
    big = tmp_path / "big.npz"
    big.write_bytes(np.random.default_rng(0).bytes(int((UPLOAD_MB + 0.5) * 1024 * 1024)))
    upload = httpx.post(f"{server['url']}gradio_api/upload", files={"files": ("big.npz", big.read_bytes())},
                        timeout=60)
    assert upload.status_code == 413 and "file size" in upload.text.lower()
    with pytest.raises(Exception):
        client.predict(handle_file(str(big)), api_name="/load_zip")


# -- 7. every error carries a message ----------------------------------------------------------------------
@pytest.mark.parametrize("change, expected", [
    ({"meta.json": b'{"saved_at": "today"}'}, "'step' is missing or wrong"),
    ({"meta.json": b"[1, 2]"}, "meta.json must hold one JSON object"),
    ({"meta.json": b'{"step": "3", "kind": "toy", "scale": 2.0, "num_classes": 0}'}, "'step' is missing or wrong"),
    ({"config.json": b"[]"}, "config.json must hold one JSON object"),
    ({"config.json": b'{"dataset": "ring", "width": [16]}'}, "width must be a number"),
    ({"optimizers.npz": b""}, "optimizers.npz is not a readable NumPy archive"),
    ("empty npz", "optimizers.npz does not fit this run's optimizers"),
    ({"points.npy": b"not an array"}, "not a readable NumPy array"),
])
def test_a_damaged_run_zip_says_what_is_wrong(client, run_zip, tmp_path, change, expected):
    if change == "empty npz":
        buffer = io.BytesIO()
        np.savez(buffer)
        change = {"optimizers.npz": buffer.getvalue()}
    if "points.npy" in change:
        change["config.json"] = with_config(run_zip, dataset="points")
    zipped = crafted_zip(run_zip, tmp_path, **change)
    assert expected in error_of(lambda: client.predict(handle_file(zipped), api_name="/load_zip"))


@pytest.mark.parametrize("field, index", [("width", 2), ("batch_size", 4), ("seed", 8), ("clusters", 13)])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), "twelve"])
def test_whole_number_settings_that_are_not_numbers_name_the_field(server, field, index, value):
    settings = list(TINY_RING)
    settings[index] = value
    assert field in raw_error(server, "train", settings)
    assert field in raw_error(server, "step", ["both", 1, *settings])


@pytest.mark.parametrize("value", [float("nan"), float("-inf"), "ten", [1]])
def test_steps_and_frames_that_are_not_numbers_say_so(client, server, value):
    assert "steps" in raw_error(server, "step", ["both", value, *TINY_RING])
    assert "make an interpolation first" in raw_error(server, "scrub", [value])
    client.predict(str(server["root"] / "ring"), 0, 1, "linear", 4, 1.0, None, api_name="/interpolate")
    if value == value and value not in (float("inf"), float("-inf")):     # gradio_client cannot send NaN
        assert "frame must be a whole number" in error_of(lambda: client.predict(value, api_name="/scrub"))


@pytest.mark.parametrize("value", [None, "x" * 500, [], True, 10**30])
def test_no_public_endpoint_answers_an_error_without_a_message(client, server, value):
    """Every named endpoint, with a junk value in each parameter in turn: it may succeed or refuse, but a
    refusal always says something."""
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    for name, info in endpoints.items():
        if name in ("/train", "/step", "/reset", "/run_status"):      # the settings are covered above
            continue
        defaults = {"/explore_render": [str(server["root"] / "ring"), "raw", 0, 1.0, None, *SLIDERS],
                    "/explore_refresh": [str(server["root"] / "ring"), "raw", 0, 1.0, None, *SLIDERS],
                    "/interpolate": [str(server["root"] / "ring"), 0, 1, "linear", 4, 1.0, None],
                    "/set_hyperparams": [1e-3, 1e-3, 1]}.get(name, [None] * len(info["parameters"]))
        for i in range(len(defaults)):
            args = list(defaults)
            args[i] = value
            try:
                client.predict(*args, api_name=name)
            except AppError as exc:
                assert NO_MESSAGE not in str(exc), f"{name} parameter {i} = {value!r}"


# -- 8. echoed input is cut short ----------------------------------------------------------------------------
def test_error_messages_do_not_echo_a_huge_value(client, server):
    huge = "z" * 150_000
    settings = list(TINY_RING)
    settings[0], settings[15] = "points", "0, 0\n" + huge
    calls = [lambda: client.predict(huge, api_name="/save"),
             lambda: client.predict(*settings, api_name="/train"),
             lambda: client.predict(huge, api_name="/load"),
             lambda: client.predict(huge, "raw", 0, 1.0, None, *SLIDERS, api_name="/explore_render"),
             lambda: client.predict(str(server["root"] / "ring"), huge, 0, 1.0, None, *SLIDERS,
                                    api_name="/explore_render")]
    for call in calls:
        message = error_of(call)
        assert "zzz" in message and len(message) < 1200, len(message)
