"""The self-service portal (/portal/): any logged-in user's own teams, keys, spend, models and playground."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.core.errors import GatewayError
from apps.portal import selectors
from apps.portal.forms import KeyForm, PlaygroundForm
from apps.portal.keys import portal_key_generate, portal_key_revoke


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """My teams, my keys, my spend."""
    page = selectors.my_keys_page(request.user, after=(request.GET.get("after") or "")[:20])  # type: ignore[arg-type]
    keys = [(key, selectors.key_status(key)) for key in page.keys]
    return render(request, "portal/home.html", {
        "memberships": selectors.my_memberships(request.user), "keys": keys, "page": page,  # type: ignore[arg-type]
        "spend": selectors.my_spend(request.user)})  # type: ignore[arg-type]


@login_required
def key_new(request: HttpRequest) -> HttpResponse:
    """The new-key form; a made key's secret is shown on this one answer and never again."""
    form = KeyForm(request.POST or None, user=request.user)  # type: ignore[arg-type]
    if request.method == "POST" and form.is_valid():
        try:
            issued = portal_key_generate(user=request.user, team=form.chosen_team(),  # type: ignore[arg-type]
                                         alias=form.cleaned_data["key_alias"], models=form.cleaned_data["models"],
                                         max_budget=form.cleaned_data["max_budget"],
                                         duration=form.cleaned_data["duration"])
        except GatewayError as error:
            form.add_error(error.param if error.param in form.fields else None, error.message)
        else:
            return render(request, "portal/key_created.html", {"issued": issued})
    return render(request, "portal/key_new.html", {"form": form})


@login_required
@require_POST
def key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    """Revoke (delete) one of my keys."""
    key = get_object_or_404(selectors.my_keys(request.user), pk=key_id)  # type: ignore[arg-type]
    portal_key_revoke(user=request.user, key=key)  # type: ignore[arg-type]
    messages.success(request, f"Key {key.key_alias or key.key_name} revoked.")
    return redirect("portal:home")


@login_required
def models(request: HttpRequest) -> HttpResponse:
    """The models I may use, with their prices."""
    return render(request, "portal/models.html", {"models": selectors.my_models(request.user)})  # type: ignore[arg-type]


@login_required
def playground(request: HttpRequest) -> HttpResponse:
    """A chat box that streams from /v1/chat/completions in the browser, with one of my keys."""
    form = PlaygroundForm(user=request.user)  # type: ignore[arg-type]
    return render(request, "portal/playground.html", {"form": form})
