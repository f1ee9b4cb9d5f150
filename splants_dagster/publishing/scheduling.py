"""Best-time publishing schedules: when each approved piece goes out, per platform, in the brand's timezone.

Slots come from two sources:

- **prior**: the original SPLANTS posting hours per platform (UTC by default, as in the original design).
- **learned**: this account's own engagement history, as a weekday × hour grid in the brand's timezone.
  Each platform's engagement rates are standardised per account (z-scores), so accounts with different
  baselines combine. A cell's score is shrunk toward its hour across the week, and that toward the prior
  (empirical Bayes: ``(n·mean + k·prior) / (n + k)``). A cell counts as learned when it has at least
  ``min_posts_per_cell`` posts itself, or when its hour has at least ``min_posts_per_hour`` posts across
  the week; thinner cells fall back to the prior. A platform needs ``min_history_posts`` posts before any
  of its cells are used. A small share of pieces (``exploration``) is deliberately put into thin cells so
  the schedule keeps learning instead of locking in on the first good hour.

Placement is greedy and deterministic (a seeded RNG drives exploration). Pieces already out keep their
time; a slot a person chose (``manual_at``, the desk's reschedule) is kept when :func:`slot_refusal` still
allows it among those, else the piece is placed again and the reason kept (``manual_replaced``). Then the
pillar (before the earliest kept manual slot when it can be), then each platform's pieces spread evenly over
the campaign window, each at the best feasible slot on its target day
or the nearest day that has one, subject to per-platform spacing (no two posts on one channel within
``min_gap_hours``) and a daily cap. All local times are built with ``zoneinfo``: hours that do not exist on
a DST change day are skipped, repeated hours take their first occurrence, and spacing is measured in real
elapsed time.

No Dagster imports: the asset loads inputs and calls :func:`build_schedule`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from splants_dagster.platforms import PLATFORMS
from splants_dagster.timeutil import as_utc

UTC = dt.UTC
MANUAL = "manual"  # ``slot_source`` of a slot a person chose

# The original SPLANTS defaults (UTC hours); blog and email were not in the original table, so they get
# the common "morning read" and "after lunch" slots.
PRIOR_SLOTS: dict[str, tuple[int, ...]] = {
    "twitter": (13, 17),
    "linkedin": (10, 12, 17),
    "instagram": (11, 13, 19),
    "facebook": (12, 15, 19),
    "youtube": (14, 18),
    "tiktok": (18, 21),
    "pinterest": (20, 23),
    "blog": (9, 14),
    "email": (10, 14),
}


@dataclass(frozen=True)
class ChannelRule:
    """Spacing and cap for one channel: never two posts within ``min_gap_hours``; at most ``daily_cap``
    per local day."""

    min_gap_hours: float
    daily_cap: int


CHANNEL_RULES: dict[str, ChannelRule] = {
    "blog": ChannelRule(24, 1),
    "twitter": ChannelRule(3, 4),
    "linkedin": ChannelRule(20, 1),
    "instagram": ChannelRule(20, 1),
    "facebook": ChannelRule(6, 2),
    "youtube": ChannelRule(48, 1),
    "tiktok": ChannelRule(12, 2),
    "pinterest": ChannelRule(3, 5),
    "email": ChannelRule(72, 1),
}
DEFAULT_RULE = ChannelRule(12, 1)


@dataclass(frozen=True)
class SchedulePolicy:
    min_history_posts: int = 12
    min_posts_per_cell: int = 3
    min_posts_per_hour: int = 8
    shrinkage: float = 5.0
    prior_lift: float = 0.5
    exploration: float = 0.1
    allowed_hours: tuple[int, ...] = tuple(range(7, 23))
    prior_clock: str = "utc"  # "utc": prior hours are UTC instants; "local": brand wall-clock hours
    pillar_lead_hours: float = 1.0
    # slots scoring within this margin of the best feasible one are equally good: a piece's predicted
    # performance per weekday × hour (content_predictions), when given, chooses among them
    tie_margin: float = 0.05
    prior_slots: Mapping[str, tuple[int, ...]] = field(default_factory=lambda: dict(PRIOR_SLOTS))
    rules: Mapping[str, ChannelRule] = field(default_factory=lambda: dict(CHANNEL_RULES))

    def rule(self, platform: str) -> ChannelRule:
        return self.rules.get(platform, DEFAULT_RULE)


@dataclass(frozen=True)
class ScheduleItem:
    """A piece to place. ``fixed_at`` keeps a piece that already went out (or is going out) where it is;
    it still counts for spacing, caps and the pillar-first rule. ``manual_at`` is a slot a person chose:
    kept (``slot_source`` ``manual``) while the rules allow it, the others placed around it."""

    piece_id: str
    platform: str
    content_type: str = ""
    is_pillar: bool = False
    variant_of: str | None = None
    fixed_at: dt.datetime | None = None
    fixed_source: str | None = None
    manual_at: dt.datetime | None = None


@dataclass(frozen=True)
class Slot:
    piece_id: str
    platform: str
    content_type: str
    publish_at: dt.datetime  # aware, UTC
    local: dt.datetime  # aware, brand timezone
    slot_source: str  # learned | prior | manual
    slot_score: float
    exploration: bool = False
    is_pillar: bool = False
    variant_of: str | None = None
    fixed: bool = False
    tie_break: bool = False  # the piece's predicted performance chose this among equally good slots


@dataclass
class _Cell:
    posts: int = 0
    sum_z: float = 0.0

    @property
    def mean(self) -> float:
        return self.sum_z / self.posts if self.posts else 0.0


@dataclass
class PlatformGrid:
    """What the history says about one platform: per-(weekday, hour) and per-hour sums of z-scores."""

    platform: str
    posts: int
    learned: bool
    cells: dict[tuple[int, int], _Cell] = field(default_factory=dict)
    hours: dict[int, _Cell] = field(default_factory=dict)
    note: str = ""

    def learned_cells(self, policy: SchedulePolicy) -> int:
        if not self.learned:
            return 0
        return sum(1 for key in self.cells if self.cell_learned(key[0], key[1], policy))

    def cell_learned(self, weekday: int, hour: int, policy: SchedulePolicy) -> bool:
        if not self.learned:
            return False
        cell = self.cells.get((weekday, hour))
        hour_cell = self.hours.get(hour)
        return bool(
            (cell and cell.posts >= policy.min_posts_per_cell)
            or (hour_cell and hour_cell.posts >= policy.min_posts_per_hour)
        )

    def score(self, weekday: int, hour: int, prior_mu: float, policy: SchedulePolicy) -> float:
        k = policy.shrinkage
        hour_cell = self.hours.get(hour, _Cell())
        hour_score = (hour_cell.sum_z + k * prior_mu) / (hour_cell.posts + k)
        cell = self.cells.get((weekday, hour), _Cell())
        return (cell.sum_z + k * hour_score) / (cell.posts + k)


@dataclass
class ScheduleResult:
    slots: list[Slot]
    unscheduled: list[tuple[ScheduleItem, str]]
    grids: dict[str, PlatformGrid]
    notes: list[str]
    history_posts: int
    # pieces whose manual slot the rules no longer allow (placed again, or unscheduled), and why
    manual_replaced: list[tuple[ScheduleItem, str]] = field(default_factory=list)

    @property
    def prior_only(self) -> bool:
        return not any(g.learned for g in self.grids.values())


def usable_history(
    history: Iterable[Mapping[str, Any]], demo_campaign: bool = False
) -> list[Mapping[str, Any]]:
    """The history rows a campaign's slots may learn from: simulated rows (``is_demo``) never once the
    platform has any real row, and never for a real campaign (only a demo campaign learns from the demo
    simulator, and only on platforms with no real engagement yet). Rows without ``is_demo`` are real."""
    rows = list(history)
    real_platforms = {r.get("platform") for r in rows if not r.get("is_demo")}
    return [
        r for r in rows if not r.get("is_demo") or (demo_campaign and r.get("platform") not in real_platforms)
    ]


def learn_grids(
    history: Iterable[Mapping[str, Any]], timezone: str, policy: SchedulePolicy | None = None
) -> dict[str, PlatformGrid]:
    """Per platform, the weekday × hour grid of standardised engagement from plain history rows.

    Each row needs ``platform``, ``published_at`` (aware, or naive UTC) and ``engagement_rate``; an
    optional ``account`` (default: the platform) is the unit rates are standardised within.
    """
    policy = policy or SchedulePolicy()
    tz = ZoneInfo(timezone)
    per_account: dict[str, list[tuple[str, dt.datetime, float]]] = defaultdict(list)
    for row in history:
        rate = row.get("engagement_rate")
        when = as_utc(row.get("published_at"))
        platform = row.get("platform")
        if platform is None or when is None or rate is None:
            continue
        rate = float(rate)
        if math.isnan(rate) or math.isinf(rate):
            continue
        account = str(row.get("account") or platform)
        per_account[account].append((str(platform), when, rate))

    grids: dict[str, PlatformGrid] = {}
    for rows in per_account.values():
        rates = [r for _, _, r in rows]
        mean = sum(rates) / len(rates)
        sd = math.sqrt(sum((r - mean) ** 2 for r in rates) / len(rates))
        for platform, when, rate in rows:
            z = (rate - mean) / sd if sd > 0 else 0.0
            local = when.astimezone(tz)
            grid = grids.setdefault(platform, PlatformGrid(platform, 0, False))
            grid.posts += 1
            cell = grid.cells.setdefault((local.weekday(), local.hour), _Cell())
            cell.posts += 1
            cell.sum_z += z
            hour_cell = grid.hours.setdefault(local.hour, _Cell())
            hour_cell.posts += 1
            hour_cell.sum_z += z
    for grid in grids.values():
        grid.learned = grid.posts >= policy.min_history_posts
        if grid.learned:
            grid.note = (
                f"learned from {grid.posts} posts ({grid.learned_cells(policy)} weekday×hour cells with "
                "enough posts; thinner cells use the prior)"
            )
        else:
            grid.note = f"only {grid.posts} posts (< {policy.min_history_posts}): prior only"
    return grids


def local_instant(day: dt.date, hour: int, tz: ZoneInfo) -> dt.datetime | None:
    """``day`` at ``hour``:00 on the brand's wall clock, or None when that time does not exist (the hour
    skipped when clocks go forward). A repeated hour (clocks go back) gives its first occurrence."""
    naive = dt.datetime(day.year, day.month, day.day, hour)
    aware = naive.replace(tzinfo=tz)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return aware


def _prior_instants(platform: str, day: dt.date, tz: ZoneInfo, policy: SchedulePolicy) -> list[dt.datetime]:
    hours = policy.prior_slots.get(platform, ())
    out = []
    if policy.prior_clock == "local":
        for hour in hours:
            instant = local_instant(day, hour, tz)
            if instant is not None:
                out.append(instant)
        return out
    for offset in (-1, 0, 1):
        utc_day = day + dt.timedelta(days=offset)
        for hour in hours:
            local = dt.datetime(utc_day.year, utc_day.month, utc_day.day, hour, tzinfo=UTC).astimezone(tz)
            if local.date() == day:
                out.append(local)
    return out


def _is_prior(platform: str, local: dt.datetime, policy: SchedulePolicy) -> bool:
    hours = policy.prior_slots.get(platform, ())
    clock = local.astimezone(UTC) if policy.prior_clock == "utc" else local
    return clock.minute == 0 and clock.hour in hours


@dataclass(frozen=True)
class _Candidate:
    local: dt.datetime
    score: float
    learned: bool
    prior: bool

    @property
    def utc(self) -> dt.datetime:
        return self.local.astimezone(UTC)


def _candidates(
    platform: str, day: dt.date, tz: ZoneInfo, grid: PlatformGrid | None, policy: SchedulePolicy
) -> list[_Candidate]:
    instants = {i.astimezone(UTC): i for i in _prior_instants(platform, day, tz, policy)}
    for hour in policy.allowed_hours:
        instant = local_instant(day, hour, tz)
        if instant is not None:
            instants.setdefault(instant.astimezone(UTC), instant)
    out = []
    for local in instants.values():
        prior = _is_prior(platform, local, policy)
        mu = policy.prior_lift if prior else 0.0
        learned = bool(grid and grid.cell_learned(local.weekday(), local.hour, policy))
        score = grid.score(local.weekday(), local.hour, mu, policy) if (grid and learned) else mu
        out.append(_Candidate(local, score, learned, prior))
    out.sort(key=lambda c: (-c.score, c.utc))
    return out


def _main_pillar(item: ScheduleItem) -> bool:
    return item.is_pillar and item.variant_of is None


def _order_key(item: ScheduleItem) -> tuple:
    platform_rank = PLATFORMS.index(item.platform) if item.platform in PLATFORMS else len(PLATFORMS)
    return (platform_rank, item.variant_of or item.piece_id, item.variant_of is not None, item.piece_id)


def _rng(seed: str, piece_id: str) -> random.Random:
    return random.Random(int(hashlib.sha256(f"{seed}|{piece_id}".encode()).hexdigest()[:16], 16))


def _instant(value: Any) -> dt.datetime:
    """A slot's time as an aware UTC datetime (a datetime or an ISO 8601 string)."""
    when = as_utc(value)
    if when is None:
        raise ValueError(f"not a point in time: {value!r}")
    return when


