from splants_dagster.platforms import CHAR_LIMITS, COMPATIBLE, CONTENT_TYPES, PLATFORMS, plan_suite


def test_pillar_first_and_only_compatible_pairs():
    specs = plan_suite(
        "c1", ["twitter", "youtube", "email"], ["social_post", "video_script", "email", "blog"]
    )
    ids = [s.piece_id for s in specs]
    assert ids[0] == "c1:blog:blog" and specs[0].is_pillar
    assert ids[1:] == ["c1:twitter:social_post", "c1:youtube:video_script", "c1:email:email"]


def test_pillar_not_duplicated_when_blog_requested():
    specs = plan_suite("c1", ["blog"], ["blog", "landing_page"])
    assert [s.piece_id for s in specs] == ["c1:blog:blog", "c1:blog:landing_page"]


def test_word_targets_fit_character_limits():
    for platform in PLATFORMS:
        for spec in plan_suite("c", [platform], list(CONTENT_TYPES))[1:]:
            limit = CHAR_LIMITS[platform]
            assert spec.min_words <= spec.max_words
            if limit:
                assert spec.max_words * 6.5 <= limit


def test_every_platform_has_a_content_type():
    assert set(COMPATIBLE) == set(PLATFORMS)
    assert all(COMPATIBLE[p] for p in PLATFORMS)


def test_length_overrides_apply():
    specs = plan_suite("c", ["blog"], ["blog"], {"blog": (300, 400)})
    assert (specs[0].min_words, specs[0].max_words) == (300, 400)
