"""The web side's cast: alice runs team search, bob is a member there, mallory is in team ads, root is staff."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from decimal import Decimal

import pytest
from django.test import Client

from apps.routing.models import Deployment
from apps.teams import services
from apps.teams.models import Team, User, VirtualKey

PASSWORD = "correct-horse-battery"


@dataclass(frozen=True)
class WebCast:
    root: User
    alice: User
    bob: User
    mallory: User
    search: Team
    ads: Team
    bob_key: VirtualKey
    mallory_key: VirtualKey

    def client_for(self, user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client


def person(name: str, **fields: object) -> User:
    user, _ = services.user_new(user_id=name, fields={"email": f"{name}@example.com", **fields}, password=PASSWORD)
    return user


@pytest.fixture
def web_cast(db: None) -> WebCast:
    """Two teams with a model each (and a shared one), a member's key in each, a superuser."""
    for name, provider_model in (("gpt-4o-mini", "gpt-4o-mini"), ("ads-model", "ads-model"),
                                 ("search-model", "search-model")):
        Deployment.objects.create(model_name=name, provider="mock", provider_model=provider_model,
                                  input_cost_per_token=Decimal("0.000001"), output_cost_per_token=Decimal("0.000002"))
    root = User.objects.create_superuser(username="root", email="root@example.com", password=PASSWORD,
                                         user_role=User.Role.PROXY_ADMIN)
    alice, bob, mallory = person("alice"), person("bob"), person("mallory")
    search = services.team_new(team_id="search", fields={"team_alias": "Search", "max_budget": Decimal("50"),
                                                         "allowed_models": ["gpt-4o-mini", "search-model"]},
                               members=[(alice, "admin"), (bob, "user")])
    ads = services.team_new(team_id="ads", fields={"team_alias": "Ads", "allowed_models": ["ads-model"]},
                            members=[(mallory, "admin")])
    bob_key = services.key_generate(fields={"user": bob, "team": search, "key_alias": "bob-search",
                                            "spend": Decimal("1.5"), "max_budget": Decimal("10")}).key
    mallory_key = services.key_generate(fields={"user": mallory, "team": ads, "key_alias": "mallory-ads",
                                                "spend": Decimal("7.25")}).key
    return WebCast(root=root, alice=alice, bob=bob, mallory=mallory, search=search, ads=ads, bob_key=bob_key,
                   mallory_key=mallory_key)


def form_as_posted(page: Any) -> dict[str, Any]:
    """What a browser posts back unchanged from an admin change page (its form and inline formsets)."""
    forms = [page.context["adminform"].form]
    for inline in page.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data: dict[str, Any] = {}
    for form in forms:
        for name, field in form.fields.items():
            if field.disabled:
                continue
            key, value = form.add_prefix(name), form[name].value()
            if hasattr(field.widget, "decompress"):  # split date and time
                for n, part in enumerate(field.widget.decompress(value)):
                    data[f"{key}_{n}"] = "" if part is None else part
            elif isinstance(value, list | tuple):
                data[key] = [str(v) for v in value]
            elif isinstance(value, bool):
                if value:
                    data[key] = "on"
            else:
                data[key] = "" if value is None else value
    return data
