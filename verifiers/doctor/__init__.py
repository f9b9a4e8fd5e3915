"""`restoreproof doctor`: what this machine can verify, and why not where it cannot (command.py). Its parser
(parser.py) is light: `restoreproof --help` builds it."""
