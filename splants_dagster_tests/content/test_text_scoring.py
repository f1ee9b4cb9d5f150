"""Text utilities, readability and the candidate scores."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from splants_dagster.content.scoring import (
    WEIGHTS,
    PieceText,
    quality_score,
    seo_score,
    uniqueness_score,
    weighted_total,
)
from splants_dagster.platforms import plan_suite
from splants_dagster.qa.flesch import measure
from splants_dagster.text import contains_phrase, hashtags, longest_shared_run, normalise, truncate_words


def test_weighted_total_renormalises_missing_components():
    scores = {
        "quality": 1.0,
        "seo": 0.5,
        "readability": 0.5,
        "uniqueness": 1.0,
        "predicted_performance": None,
    }
    total, used = weighted_total(scores)
    assert used == ["quality", "seo", "readability", "uniqueness"]
    expected = (0.30 * 1 + 0.20 * 0.5 + 0.20 * 0.5 + 0.15 * 1) / 0.85
    assert total == pytest.approx(expected, abs=1e-4)
    full, used_all = weighted_total({**scores, "predicted_performance": 0.0})
    assert len(used_all) == 5 and full == pytest.approx(0.65, abs=1e-4)
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


@given(st.dictionaries(st.sampled_from(list(WEIGHTS)), st.one_of(st.none(), st.floats(0, 1))))
def test_weighted_total_stays_in_unit_interval(scores):
    total, used = weighted_total(scores)
    assert 0.0 <= total <= 1.0
    assert set(used) == {k for k, v in scores.items() if v is not None}


def test_readability_is_a_real_formula():
    easy = measure("The cat sat on the mat. It was a warm day. We all had fun.")
    hard = measure(
        "Notwithstanding considerable organisational heterogeneity, institutional decarbonisation "
        "necessitates comprehensive, multidimensional infrastructural reconfiguration."
    )
    assert easy.flesch_reading_ease > 80 > 20 > hard.flesch_reading_ease
    assert hard.flesch_kincaid_grade > easy.flesch_kincaid_grade + 10
    assert hard.score((60, 90)) == 0.0
    assert easy.score((60, 120)) == 1.0
    assert 0.5 <= easy.score((60, 90)) < 1.0  # too plain is penalised less than too hard


def test_phrase_matching_is_whole_word():
    assert contains_phrase("Our team loves oat-latte season", "oat latte")
    assert not contains_phrase("Our team loves tea", "tea party")
    assert not contains_phrase("steam", "tea")
    assert hashtags("Try it #OatLatte #2go and #coffee_love") == ["#OatLatte", "#coffee_love"]


def test_longest_shared_run_finds_copied_passage():
    source = normalise("one two three four five six seven eight nine ten eleven twelve thirteen fourteen")
    piece = normalise(
        "intro words one two three four five six seven eight nine ten eleven twelve thirteen end"
    )
    run, start = longest_shared_run(piece, source, 12)
    assert run == 13 and start == 2
    assert longest_shared_run(piece[:10], source, 12) == (0, -1)


def test_truncate_words_respects_limit():
    text = "word " * 100
    cut = truncate_words(text.strip(), 50)
    assert len(cut) <= 50 and cut.endswith("…")


def _spec(platform="blog", ctype="blog"):
    return next(
        s for s in plan_suite("c", [platform], [ctype]) if s.platform == platform and s.content_type == ctype
    )


def test_seo_score_components_follow_weights():
    body = "## Oat latte basics\n\n" + ("An oat latte is creamy. " * 2) + ("Filler words here today. " * 40)
    piece = PieceText(
        title="Oat Latte Guide",
        body=body,
        seo_title="Oat Latte Guide",
        meta_description="x" * 130,
    )
    result = seo_score(piece, ["oat latte", "dairy free"], _spec())
    assert result.presence == pytest.approx(2 / 3, abs=1e-3)  # primary counts double, 'dairy free' missing
    assert result.placement == pytest.approx(1.0)
    expected = (
        0.35 * result.presence + 0.25 * result.density + 0.20 * result.placement + 0.20 * result.structure
    )
    assert result.score == pytest.approx(expected, abs=1e-3)


def test_keyword_stuffing_lowers_density_score():
    spec = _spec()
    normal = PieceText("Oat latte", "Oat latte today. " + "Other words follow here. " * 60)
    stuffed = PieceText("Oat latte", "Oat latte oat latte oat latte. " * 30)
    assert seo_score(normal, ["oat latte"], spec).density > seo_score(stuffed, ["oat latte"], spec).density


def test_quality_flags_missing_cta_and_over_limit():
    spec = _spec("twitter", "social_post")
    long_text = "Words " * 80
    result = quality_score(PieceText("t", long_text, rendered=long_text * 2), spec)
    assert result.parts["fits_platform"] == 0.0 and result.parts["call_to_action"] == 0.0
    good = "Love oat lattes? Try ours this week and see. Learn more at our shop."
    assert quality_score(PieceText("t", good, rendered=good), spec).parts["call_to_action"] == 1.0


def test_uniqueness_zero_for_copied_source_passage():
    src = " ".join(f"w{i}" for i in range(40))
    copied = "Intro " + " ".join(f"w{i}" for i in range(5, 20)) + " outro"
    result = uniqueness_score(copied, {}, {"src": src})
    assert result.score == 0.0 and result.copied_words >= 12 and result.copied_from == "src"
    fresh = uniqueness_score("completely different words about coffee and mornings", {}, {"src": src})
    assert fresh.score == 1.0
