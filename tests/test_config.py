"""Parameter files: every shipped file validates; bad ones stop with one clear line."""

from pathlib import Path

import pytest

from helpers.config import ParameterError, load_params, normalise_subject_id, params_from_dict

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("path", sorted((ROOT / "params").glob("*.yml")), ids=lambda p: p.name)
def test_shipped_parameter_files_validate(path):
    params = load_params(path)
    assert params.window.length < 372


def write(tmp_path, text):
    path = tmp_path / "p.yml"
    path.write_text(text)
    return path


def test_unknown_key_names_key_and_value(tmp_path):
    with pytest.raises(ParameterError) as info:
        load_params(write(tmp_path, "atlass: seitzman300\n"))
    message = str(info.value)
    assert "unknown key 'atlass'" in message and "seitzman300" in message
    assert "\n" not in message


def test_unknown_nested_key(tmp_path):
    with pytest.raises(ParameterError, match=r"unknown key 'window.lenght'"):
        load_params(write(tmp_path, "window:\n  lenght: 12\n"))


def test_bad_choice_lists_allowed_values(tmp_path):
    with pytest.raises(ParameterError) as info:
        load_params(write(tmp_path, "atlas: aal\n"))
    message = str(info.value)
    assert "atlas = 'aal'" in message and "seitzman300" in message and "schaefer400" in message


def test_bad_effect(tmp_path):
    with pytest.raises(ParameterError, match=r"simulation.effect = 'strong'.*connectivity"):
        load_params(write(tmp_path, "simulation:\n  effect: strong\n"))


def test_window_longer_than_run(tmp_path):
    with pytest.raises(ParameterError, match=r"window.length = 400 TR is not shorter than the run"):
        load_params(write(tmp_path, "window:\n  length: 400\n"))


def test_step_below_one(tmp_path):
    with pytest.raises(ParameterError, match=r"window.step"):
        load_params(write(tmp_path, "window:\n  step: 0\n"))


def test_unknown_emotion_or_model(tmp_path):
    with pytest.raises(ParameterError, match=r"unknown model 'xgboost'"):
        load_params(write(tmp_path, "models: [ridge, xgboost]\n"))


def test_subject_list_is_normalised():
    params = params_from_dict({"subjects": [18, "22", "sub-23"]})
    assert params.subject_ids() == ["sub-18", "sub-22", "sub-23"]
    with pytest.raises(ValueError):
        normalise_subject_id("alice")


def test_subject_count_respects_available_subjects():
    assert len(params_from_dict({"subjects": 26}).subject_ids()) == 26
    with pytest.raises(ParameterError, match="more subjects than ds002322 has"):
        params_from_dict({"dataset": "ds002322", "subjects": 26}).subject_ids()


def test_base_file_and_overrides(tmp_path):
    (tmp_path / "base.yml").write_text("atlas: dosenbach160\nwindow:\n  length: 20\n")
    child = tmp_path / "child.yml"
    child.write_text("base: base.yml\nwindow:\n  step: 3\n")
    params = load_params(child, {"seed": 7})
    assert (params.atlas, params.window.length, params.window.step, params.seed) == ("dosenbach160", 20, 3, 7)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        load_params(tmp_path / "nope.yml")
    with pytest.raises(ParameterError, match="not valid YAML"):
        load_params(write(tmp_path, "window: [\n"))


def test_digest_depends_only_on_named_sections():
    a = params_from_dict({"window": {"length": 12}})
    b = params_from_dict({"window": {"length": 20}})
    assert a.digest("atlas", "preprocessing") == b.digest("atlas", "preprocessing")
    assert a.digest("window") != b.digest("window")
