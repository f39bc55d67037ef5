"""`make example NAME=...` (tools/run_example.py): an example of examples/ runs on the
unix port against the emulator, as the README's quick start says."""

import pytest
import run_example


def test_the_first_script_runs_against_the_emulator(capfd):
    assert run_example.main(["first"]) == 0
    out = capfd.readouterr().out
    assert "joined WizFiTest as 192.168.10." in out
    assert "b'HTTP/1.0 200 OK\\r\\n'" in out


def test_lists_the_examples(capsys, repo_root):
    assert run_example.main(["--list"]) == 0
    listed = capsys.readouterr().out.split(":", 1)[1].split()
    assert listed == sorted(p.stem for p in (repo_root / "examples").glob("*.py") if p.stem != "settings")
    assert {"first", "http_get", "mqtt_pubsub", "ntp_time", "scan", "softap", "tcp_server", "tls_get"} <= set(
        listed
    )


def test_an_unknown_name_is_refused(capsys):
    with pytest.raises(SystemExit) as e:
        run_example.main(["frist"])
    assert e.value.code == 2
    assert "no example 'frist'" in capsys.readouterr().err


def test_the_readme_shows_the_first_script_as_it_is(repo_root):
    readme = (repo_root / "README.md").read_text()
    section = readme[readme.index("### A first script") :]
    shown = section[section.index("```python\n") + len("```python\n") :]
    shown = shown[: shown.index("```\n")]
    assert shown == (repo_root / "examples" / "first.py").read_text()
    assert "make example NAME=first" in readme
