"""Who may call Podium: users with hashed passwords and roles, the credential check and lockout.

The APIs' basic auth (`webapp/http/auth.py`) and the pages' login (`webapp/pages/access.py`) are
adapters over `UserStore.authenticate`.
"""
