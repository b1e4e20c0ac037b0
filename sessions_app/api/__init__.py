"""/api/v1/: the JSON API for automation (django-ninja). A personal token acts as its user.

Views here are as thin as the pages': load + role check (access.py), one service call, a schema out.
Errors are `{"error": sentence, "field": name-or-null}` (errors.py).
"""
