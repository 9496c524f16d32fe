"""Parameter files: every shipped file validates; bad ones stop with one clear line."""

from pathlib import Path

import pytest

from helpers.config import (
    ParameterError,
    load_params,
    normalise_subject_id,
    params_from_dict,
    parse_overrides,
)

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
    assert (params.atlas, params.window.length, params.window.step, params.seed) == (
        "dosenbach160",
        20,
        3,
        7,
    )


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


def test_empty_parameter_file_is_an_error(tmp_path):
    with pytest.raises(ParameterError, match=r"p.yml is empty"):
        load_params(write(tmp_path, "# only a comment\n"))


def test_subject_that_does_not_exist_names_the_allowed_ids():
    with pytest.raises(ParameterError) as info:
        params_from_dict({"subjects": ["sub-40", "sub-18"]})
    message = str(info.value)
    assert (
        "sub-40 is not in ds002322" in message
        and "sub-18, sub-22" in message
        and "\n" not in message
    )
    with pytest.raises(ParameterError, match="sub-38 has no preprocessed BOLD"):
        params_from_dict({"dataset": "ds002322", "subjects": ["sub-18", "sub-38"]})
    assert params_from_dict({"subjects": ["sub-38"]}).subject_ids() == ["sub-38"]  # simulated: fine


def test_no_feature_set_is_an_error():
    with pytest.raises(ParameterError, match=r"features = \[\]: give at least one feature set"):
        params_from_dict({"features": []})


@pytest.mark.parametrize("length", [61, 200, 371])
def test_window_too_long_for_blocked_cross_validation_names_the_key(length):
    with pytest.raises(ParameterError) as info:
        load_params(ROOT / "params" / "default.yml", {"window": {"length": length, "step": 2}})
    message = str(info.value)
    assert f"window.length = {length} TR" in message and "cv_options.n_blocks = 5" in message
    assert "at most 60 TR" in message


def test_window_limit_follows_the_fold_design():
    default = ROOT / "params" / "default.yml"
    assert load_params(default, {"window": {"length": 60, "step": 2}}).window.length == 60
    shorter_hrf = {
        "window": {"length": 74, "step": 1},
        "cv_options": {"n_blocks": 8, "hrf_span_s": 0},
    }
    assert load_params(default, shorter_hrf).window.length == 74
    with pytest.raises(ParameterError, match="at most 50 TR"):
        load_params(default, {"window": {"length": 51, "step": 1}, "cv_options": {"n_blocks": 3}})
    # sensitivity grids build such parameter sets on purpose and report them as not testable
    assert params_from_dict({"window": {"length": 200}}).window.length == 200


def test_window_check_agrees_with_the_blocked_splitter():
    import numpy as np

    from helpers.cv_limits import blocked_folds_fit, purge_gap
    from helpers.decoding.splits import LeaveOneSubjectOutBlocked, WindowMeta

    for length, step, n_blocks, hrf in [
        (12, 2, 5, 16),
        (60, 2, 5, 16),
        (61, 2, 5, 16),
        (50, 1, 3, 16),
        (51, 1, 3, 16),
        (74, 1, 8, 0),
        (75, 1, 8, 0),
        (30, 7, 5, 40),
    ]:
        starts = np.arange(0, 372 - length + 1, step)
        meta = WindowMeta(
            np.repeat(["a", "b"], len(starts)), np.tile(starts, 2), np.tile(starts, 2) + length
        )
        try:
            list(
                LeaveOneSubjectOutBlocked(
                    meta, n_blocks=n_blocks, hrf_span_s=hrf, window_length=length
                ).split()
            )
            splitter_fits = True
        except ValueError:
            splitter_fits = False
        assert (
            blocked_folds_fit(length, step, "tr", n_blocks, purge_gap(length, hrf)) == splitter_fits
        ), length


@pytest.mark.parametrize(
    "overrides", [{"window": {"length": 20}}, '{"window": {"length": 20}}', "window: {length: 20}"]
)
def test_overrides_accept_a_mapping_or_its_json_or_yaml_text(overrides):
    assert load_params(ROOT / "params" / "quick.yml", overrides).window.length == 20


@pytest.mark.parametrize("overrides", ["[1, 2]", [1, 2], 5, "{window: [", "just text"])
def test_other_overrides_are_one_clear_error(overrides):
    with pytest.raises(ParameterError) as info:
        load_params(ROOT / "params" / "quick.yml", overrides)
    message = str(info.value)
    assert message.startswith("overrides ") and '{"window": {"length": 20}}' in message
    assert "\n" not in message


# --- values a chapter would fail on are stopped when the parameters load ----------------------


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    top = write(tmp_path, "base: default.yml\nwindow:\n  length: 10\nseed: 1\nwindow:\n  step: 2\n")
    with pytest.raises(ParameterError, match=r"'window' is given twice \(lines 2 and 5\)"):
        load_params(top)
    nested = write(tmp_path, "window:\n  length: 10\n  step: 2\n  length: 14\n")
    with pytest.raises(ParameterError, match=r"'length' is given twice \(lines 2 and 4\)"):
        load_params(nested)
    with pytest.raises(ParameterError, match=r"--set: key 'seed' is given twice"):
        load_params(
            ROOT / "params" / "quick.yml", parse_overrides('{"seed": 1, "seed": 2}', "--set")
        )


def test_dotted_override_keys_are_nested():
    params = load_params(ROOT / "params" / "quick.yml", {"window.length": 10, "seed": 3})
    assert (params.window.length, params.seed, params.window.step) == (10, 3, 2)
    with pytest.raises(ParameterError, match="keep only one"):
        load_params(ROOT / "params" / "quick.yml", {"window": 3, "window.length": 10})


def test_an_override_error_is_blamed_on_the_override_not_the_file():
    quick = ROOT / "params" / "quick.yml"
    with pytest.raises(ParameterError) as info:
        load_params(quick, {"windw": {"length": 10}}, overrides_source="--set")
    assert str(info.value).startswith(f"--set (on {quick}): unknown key 'windw'")


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (
            {"subjects": 2},
            "subjects = 2 with cv_options.subjects_per_fold = 2 leaves 1 subject group",
        ),
        ({"cv_options": {"subjects_per_fold": 8}}, "use cv_options.subjects_per_fold of at most 3"),
        ({"calibration": {"subjects": 2}}, "calibration.subjects = 2"),
        ({"window": {"length": 2, "shape": "tapered"}}, "window.length = 2: a window of 2 TR"),
        (
            {"sweep": {"grid": {"window.lenght": [6]}}},
            "window.lenght=6: unknown key 'window.lenght'",
        ),
        ({"sweep": {"grid": {"window.length": [2]}}}, "sweep.grid: combination window.length=2"),
        ({"sweep": {"combinations": [{"subjects": 1}]}}, "sweep.grid: combination subjects=1"),
    ],
)
def test_values_that_would_fail_in_a_chapter_fail_at_load(overrides, named):
    with pytest.raises(ParameterError) as info:
        load_params(ROOT / "params" / "quick.yml", overrides)
    assert named in str(info.value) and "\n" not in str(info.value)


def test_two_subject_groups_are_enough():
    params = load_params(
        ROOT / "params" / "quick.yml", {"subjects": 2, "cv_options": {"subjects_per_fold": 1}}
    )
    assert params.subject_ids() == ["sub-18", "sub-22"]
