"""Learning what works: which pre-publication features of past posts went with higher relative engagement
(or conversion), each with its effect size, confidence interval, sample sizes and whether it is supported;
and the supported insights as guidance for the next campaign's prompts and the offline writer's choices.

Pure Python (no Dagster): ``features`` (the levels of each feature a post has), ``analysis`` (the tests),
``guidance`` (what a campaign may use, and how), ``data`` (the warehouse reads). See docs/insights.md.
"""
