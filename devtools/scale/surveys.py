"""Survey campaigns, invitations, responses and answers."""

from __future__ import annotations

import datetime
from collections import defaultdict

from devtools.scale.data import (
    DAY,
    new_uuid,
)
from surveys.defaults import templates_install
from surveys.models import Answer, Campaign, Invitation, Question, Response, SurveyTemplate


class Surveys:
    """Mixin of ScaleSeed."""

    def _surveys(self) -> None:
        """Campaigns as surveys/campaigns.py makes them (end of term, wellbeing at mid-term,
        a first check-in a month into each relationship), invitations, and responses with no
        link to them (R6), as surveys/answering.py writes them."""
        rng = self.rng
        templates = {}
        for program in self.programs:
            templates_install(program=program)  # those it lacks; a merged program has some
            for template in SurveyTemplate.objects.filter(program=program).order_by("pk"):
                templates.setdefault((program.pk, template.kind), template)
        questions = {
            (q.template_id, q.key): q.pk
            for q in Question.objects.filter(template__program__in=self.programs)
        }
        rels_by_program = defaultdict(list)
        for r in self.relationships:
            rels_by_program[self.programs[r.program].pk].append(r)
        members_by_program = defaultdict(list)
        for learner in self.learners:
            for k, intake in learner.memberships:
                members_by_program[self.programs[k].pk].append((learner, intake))
        campaigns = []  # (Campaign, [(person, relationship or None, audience)])
        for program in self.programs:
            guides = self.guides_of[self.programs.index(program)]
            for term in self.terms_of[program.pk]:
                for kind in ("learner_end", "guide_end", "wellbeing"):
                    template = templates[(program.pk, kind)]
                    if kind == "wellbeing":
                        opens = term.starts_on + (term.ends_on - term.starts_on) // 2
                    else:
                        opens = term.ends_on
                    opens_at = self._at(opens)
                    if opens_at > self.now:
                        continue
                    closes_at = opens_at + template.open_days * DAY
                    targets = []
                    in_term = [
                        r
                        for r in rels_by_program[program.pk]
                        if r.started <= term.ends_on
                        and (r.ends is None or r.ends >= term.starts_on)
                    ]
                    if kind == "learner_end":
                        latest = {}
                        for r in in_term:
                            latest[r.learner] = r
                        targets = [(r.learner, r, "learners") for r in latest.values()]
                    elif kind == "guide_end":
                        targets = [(g, None, "guides") for g in sorted({r.guide for r in in_term})]
                    else:
                        current = {
                            learner.user_id
                            for learner, intake in members_by_program[program.pk]
                            if intake <= opens and (learner.exit is None or learner.exit > opens)
                        }
                        targets = [(p, None, "learners") for p in sorted(current)]
                        targets += [(g, None, "guides") for g in sorted(set(guides) - current)]
                    campaigns.append(
                        (
                            Campaign(
                                program=program,
                                template=template,
                                kind="wellbeing" if kind == "wellbeing" else "end_of_term",
                                term=term,
                                period_key=str(term.code),
                                title=f"{template.name}: {term.name}"[:200],
                                status="closed" if closes_at <= self.now else "open",
                                opens_at=opens_at,
                                closes_at=closes_at,
                                reminder_days=list(template.reminder_days),
                                closed_at=closes_at if closes_at <= self.now else None,
                            ),
                            targets,
                        )
                    )
            # Check-ins: a month into each relationship, pooled per month.
            by_month = defaultdict(list)
            for r in rels_by_program[program.pk]:
                due = r.started + 30 * DAY
                if due <= self.today and (r.ends is None or r.ends >= due):
                    by_month[(due.year, due.month)].append(r)
            template = templates[(program.pk, "check_in")]
            for (year, month), rels in sorted(by_month.items()):
                opens_at = self._at(datetime.date(year, month, 1), 0)
                next_month = datetime.date(year + month // 12, month % 12 + 1, 1)
                closes_at = self._at(next_month) + template.open_days * DAY
                targets = []
                for r in rels:
                    targets.append((r.learner, r, "learners"))
                    targets.append((r.guide, r, "guides"))
                campaigns.append(
                    (
                        Campaign(
                            program=program,
                            template=template,
                            kind="check_in",
                            period_key=f"{year}-{month:02d}",
                            title=f"{template.name}: {year}-{month:02d}",
                            status="closed" if closes_at <= self.now else "open",
                            opens_at=opens_at,
                            closes_at=closes_at,
                            reminder_days=list(template.reminder_days),
                            closed_at=closes_at if closes_at <= self.now else None,
                        ),
                        targets,
                    )
                )
        # A program the school had may have a campaign of the same period already (an earlier
        # draw, or the demo's): the new people are invited to that one.
        had = {
            (c.template_id, c.kind, c.period_key): c
            for c in Campaign.objects.filter(program__in=self.programs).select_related("template")
        }
        new = [c for c, _ in campaigns if (c.template_id, c.kind, c.period_key) not in had]
        Campaign.objects.bulk_create(new, batch_size=1000)
        made = [had.get((c.template_id, c.kind, c.period_key), c) for c, _ in campaigns]
        self.counts["campaigns"] = len(new)
        invitations = []
        for campaign, (_, targets) in zip(made, campaigns, strict=True):
            for person, r, audience in targets:
                invitations.append((campaign, person, r, audience))
        n_responses = min(self.target["responses"], len(invitations))
        answered = set(rng.sample(range(len(invitations)), n_responses))
        first = self.copier.reserve(Invitation, len(invitations))
        self.counts["invitations"] = self.copier.copy(
            Invitation,
            ("id", "code", "campaign", "person", "relationship", "has_responded", "created_at"),
            (
                (
                    first + i,
                    new_uuid(rng),
                    campaign.pk,
                    person,
                    r.id if r else None,
                    i in answered,
                    campaign.opens_at,
                )
                for i, (campaign, person, r, _audience) in enumerate(invitations)
            ),
        )
        responses, answers = [], []
        for i in sorted(answered, key=lambda _: rng.random()):  # no order left to follow
            campaign, person, r, audience = invitations[i]
            response_id = new_uuid(rng)
            formal = None if r is None else r.origin != "self_initiated"
            guide = r.guide if r else (person if audience == "guides" else None)
            peer = None if guide is None else guide in self.peers
            about = r.guide if r and audience == "learners" else None
            responses.append(
                (response_id, campaign.pk, audience, r.kind if r else "", formal, peer, about)
            )
            template_id = campaign.template_id
            kind = campaign.template.kind
            if kind == "learner_end":
                base = 3.9 + (0.25 if formal is False else 0) + (0.1 if r.kind == "coaching" else 0)
                answers.append(
                    (
                        response_id,
                        questions[(template_id, "relationship_satisfaction")],
                        self._likert(base),
                        "",
                    )
                )
                answers.append(
                    (
                        response_id,
                        questions[(template_id, "program_satisfaction")],
                        self._likert(3.8),
                        "",
                    )
                )
            elif kind == "guide_end":
                answers.append(
                    (
                        response_id,
                        questions[(template_id, "guide_satisfaction")],
                        self._likert(4.0),
                        "",
                    )
                )
            else:
                if kind == "check_in":
                    fit = rng.choices(("good", "not_sure", "not_good"), weights=(80, 15, 5))[0]
                    answers.append((response_id, questions[(template_id, "fit")], None, fit))
                mentored = r is not None or person in self.peers
                weights = (30, 38, 20, 8, 4) if mentored else (24, 36, 24, 10, 6)
                burnout = rng.choices("12345", weights=weights)[0]
                answers.append((response_id, questions[(template_id, "burnout")], None, burnout))
        self.counts["responses"] = self.copier.copy(
            Response,
            ("id", "campaign", "audience", "relationship_kind", "formal", "peer", "about_guide"),
            responses,
        )
        self.counts["answers"] = self.copier.copy(
            Answer,
            ("id", "response", "question", "number", "choice", "text"),
            ((new_uuid(rng), *row, "") for row in answers),
        )

    def _likert(self, mean: float) -> int:
        return max(1, min(5, round(self.rng.gauss(mean, 0.9))))
