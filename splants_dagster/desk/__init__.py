"""The marketer's desk: a server-rendered web app (``splants desk``) over the same warehouse and domain code
as the assets. Web layer only: every rule it applies is a call into its domain module (docs/desk.md)."""
