"""One brief file per way a brief can be wrong (issue #14 item 2 and the brief parts of 11 and 12), each
with the field its error must name. Built from the demo brief so everything else in them is valid."""

from splants_dagster.paths import PROJECT_ROOT

DEMO_TEXT = (PROJECT_ROOT / "data" / "campaigns" / "compostable-pods-launch.yaml").read_text()
RELATIVE = "demo: true\nstart_date: next monday\n"
assert RELATIVE in DEMO_TEXT


def variant(name: str, old: str, new: str) -> str:
    text = DEMO_TEXT.replace("id: compostable-pods-launch", f"id: {name}")
    assert old in text, old
    return text.replace(old, new)


# 342 bytes: 9 levels of 9 aliases, 9**9 (387 million) "lol"s once expanded
ANCHOR_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)

BAD_BRIEFS: dict[str, tuple[str, str]] = {
    "bad-month": (variant("bad-month", RELATIVE, "start_date: 2026-13-02\n"), "start_date"),
    "anchor-bomb": (ANCHOR_BOMB, "(yaml)"),
    "markup-tone": (variant("markup-tone", "tone: friendly", 'tone: "[/oops]"'), "tone"),
    "year-9999": (variant("year-9999", RELATIVE, "start_date: 9999-12-20\n"), "start_date"),
    "year-1900": (variant("year-1900", RELATIVE, "start_date: 1900-01-01\n"), "start_date"),
    "ended-window": (variant("ended-window", RELATIVE, "start_date: 2020-01-06\n"), "start_date"),
    "relative-not-demo": (variant("relative-not-demo", "demo: true\n", ""), "start_date"),
    "bool-duration": (variant("bool-duration", "duration_days: 21", "duration_days: true"), "duration_days"),
    "huge-duration": (
        variant("huge-duration", "duration_days: 21", "duration_days: " + "9" * 5000),
        "duration_days",
    ),
    "deep-nesting": ("a: " + "[" * 3000 + "]" * 3000 + "\n", "(yaml)"),
    "not-a-mapping": ("- just\n- a list\n", "(file)"),
}
