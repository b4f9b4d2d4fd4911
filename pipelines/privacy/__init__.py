"""Who may see what: roles and the pages they open, local accounts, statistical secrecy."""
