"""factory_boy factories. Rows that carry money or status are made through services."""

from __future__ import annotations

import factory

from apps.accounts.models import Reseller, Role, StaffMembership, User
from apps.subscriptions.models import Plan, Subscriber


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.django.Password("correct-horse-battery")


class ResellerFactory(factory.django.DjangoModelFactory[Reseller]):
    class Meta:
        model = Reseller

    name = factory.Sequence(lambda n: f"Reseller {n}")
    slug = factory.Sequence(lambda n: f"reseller-{n}")
    base_currency = "EUR"
    contact_email = factory.Sequence(lambda n: f"owner{n}@reseller.example")


class MembershipFactory(factory.django.DjangoModelFactory[StaffMembership]):
    class Meta:
        model = StaffMembership

    user = factory.SubFactory(UserFactory)
    reseller = factory.SubFactory(ResellerFactory)
    role = Role.OWNER


class PlanFactory(factory.django.DjangoModelFactory[Plan]):
    class Meta:
        model = Plan

    reseller = factory.SubFactory(ResellerFactory)
    name = factory.Sequence(lambda n: f"Plan {n}")
    duration_months = 1
    credit_cost = factory.LazyAttribute(lambda p: p.duration_months)


class SubscriberFactory(factory.django.DjangoModelFactory[Subscriber]):
    class Meta:
        model = Subscriber

    reseller = factory.SubFactory(ResellerFactory)
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"subscriber{n}@example.net")
