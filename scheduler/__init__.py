"""lichnhac: calendar feeds and email reminders for gender-equality work plans."""

__version__ = "0.1.0"
