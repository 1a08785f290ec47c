"""The portal's forms: a new key within the user's teams, and the playground."""
from __future__ import annotations

from typing import Any

from django import forms

from apps.portal.selectors import my_memberships, my_models
from apps.teams.models import Team, User

DURATIONS = [("1d", "1 day"), ("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days"), ("", "never expires")]


class KeyForm(forms.Form):
    team = forms.ChoiceField(required=False, help_text="The team the key spends for; its limits apply.")
    key_alias = forms.CharField(required=False, max_length=200, help_text="A name to find the key by.")
    models = forms.MultipleChoiceField(required=False, widget=forms.SelectMultiple(attrs={"size": 5}),
                                       help_text="None selected: every model the team may use.")
    max_budget = forms.DecimalField(required=False, min_value=0, decimal_places=4, max_digits=20,
                                    help_text="USD; empty: only the team's and your budgets apply.")
    duration = forms.ChoiceField(choices=DURATIONS, initial="30d", required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.teams = {m.team.team_id: m.team for m in my_memberships(user)}
        team_choices = [("", "(no team)")] + [(t.team_id, t.team_alias or t.team_id) for t in self.teams.values()]
        self.fields["team"].choices = team_choices  # type: ignore[attr-defined]
        if self.teams:
            self.fields["team"].initial = next(iter(self.teams))
        self.fields["models"].choices = [(m.name, m.name) for m in my_models(user)]  # type: ignore[attr-defined]

    def chosen_team(self) -> Team | None:
        return self.teams.get(self.cleaned_data.get("team") or "")


class PlaygroundForm(forms.Form):
    model = forms.ChoiceField()
    prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), initial="Say hello in five words.")

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [(m.name, m.name) for m in my_models(user)]  # type: ignore[attr-defined]
