"""README.md is what Hugging Face Spaces reads: its front matter must parse and match the pinned Gradio."""
import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]


def front_matter():
    text = (ROOT / "README.md").read_text()
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with a --- YAML front matter block"
    return yaml.safe_load(match.group(1))


def pinned(package):
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        name, _, version = line.split("#")[0].strip().partition("==")
        if name.strip().lower() == package:
            return version.strip()
    raise AssertionError(f"{package} is not pinned in requirements.txt")


def test_front_matter_has_what_spaces_needs():
    meta = front_matter()
    for key in ("title", "emoji", "colorFrom", "colorTo", "sdk", "sdk_version", "app_file", "python_version",
                "short_description", "license", "suggested_hardware"):
        assert key in meta, f"front matter lacks {key}"
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    assert meta["suggested_hardware"] == "cpu-basic"
    assert (ROOT / meta["app_file"]).is_file()
    assert len(meta["short_description"]) <= 60


def test_sdk_version_matches_pinned_gradio_and_tensorflow_is_pinned():
    assert str(front_matter()["sdk_version"]) == pinned("gradio")
    assert pinned("tensorflow-cpu")


def test_readme_gives_the_commands_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -r requirements.txt && python app.py" in readme
    test_command = "python -m pytest"
    assert f"pip install -r requirements-dev.txt && {test_command}" in readme
    assert re.search(rf"^{re.escape(test_command)}$", ci, re.M), ".ci/run must run README's test command"
