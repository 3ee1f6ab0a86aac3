"""Meeting lists, a meeting's page, its log and action items, ad-hoc meetings."""

urlpatterns: list = []
