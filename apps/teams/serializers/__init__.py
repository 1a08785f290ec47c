"""Management API request bodies with LiteLLM's field names: every field of its request model, nothing else."""
from __future__ import annotations

from apps.teams.serializers.budgets import (BudgetDeleteSerializer, BudgetInfoSerializer, BudgetNewSerializer,
                                            BudgetUpdateSerializer, EndUserIdsSerializer, EndUserNewSerializer,
                                            EndUserUpdateSerializer)
from apps.teams.serializers.fields import SpendQuerySerializer, StrictSerializer, columns
from apps.teams.serializers.keys import (KeyDeleteSerializer, KeyGenerateSerializer, KeyListSerializer,
                                         KeyRefSerializer, KeyRegenerateSerializer, KeyUpdateSerializer)
from apps.teams.serializers.teams import (TeamDeleteSerializer, TeamIdSerializer, TeamListSerializer,
                                          TeamMemberAddSerializer, TeamMemberDeleteSerializer,
                                          TeamMemberUpdateSerializer, TeamModelsSerializer, TeamNewSerializer,
                                          TeamUpdateSerializer)
from apps.teams.serializers.users import (OrganizationDeleteSerializer, OrganizationListSerializer,
                                          OrganizationMemberAddSerializer, OrganizationMemberDeleteSerializer,
                                          OrganizationMemberUpdateSerializer, OrganizationNewSerializer,
                                          OrganizationUpdateSerializer, UserDeleteSerializer, UserListSerializer,
                                          UserNewSerializer, UserUpdateSerializer)

__all__ = [
    "BudgetDeleteSerializer", "BudgetInfoSerializer", "BudgetNewSerializer", "BudgetUpdateSerializer",
    "EndUserIdsSerializer", "EndUserNewSerializer", "EndUserUpdateSerializer", "KeyDeleteSerializer",
    "KeyGenerateSerializer", "KeyListSerializer", "KeyRefSerializer", "KeyRegenerateSerializer",
    "KeyUpdateSerializer", "OrganizationDeleteSerializer", "OrganizationListSerializer",
    "OrganizationMemberAddSerializer", "OrganizationMemberDeleteSerializer", "OrganizationMemberUpdateSerializer",
    "OrganizationNewSerializer", "OrganizationUpdateSerializer", "SpendQuerySerializer", "StrictSerializer",
    "TeamDeleteSerializer", "TeamIdSerializer", "TeamListSerializer", "TeamMemberAddSerializer",
    "TeamMemberDeleteSerializer", "TeamMemberUpdateSerializer", "TeamModelsSerializer", "TeamNewSerializer",
    "TeamUpdateSerializer", "UserDeleteSerializer", "UserListSerializer", "UserNewSerializer",
    "UserUpdateSerializer", "columns",
]
