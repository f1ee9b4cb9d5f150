"""A labelled corpus for the truth checks: drafts across platforms for the demo brief (whose ``facts``
are the only statements copy may rely on), each labelled with the checks that must flag it.

``flags`` names the checks among ``factual``, ``legal``, ``uniqueness`` and ``substance`` that must fail
the draft; an empty set marks a clean draft that states only approved facts and must pass all four.
``EARLIER`` holds earlier campaigns' pieces: drafts that recycle their wording are boilerplate across
campaigns, but restating the brand's approved facts and the required e-mail footer word for word is not.
"""

from __future__ import annotations

LINK = "https://hearthandbean.example/pods"
CTA = f"Pre-order the starter pack: {LINK}"
TRUTH_CHECKS = ("factual", "legal", "uniqueness", "substance")

EARLIER = {
    "winter-blend:blog:blog": (
        "Winter blend is back at Hearth & Bean. Warm notes of cocoa and orange peel come through in every cup, "
        "and the beans are roasted in small batches so they reach you soon after roasting. Grab a bag before "
        "the cold snap and tell us how you brew it at home this season, whether you use a cafetiere, a moka "
        "pot or a pour-over cone on a slow Sunday morning."
    ),
    # the second demo campaign's e-mail: brand facts and the legally required footer, verbatim
    "origin-club-subscription:email:email": (
        "Hi there,\n\nEach month brings one single-origin coffee in a 250 g bag.\n\nHearth & Bean roasts every "
        "batch at its roastery in Leeds. Hearth & Bean buys its green coffee directly from the farms it names. "
        "UK delivery is free on orders over £25.\n\nJoin the Origin Club: https://hearthandbean.example/origin-"
        "club\n\nYou are receiving this email because you subscribed at hearthandbean.example. Unsubscribe any "
        "time: https://hearthandbean.example/unsubscribe. Hearth & Bean, 12 Mill Lane, Leeds LS1 4AB, UK."
    ),
}
REUSED = (
    "Warm notes of cocoa and orange peel come through in every cup, and the beans are roasted in small "
    "batches so they reach you soon after roasting."
)


def d(id_: str, platform: str, ctype: str, body: str, *flags: str) -> dict:
    return {"id": id_, "platform": platform, "content_type": ctype, "body": body, "flags": set(flags)}


