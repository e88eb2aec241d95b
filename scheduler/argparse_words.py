"""argparse's own user-facing words, listed so that `make messages` extracts them into our
catalog (scheduler.i18n.install_argparse points argparse at it). The msgids are argparse's
(Python 3.11+), %-placeholders included; argparse formats them itself."""

from __future__ import annotations

from scheduler.i18n import _

ARGPARSE_WORDS = (
    _("usage: "),
    _("positional arguments"),
    _("options"),
    _("show this help message and exit"),
    _("show program's version number and exit"),
    _("%(prog)s: error: %(message)s\n"),
    _("argument %(argument_name)s: %(message)s"),
    _("the following arguments are required: %s"),
    _("one of the arguments %s is required"),
    _("unrecognized arguments: %s"),
    _("invalid choice: %(value)r (choose from %(choices)s)"),
    _("invalid %(type)s value: %(value)r"),
    _("expected one argument"),
    _("expected at most one argument"),
    _("expected at least one argument"),
    _("ambiguous option: %(option)s could match %(matches)s"),
    _("not allowed with argument %s"),
    _("ignored explicit argument %r"),
    _("can't open '%(filename)s': %(error)s"),
)
