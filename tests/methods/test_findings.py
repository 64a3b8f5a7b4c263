"""T4's expected findings on constructed tables: each can fail, and says why."""

import pytest

from lazy_artist.methods.findings import (
    best_reads_shape,
    erm_against_winner,
    erm_stays_the_cheater,
    oracle_is_the_ceiling,
)


def _row(easy, hard, follows=0.5, n=3):
    return {
        "easy_val_acc_mean": easy,
        "easy_val_acc_ci95": [easy - 0.01, easy + 0.01],
        "hard_test_acc_mean": hard,
        "hard_test_acc_ci95": [hard - 0.01, hard + 0.01],
        "colour_following_mean": follows,
        "n_seeds": n,
    }


def _table(rows_by_rule):
    return {"cheater_cnn": rows_by_rule}


def test_erm_stays_the_cheater_must_hold_under_both_rules():
    table = _table(
        {"easy_val": {"erm": _row(0.99, 0.10)}, "conflict_val": {"erm": _row(0.98, 0.25)}}
    )
    passed, detail = erm_stays_the_cheater(table, "cheater_cnn", 0.30)
    assert passed and "easy_val" in detail and "conflict_val" in detail and "<= 0.3" in detail
    table["cheater_cnn"]["conflict_val"]["erm"] = _row(0.98, 0.31)
    assert not erm_stays_the_cheater(table, "cheater_cnn", 0.30)[0]


def test_best_reads_shape_needs_both_hard_and_easy():
    table = _table({"conflict_val": {"cf_invar": _row(0.98, 0.975)}})
    winners = {
        "cheater_cnn": {"conflict_val": {"winner": "cf_invar", "selected_on": "conflict_val_acc"}}
    }
    assert best_reads_shape(table, winners, "cheater_cnn", "conflict_val", 0.97, 0.97)[0]
    assert not best_reads_shape(table, winners, "cheater_cnn", "conflict_val", 0.98, 0.97)[0]
    assert not best_reads_shape(table, winners, "cheater_cnn", "conflict_val", 0.97, 0.99)[0]


def test_oracle_ceiling_within_tolerance_and_absent_oracle():
    rows = {"gray_oracle": _row(0.99, 0.970, None), "cf_invar": _row(0.99, 0.975)}
    assert oracle_is_the_ceiling(
        _table({"conflict_val": rows}), "cheater_cnn", "conflict_val", 0.01
    )[0]
    assert not oracle_is_the_ceiling(
        _table({"conflict_val": rows}), "cheater_cnn", "conflict_val", 0.001
    )[0]
    assert (
        oracle_is_the_ceiling(
            _table({"conflict_val": {"erm": _row(1, 1)}}), "cheater_cnn", "conflict_val", 0.01
        )
        is None
    )


def test_erm_against_winner_is_a_statistic_with_a_floored_ratio():
    rows = {"erm": _row(0.99, 0.80, 0.2), "cf_invar": _row(0.99, 0.97, 0.0)}
    winners = {"cheater_cnn": {"conflict_val": {"winner": "cf_invar"}}}
    found = erm_against_winner(
        _table({"conflict_val": rows}), winners, "cheater_cnn", "conflict_val", 100
    )
    assert found["hard_gap_to_winner"] == pytest.approx(0.17)
    assert found["colour_following_ratio"] == pytest.approx(0.2 * 900)
    rows["cf_invar"]["colour_following_mean"] = None  # a gray-input winner
    found = erm_against_winner(
        _table({"conflict_val": rows}), winners, "cheater_cnn", "conflict_val", 100
    )
    assert found["colour_following_ratio"] is None