DRAFTS: list[dict] = [
    # ------------------------------------------------------------------ clean: only approved facts
    d(
        "clean-tweet-pack",
        "twitter",
        "social_post",
        f"The Hearth & Bean starter pack holds 30 compostable coffee pods and costs £12. {CTA}",
    ),
    d(
        "clean-tweet-machines",
        "twitter",
        "social_post",
        f"Our compostable coffee pods fit Nespresso Original machines, and the used pods go in a home compost "
        f"bin. {CTA}",
    ),
    d(
        "clean-tweet-origin",
        "twitter",
        "ad_copy",
        f"Single-origin Arabica from the Huila region of Colombia, in compostable coffee pods. {CTA}",
    ),
    d(
        "clean-linkedin-refill",
        "linkedin",
        "social_post",
        "Busy mornings and a pod machine at home? With Hearth & Bean, a refill box of 30 compostable coffee "
        "pods follows every four weeks, and you can pause or cancel online at any time. The pods and their "
        f"paper outer box go in a home compost bin or a food-waste caddy. {CTA}",
    ),
    d(
        "clean-linkedin-cert",
        "linkedin",
        "ad_copy",
        "Hearth & Bean compostable coffee pods are certified home compostable (TÜV AUSTRIA OK compost HOME) "
        f"and fit Nespresso Original machines. {CTA}",
    ),
    d(
        "clean-instagram-origin",
        "instagram",
        "social_post",
        "Specialty coffee from the Huila region of Colombia, single-origin Arabica, in home compostable "
        f"coffee pods from Hearth & Bean. The pods go in your food-waste caddy after brewing. {CTA}",
    ),
    d(
        "clean-instagram-ad",
        "instagram",
        "ad_copy",
        "30 compostable coffee pods for £12 in the Hearth & Bean starter pack, certified home compostable "
        f"(TÜV AUSTRIA OK compost HOME). {CTA}",
    ),
    d(
        "clean-facebook-ship",
        "facebook",
        "social_post",
        "Pre-orders of the Hearth & Bean starter pack ship from Leeds in the week of the launch. The pack "
        f"holds 30 compostable coffee pods that fit Nespresso Original machines. {CTA}",
    ),
    d(
        "clean-facebook-refill",
        "facebook",
        "ad_copy",
        "Less pod waste for home coffee drinkers: Hearth & Bean compostable coffee pods and their paper outer "
        f"box go in a home compost bin. A refill box of 30 pods follows every four weeks. {CTA}",
    ),
    d(
        "clean-email",
        "email",
        "email",
        "Hi there,\n\nOur compostable coffee pods are ready for pre-order. The starter pack holds 30 pods and "
        "costs £12, and the pods fit Nespresso Original machines.\n\nThe coffee is a single-origin Arabica from "
        "the Huila region of Colombia. After brewing, the pods and their paper outer box go in a home compost "
        "bin or a food-waste caddy.\n\nA refill box of 30 pods follows every four weeks, and you can pause or "
        f"cancel online at any time.\n\n{CTA}\n\nYou are receiving this email because you subscribed at "
        "hearthandbean.example. Unsubscribe any time: https://hearthandbean.example/unsubscribe. Hearth & "
        "Bean, 12 Mill Lane, Leeds LS1 4AB, UK.",
    ),
    d(
        "clean-email-brand-facts",
        "email",
        "email",
        "Hi there,\n\nThe starter pack holds 30 pods and costs £12.\n\nHearth & Bean roasts every batch at its "
        "roastery in Leeds. Hearth & Bean buys its green coffee directly from the farms it names. UK delivery "
        f"is free on orders over £25.\n\n{CTA}\n\nYou are receiving this email because you subscribed at "
        "hearthandbean.example. Unsubscribe any time: https://hearthandbean.example/unsubscribe. Hearth & "
        "Bean, 12 Mill Lane, Leeds LS1 4AB, UK.",
    ),
    d(
        "clean-blog",
        "blog",
        "blog",
        "## What is in the starter pack\n\nThe Hearth & Bean starter pack holds 30 compostable coffee pods "
        "and costs £12. The pods fit Nespresso Original machines.\n\n## Where the coffee comes from\n\nThe "
        "coffee is a single-origin Arabica from the Huila region of Colombia.\n\n## What to do with a used "
        "pod\n\nThe pods are certified home compostable (TÜV AUSTRIA OK compost HOME). The pods and their "
        "paper outer box go in a home compost bin or a food-waste caddy.\n\n## Refills\n\nA refill box of 30 "
        "pods follows every four weeks, and you can pause or cancel online at any time. Pre-orders ship from "
        f"Leeds in the week of the launch.\n\n{CTA}",
    ),
    d(
        "clean-twitter-audience",
        "twitter",
        "social_post",
        f"Use a pod machine and want less packaging waste? Hearth & Bean compostable coffee pods go in a home "
        f"compost bin. {CTA}",
    ),
    # ------------------------------------------------------------------ factual untruths
    d(
        "competitor-discount",
        "facebook",
        "ad_copy",
        f"Hearth & Bean compostable coffee pods: save 15% on every delivery. {CTA}",
        "factual",
    ),
    d(
        "small-number-words",
        "twitter",
        "social_post",
        f"Fresh compostable coffee pods from Hearth & Bean arrive every seven days. {CTA}",
        "factual",
    ),
    d(
        "small-number-digits",
        "instagram",
        "social_post",
        f"Hearth & Bean compostable coffee pods break down in 6 weeks in a home compost bin. {CTA}",
        "factual",
    ),
    d(
        "unsupported-percent",
        "linkedin",
        "social_post",
        f"73% of pod machine owners want compostable coffee pods, so Hearth & Bean made them. {CTA}",
        "factual",
    ),
    d(
        "wrong-price",
        "facebook",
        "ad_copy",
        f"The Hearth & Bean starter pack of compostable coffee pods costs only £9.99. {CTA}",
        "factual",
    ),
    d(
        "wrong-count",
        "instagram",
        "ad_copy",
        f"The Hearth & Bean starter pack holds 40 compostable coffee pods. {CTA}",
        "factual",
    ),
    d(
        "duration-hours",
        "twitter",
        "ad_copy",
        f"Hearth & Bean roasts and seals its compostable coffee pods within 48 hours. {CTA}",
        "factual",
    ),
    d(
        "comparison-lighter",
        "linkedin",
        "ad_copy",
        f"Hearth & Bean compostable coffee pods are lighter than aluminium pods and fit Nespresso Original "
        f"machines. {CTA}",
        "factual",
    ),
    d(
        "comparison-faster",
        "facebook",
        "social_post",
        f"Our compostable coffee pods brew faster and taste fresher, and they fit Nespresso Original machines. "
        f"{CTA}",
        "factual",
    ),
    d(
        "superlative-best",
        "twitter",
        "social_post",
        f"The best compostable coffee pods for your pod machine, from Hearth & Bean. {CTA}",
        "factual",
    ),
    d(
        "superlative-only",
        "instagram",
        "social_post",
        f"Hearth & Bean makes the only compostable coffee pods that fit Nespresso Original machines. {CTA}",
        "factual",
    ),
    d(
        "superlative-first",
        "linkedin",
        "social_post",
        f"Hearth & Bean is the first roaster in Leeds with compostable coffee pods. {CTA}",
        "factual",
    ),
    d(
        "certification-invented",
        "facebook",
        "ad_copy",
        f"Our compostable coffee pods are certified by the Soil Association and fit Nespresso Original "
        f"machines. {CTA}",
        "factual",
    ),
    d(
        "social-proof-join",
        "twitter",
        "ad_copy",
        f"Join 50,000 coffee lovers who switched to Hearth & Bean compostable coffee pods. {CTA}",
        "factual",
    ),
    d(
        "social-proof-loved",
        "instagram",
        "social_post",
        f"Compostable coffee pods loved by coffee drinkers across Leeds, from Hearth & Bean. {CTA}",
        "factual",
    ),
    d(
        "testimony-quote",
        "facebook",
        "social_post",
        '"These are the best pods I have ever brewed, and my compost heap loves them" says Sarah from York. '
        f"Hearth & Bean compostable coffee pods fit Nespresso Original machines. {CTA}",
        "factual",
    ),
    d(
        "testimony-tell-us",
        "linkedin",
        "social_post",
        f"Customers tell us our compostable coffee pods changed their mornings. Hearth & Bean pods fit "
        f"Nespresso Original machines. {CTA}",
        "factual",
    ),
    d(
        "testimony-we-hear",
        "email",
        "email",
        "Hi there,\n\nWe often hear that pod coffee feels wasteful. Hearth & Bean compostable coffee pods go "
        "in a home compost bin, and the starter pack holds 30 pods for £12.\n\n"
        f"{CTA}\n\nUnsubscribe any time: https://hearthandbean.example/unsubscribe. Hearth & Bean, 12 Mill "
        "Lane, Leeds LS1 4AB, UK.",
        "factual",
    ),
    d(
        "experience-claim",
        "blog",
        "blog",
        "## Why we made compostable coffee pods\n\nWe see this pattern again and again: people love their pod "
        "machine but hate the waste. Hearth & Bean compostable coffee pods fit Nespresso Original machines "
        "and go in a home compost bin.\n\n## The starter pack\n\nThe starter pack holds 30 pods and costs "
        f"£12.\n\n## Order\n\n{CTA}",
        "factual",
    ),
    d(
        "research-appeal",
        "linkedin",
        "ad_copy",
        f"Studies show compostable coffee pods taste as good as aluminium ones. Try Hearth & Bean. {CTA}",
        "factual",
    ),
    # ------------------------------------------------------------------ legal (and factual) untruths
    d(
        "health-immune",
        "instagram",
        "social_post",
        f"Hearth & Bean Huila Arabica in compostable coffee pods boosts your immune system. {CTA}",
        "legal",
    ),
    d(
        "health-headache",
        "facebook",
        "social_post",
        f"A cup from our compostable coffee pods cures your morning headache. Hearth & Bean. {CTA}",
        "legal",
    ),
    d(
        "health-detox",
        "twitter",
        "social_post",
        f"Detox your mornings with Hearth & Bean compostable coffee pods from Colombia. {CTA}",
        "legal",
    ),
    d(
        "uk-best-subscription",
        "twitter",
        "ad_copy",
        f"Hearth & Bean: the UK's best coffee subscription, in compostable coffee pods. {CTA}",
        "legal",
        "factual",
    ),
    d(
        "award-winning",
        "linkedin",
        "ad_copy",
        f"Award-winning compostable coffee pods from Hearth & Bean, single-origin Arabica from Huila. {CTA}",
        "legal",
        "factual",
    ),
    d(
        "scarcity-boxes",
        "instagram",
        "ad_copy",
        f"Only 12 boxes left! Hearth & Bean compostable coffee pods, 30 pods for £12. {CTA}",
        "legal",
        "factual",
    ),
    d(
        "scarcity-starter-packs",
        "linkedin",
        "ad_copy",
        f"Hearth & Bean compostable coffee pods: only 50 starter packs left, so order today. {CTA}",
        "legal",
        "factual",
    ),
    d(
        "urgency-tonight",
        "facebook",
        "ad_copy",
        f"Pre-orders of Hearth & Bean compostable coffee pods end tonight, last chance! {CTA}",
        "legal",
        "factual",
    ),
    d(
        "env-carbon-neutral",
        "linkedin",
        "social_post",
        f"Hearth & Bean compostable coffee pods are carbon neutral and fit Nespresso Original machines. {CTA}",
        "legal",
    ),
    d(
        "env-zero-waste",
        "twitter",
        "social_post",
        f"Zero waste coffee at home: Hearth & Bean compostable coffee pods for your pod machine. {CTA}",
        "legal",
    ),
    d(
        "financial-risk-free",
        "facebook",
        "ad_copy",
        f"Try Hearth & Bean compostable coffee pods risk-free: 30 pods for £12. {CTA}",
        "legal",
    ),
    d(
        "endorsement-doctors",
        "instagram",
        "ad_copy",
        f"Recommended by doctors: Hearth & Bean compostable coffee pods from Huila, Colombia. {CTA}",
        "legal",
        "factual",
    ),
    # ------------------------------------------------------------------ stock filler
    d(
        "filler-linkedin",
        "linkedin",
        "social_post",
        "In today's fast-paced world, we've got you covered. It's time to take your mornings to the next "
        "level. When it comes to great taste, look no further. Elevate your routine like never before. "
        f"{CTA}",
        "substance",
    ),
    d(
        "filler-facebook",
        "facebook",
        "social_post",
        "Here's the thing: you deserve the best. We're passionate about what we do, and it shows. The "
        "possibilities are endless when you make the switch. Stay tuned for so much more. Hearth & Bean. "
        f"{CTA}",
        "substance",
        "factual",
    ),
    d(
        "filler-email",
        "email",
        "email",
        "Hi there,\n\nHave you ever wondered what makes a morning great? We all know the feeling. It's no "
        "secret that a great cup makes all the difference.\n\nAt the end of the day, it's about quality you "
        "can trust. Simply put, something for everyone.\n\n"
        f"{CTA}\n\nUnsubscribe any time: https://hearthandbean.example/unsubscribe. Hearth & Bean, 12 Mill "
        "Lane, Leeds LS1 4AB, UK.",
        "substance",
    ),
    d(
        "filler-blog",
        "blog",
        "blog",
        "## Welcome\n\nWithout further ado, let's dive in. In today's busy world, we all know that mornings "
        "matter. Here's the thing: it's never been easier to enjoy something special.\n\n## Why it matters\n\n"
        "It goes without saying that quality matters. Simply put, we're passionate about what we do. Think "
        f"about it.\n\n## Ready?\n\nWhat are you waiting for? {CTA}",
        "substance",
    ),
    # ------------------------------------------------------------------ boilerplate from earlier campaigns
    d(
        "reuse-instagram",
        "instagram",
        "social_post",
        f"{REUSED} Hearth & Bean compostable coffee pods. {CTA}",
        "uniqueness",
    ),
    d(
        "reuse-facebook",
        "facebook",
        "social_post",
        f"Compostable coffee pods from Hearth & Bean. {REUSED} {CTA}",
        "uniqueness",
    ),
    d(
        "reuse-linkedin",
        "linkedin",
        "ad_copy",
        f"{REUSED} The Hearth & Bean starter pack holds 30 compostable coffee pods. {CTA}",
        "uniqueness",
    ),
]
