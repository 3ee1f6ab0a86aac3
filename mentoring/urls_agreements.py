"""The mentoring agreement and goals of a relationship (namespace `agreements`), mounted
under /relationships/ beside the relationship pages."""

from django.urls import path

from mentoring.views import agreements

app_name = "agreements"

urlpatterns = [
    path("<uuid:code>/agreement/", agreements.agreement, name="agreement"),
    path("<uuid:code>/agreement/agree/", agreements.agreement_agree, name="agreement-agree"),
    path("<uuid:code>/goals/", agreements.goals, name="goals"),
    path("<uuid:code>/goals/new/", agreements.goal_new, name="goal-new"),
    path("goals/<uuid:code>/", agreements.goal_detail, name="goal"),
    path("goals/<uuid:code>/edit/", agreements.goal_edit, name="goal-edit"),
    path("goals/<uuid:code>/progress/", agreements.goal_progress, name="goal-progress"),
]
