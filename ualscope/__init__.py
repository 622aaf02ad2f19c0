"""ualscope: a terminal explorer for Microsoft 365 / Exchange Online mailbox audit evidence."""

__version__ = "0.1.0"
