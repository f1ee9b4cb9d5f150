"""Conversions (orders, sign-ups, key events) imported from shop, payment and analytics exports,
attributed to the pieces whose UTM-tagged links brought them, and campaign goals measured against them.
See docs/attribution.md."""
