"""`manage.py ensure_admin`: create the first admin login from the env, or generate one and print it once."""
from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from apps.core.env import admin_credentials


class Command(BaseCommand):
    help = "Create the first admin login if none exists."

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()
        username, password = admin_credentials()
        if users.objects.filter(is_superuser=True).exists():
            if username and password:
                user = users.objects.filter(username=username, is_superuser=True).first()
                if user is not None and not user.check_password(password):
                    user.set_password(password)
                    user.save(update_fields=["password"])
            return
        generated = password is None
        password = password or secrets.token_urlsafe(16)
        users.objects.create_superuser(username=username or "admin", email="", password=password,
                                       user_role="proxy_admin")
        if generated:
            self.stdout.write(f"Created admin login: user '{username or 'admin'}', password '{password}' "
                              "(shown once; set TOLLGATE_ADMIN_PASSWORD to choose it)")
        else:
            self.stdout.write(f"Created admin login '{username or 'admin'}' from the environment")