def _day_rank(target: int, day: int) -> tuple[int, bool]:
    """Sort key: days nearest the target day first, a later day before an equally near earlier one."""
    return abs(day - target), day < target


def _pick(
    cands: Sequence[_Candidate],
    feasible: Callable[[_Candidate], bool],
    preference: Mapping[tuple[int, int], float] | None,
    policy: SchedulePolicy,
) -> tuple[_Candidate | None, bool]:
    """The first feasible candidate (``cands`` is ordered best first), or, when the piece has predicted
    performance per (weekday, hour), the best-predicted of the feasible candidates within
    ``policy.tie_margin`` of it (then the higher score, then the earlier time). Also whether the
    prediction changed the choice."""
    first = next((c for c in cands if feasible(c)), None)
    if first is None or not preference:
        return first, False
    ties = [c for c in cands if c.score >= first.score - policy.tie_margin and feasible(c)]

    def key(c: _Candidate) -> tuple[float, float, float]:
        predicted = preference.get((c.local.weekday(), c.local.hour), -math.inf)
        return (predicted, c.score, -c.utc.timestamp())

    best = max(ties, key=key)
    return best, best is not first


def build_schedule(
    items: Sequence[ScheduleItem],
    start_date: dt.date,
    duration_days: int,
    timezone: str,
    history: Iterable[Mapping[str, Any]] = (),
    policy: SchedulePolicy | None = None,
    seed: str = "",
    preferences: Mapping[str, Mapping[tuple[int, int], float]] | None = None,
    demo_campaign: bool = False,
) -> ScheduleResult:
    """A publish time for every item inside [start_date, start_date + duration_days) in ``timezone``.

    ``history`` is filtered by :func:`usable_history`: a real campaign (``demo_campaign`` False) never
    learns from simulated engagement, a demo campaign only where a platform has no real engagement.

    ``preferences``: per piece id, its predicted performance at (weekday, hour) on the brand's clock
    (weekday 0 = Monday); it breaks ties between slots within ``policy.tie_margin`` of the best."""
    policy = policy or SchedulePolicy()
    preferences = preferences or {}
    tz = ZoneInfo(timezone)
    given = list(history)
    history = usable_history(given, demo_campaign)
    grids = learn_grids(history, timezone, policy)
    days = [start_date + dt.timedelta(days=i) for i in range(duration_days)]
    window_start = dt.datetime.combine(start_date, dt.time(0), tzinfo=tz).astimezone(UTC)
    window_end = dt.datetime.combine(
        start_date + dt.timedelta(days=duration_days), dt.time(0), tzinfo=tz
    ).astimezone(UTC)

    placed: dict[str, list[dt.datetime]] = defaultdict(list)
    per_day: dict[tuple[str, dt.date], int] = defaultdict(int)
    # versions of one piece (the piece and its A/B variants) on one channel: never the same day
    family_days: dict[tuple[str, str], set[dt.date]] = defaultdict(set)
    slots: list[Slot] = []
    unscheduled: list[tuple[ScheduleItem, str]] = []
    pillar_at: dt.datetime | None = None

    def register(
        item: ScheduleItem,
        local: dt.datetime,
        source: str,
        score: float,
        explore: bool,
        fixed: bool,
        tie_break: bool = False,
    ):
        nonlocal pillar_at
        utc = local.astimezone(UTC)
        placed[item.platform].append(utc)
        per_day[(item.platform, local.date())] += 1
        family_days[(item.platform, item.variant_of or item.piece_id)].add(local.date())
        if item.is_pillar and item.variant_of is None and (pillar_at is None or utc < pillar_at):
            pillar_at = utc
        slots.append(
            Slot(
                item.piece_id,
                item.platform,
                item.content_type,
                utc,
                local,
                source,
                round(score, 4),
                explore,
                item.is_pillar,
                item.variant_of,
                fixed,
                tie_break,
            )
        )

    def reindex() -> None:
        """``placed``, ``per_day`` and ``family_days`` again from ``slots`` (after a slot is taken out)."""
        placed.clear()
        per_day.clear()
        family_days.clear()
        for s in slots:
            placed[s.platform].append(s.publish_at)
            per_day[(s.platform, s.local.date())] += 1
            family_days[(s.platform, s.variant_of or s.piece_id)].add(s.local.date())

    for item in items:
        if item.fixed_at is not None:
            register(
                item, _instant(item.fixed_at).astimezone(tz), item.fixed_source or "prior", 0.0, False, True
            )

    # a person's slots, the pillar's first, then in time order: each kept while the rules allow it among
    # what is already placed (the same check the desk makes), else placed again below with the reason kept
    manual = {i.piece_id: i for i in items if i.fixed_at is None and i.manual_at is not None}
    replaced: list[tuple[ScheduleItem, str]] = []
    for item in sorted(
        manual.values(), key=lambda i: (not _main_pillar(i), _instant(i.manual_at), i.piece_id)
    ):
        when = _instant(item.manual_at)
        slot = Slot(
            item.piece_id,
            item.platform,
            item.content_type,
            when,
            when.astimezone(tz),
            MANUAL,
            0.0,
            is_pillar=item.is_pillar,
            variant_of=item.variant_of,
        )
        why = slot_refusal(slot, slots, start_date, duration_days, timezone, policy)
        if why:
            replaced.append((item, why))
        else:
            register(item, slot.local, MANUAL, 0.0, False, False)
    kept = {s.piece_id for s in slots if s.slot_source == MANUAL and s.piece_id in manual}

    movable = [i for i in items if i.fixed_at is None and i.piece_id not in kept]
    pillars = sorted((i for i in movable if _main_pillar(i)), key=lambda i: i.piece_id)

    def spread(others: list[ScheduleItem]) -> dict[str, int]:
        by_platform: dict[str, list[ScheduleItem]] = defaultdict(list)
        for item in pillars + others:
            by_platform[item.platform].append(item)
        return {
            item.piece_id: min(duration_days - 1, (j * duration_days) // len(group))
            for group in by_platform.values()
            for j, item in enumerate(group)
        }

    def feasible(item: ScheduleItem, cand: _Candidate, before: dt.datetime | None = None) -> bool:
        utc = cand.utc
        if not (window_start <= utc < window_end):
            return False
        if before is not None and utc + dt.timedelta(hours=policy.pillar_lead_hours) > before:
            return False
        is_main_pillar = _main_pillar(item)
        if (
            not is_main_pillar
            and pillar_at is not None
            and utc < pillar_at + dt.timedelta(hours=policy.pillar_lead_hours)
        ):
            return False
        rule = policy.rule(item.platform)
        gap = dt.timedelta(hours=rule.min_gap_hours)
        if any(abs(utc - other) < gap for other in placed[item.platform]):
            return False
        if cand.local.date() in family_days[(item.platform, item.variant_of or item.piece_id)]:
            return False
        return per_day[(item.platform, cand.local.date())] < rule.daily_cap

    def place(item: ScheduleItem, target: int, before: dt.datetime | None = None) -> bool:
        """Put ``item`` at its best feasible slot nearest its target day (all before ``before``, when
        given); False when there is none."""
        grid = grids.get(item.platform)
        grid = grid if grid and grid.learned else None
        rng = _rng(seed, item.piece_id)
        explore = bool(grid) and not _main_pillar(item) and rng.random() < policy.exploration
        day_order = sorted(range(duration_days), key=functools.partial(_day_rank, target))
        ok = functools.partial(feasible, item, before=before)
        chosen: tuple[_Candidate, bool] | None = None
        tie_break = False
        # pass 1: good slots only (prior slots, learned cells scoring above the account's average);
        # pass 2: any allowed hour, so a crowded channel still fits when caps allow.
        for good_only in (True, False):
            for d in day_order:
                cands = _candidates(item.platform, days[d], tz, grid, policy)
                if explore and good_only:
                    thin = [
                        c
                        for c in cands
                        if not c.learned and c.local.hour in policy.allowed_hours and not c.prior
                    ]
                    rng.shuffle(thin)
                    pick = next((c for c in thin if ok(c)), None)
                    if pick is not None:
                        chosen = (pick, True)
                        break
                pool = [c for c in cands if c.score > 0] if good_only else cands
                pick, tie_break = _pick(pool, ok, preferences.get(item.piece_id), policy)
                if pick is not None:
                    chosen = (pick, False)
                    break
            if chosen:
                break
        if chosen is None:
            return False
        cand, explored = chosen
        source = "learned" if (cand.learned or explored) else "prior"
        register(item, cand.local, source, cand.score, explored, False, tie_break)
        return True

    def unplaced(item: ScheduleItem) -> None:
        unscheduled.append(
            (item, f"no {item.platform} slot left in the window (spacing/cap/pillar-first rules)")
        )

    rest = [i for i in movable if not _main_pillar(i)]
    targets = spread(sorted(rest, key=_order_key))
    for item in pillars:
        # the pillar goes before every kept manual slot when it can; else those slots give way to it
        first_manual = min(
            (s.publish_at for s in slots if s.piece_id in kept and not s.is_pillar), default=None
        )
        before = first_manual if pillar_at is None else None
        target = targets[item.piece_id]
        if not (place(item, target, before) or (before is not None and place(item, target))):
            unplaced(item)
    if pillar_at is not None:
        early = {
            s.piece_id for s in slots if s.piece_id in kept and not s.is_pillar and s.publish_at < pillar_at
        }
        for pid in sorted(early):
            kept.discard(pid)
            replaced.append((manual[pid], f"pillar first: {pid} would go out before the pillar post"))
            rest.append(manual[pid])
        if early:
            slots[:] = [s for s in slots if s.fixed or s.piece_id not in early]
            reindex()

    others = sorted(rest, key=_order_key)
    targets = spread(others)
    for item in others:
        if not place(item, targets[item.piece_id]):
            unplaced(item)

    notes = []
    if len(history) < len(given):
        why = "a real campaign" if not demo_campaign else "those platforms have real engagement"
        notes.append(f"{len(given) - len(history)} simulated (demo) history posts not used: {why}")
    if history and all(h.get("is_demo") for h in history):
        notes.append("DEMO: slots learned from simulated engagement only (no real engagement yet)")
    if not history:
        notes.append("no history: prior only")
    for platform in sorted({i.platform for i in items}):
        grid = grids.get(platform)
        notes.append(f"{platform}: {grid.note}" if grid else f"{platform}: no history: prior only")
    slots.sort(key=lambda s: (s.publish_at, s.piece_id))
    return ScheduleResult(slots, unscheduled, grids, notes, len(history), replaced)


def rule_violations(slots: Sequence[Slot], policy: SchedulePolicy | None = None) -> list[dict[str, str]]:
    """Spacing, daily caps and pillar-first, checked on a finished schedule (fixed slots included)."""
    policy = policy or SchedulePolicy()
    problems: list[dict[str, str]] = []
    by_platform: dict[str, list[Slot]] = defaultdict(list)
    for slot in slots:
        by_platform[slot.platform].append(slot)
    for platform, group in by_platform.items():
        rule = policy.rule(platform)
        group = sorted(group, key=lambda s: s.publish_at)
        for a, b in itertools.pairwise(group):
            gap = (b.publish_at - a.publish_at).total_seconds() / 3600
            if gap < rule.min_gap_hours and not (a.fixed and b.fixed):
                problems.append(
                    {
                        "piece": b.piece_id,
                        "problem": f"{gap:.1f}h after {a.piece_id} (< {rule.min_gap_hours}h)",
                    }
                )
        counts: dict[dt.date, int] = defaultdict(int)
        for slot in group:
            counts[slot.local.date()] += 1
        for day, n in counts.items():
            if n > rule.daily_cap:
                problems.append({"piece": platform, "problem": f"{n} posts on {day} (cap {rule.daily_cap})"})
        versions: dict[tuple[str, dt.date], list[str]] = defaultdict(list)
        for slot in group:
            versions[(slot.variant_of or slot.piece_id, slot.local.date())].append(slot.piece_id)
        for (family, day), ids in versions.items():
            if len(ids) > 1 and not all(s.fixed for s in group if s.piece_id in ids):
                problems.append(
                    {
                        "piece": family,
                        "problem": f"{len(ids)} versions on {platform} on {day} (A/B: one a day)",
                    }
                )
    pillars = [s for s in slots if s.is_pillar and s.variant_of is None]
    if pillars:
        first = min(p.publish_at for p in pillars)
        for slot in slots:
            if not slot.is_pillar and slot.publish_at < first and not slot.fixed:
                problems.append({"piece": slot.piece_id, "problem": "scheduled before the pillar post"})
    return problems


def calendar_markdown(slots: Sequence[Slot], limit_days: int = 60) -> str:
    """A day × platform table of local times (L = learned, P = prior, E = exploration, M = moved by a
    person, * = already out)."""
    if not slots:
        return "_(nothing scheduled)_"
    platforms = [p for p in PLATFORMS if any(s.platform == p for s in slots)]
    platforms += sorted({s.platform for s in slots} - set(platforms))
    by_day: dict[dt.date, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for slot in sorted(slots, key=lambda s: s.publish_at):
        mark = "E" if slot.exploration else {"learned": "L", MANUAL: "M"}.get(slot.slot_source, "P")
        label = (
            f"{slot.local:%H:%M} {slot.content_type or ''}".strip() + f" ({mark}{'*' if slot.fixed else ''})"
        )
        by_day[slot.local.date()][slot.platform].append(label)
    lines = ["| day | " + " | ".join(platforms) + " |", "|---|" + "---|" * len(platforms)]
    for day in sorted(by_day)[:limit_days]:
        cells = ["<br>".join(by_day[day].get(p, [])) for p in platforms]
        lines.append(f"| {day:%a %d %b} | " + " | ".join(cells) + " |")
    tz_name = slots[0].local.tzname() or ""
    lines.append(
        f"\n_local times ({tz_name} at the first slot); L learned, P prior, E exploration, M moved by a person, * already out_"
    )
    return "\n".join(lines)


def slot_refusal(
    moving: Slot,
    others: Sequence[Slot],
    start_date: dt.date,
    duration_days: int,
    timezone: str,
    policy: SchedulePolicy | None = None,
) -> str | None:
    """Why ``moving`` (a piece moved by hand to ``moving.publish_at``) breaks the scheduler's rules, or
    None when the slot is allowed: inside the campaign window, on an allowed hour of the brand's clock (or
    a prior slot), and no new spacing, daily-cap, A/B-day or pillar-first problem among ``others`` (the
    campaign's other slots on every channel) as :func:`rule_violations` sees them."""
    policy = policy or SchedulePolicy()
    tz = ZoneInfo(timezone)
    when = _instant(moving.publish_at)
    local = when.astimezone(tz)
    window_start = dt.datetime.combine(start_date, dt.time(0), tzinfo=tz).astimezone(UTC)
    window_end = dt.datetime.combine(
        start_date + dt.timedelta(days=duration_days), dt.time(0), tzinfo=tz
    ).astimezone(UTC)
    if not window_start <= when < window_end:
        last = start_date + dt.timedelta(days=duration_days - 1)
        return f"window: {local:%Y-%m-%d %H:%M} is outside the campaign window ({start_date} to {last})"
    on_hour = local.minute == 0 and local_instant(local.date(), local.hour, tz) is not None
    if not (on_hour and local.hour in policy.allowed_hours) and not _is_prior(moving.platform, local, policy):
        hours = f"{min(policy.allowed_hours):02d}:00-{max(policy.allowed_hours):02d}:00"
        return f"allowed hours: {local:%H:%M} is not a slot (whole hours {hours} on the brand's clock)"
    rest = [s for s in others if s.piece_id != moving.piece_id]
    moved = Slot(**{**moving.__dict__, "publish_at": when, "local": local})
    before = {(p["piece"], p["problem"]) for p in rule_violations(rest, policy)}
    new = [p for p in rule_violations([*rest, moved], policy) if (p["piece"], p["problem"]) not in before]
    if not new:
        return None
    rule = policy.rule(moving.platform)
    problem = new[0]["problem"]
    if "cap" in problem:
        return f"daily cap: {moving.platform} allows {rule.daily_cap} a day ({problem})"
    if "versions" in problem:
        return f"A/B: one version of a piece a day per channel ({problem})"
    if "pillar" in problem:
        return f"pillar first: {new[0]['piece']} would go out before the pillar post"
    return f"spacing: {moving.platform} needs {rule.min_gap_hours:g}h between posts ({new[0]['piece']} {problem})"
