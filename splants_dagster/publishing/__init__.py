"""Publishing: pure clients per platform (outbox, WordPress, X, LinkedIn, Mailchimp, HubSpot, webhooks)
and the exactly-once state machine. No Dagster imports; ``defs/publishing`` wires them in.
See docs/publishing.md."""
