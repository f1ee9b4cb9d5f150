"""Running code and tests with the system clock moved (Debian's ``faketime``): a year ahead and on the
brand's DST-change days. See ``docs/time.md``."""
