import pytest

from donors.enums import Condition, DonorKind, Verdict
from donors.models import AcceptancePolicy, CategoryRule
from donors.rules import LineInput, Rules, assess
from tests.reemploi.factories import category

pytestmark = pytest.mark.django_db


def verdict(code, kind=DonorKind.COMPANY, **fields):
    fields.setdefault("quantity", 1)
    return assess(kind, [LineInput(category=category(code), **fields)]).lines[0]


def test_working_laptop_is_accepted_for_reuse():
    result = verdict("laptop", age_years=4, condition=Condition.WORKS, has_charger=True)
    assert result.verdict == Verdict.ACCEPTED and result.reason == ""


def test_broken_equipment_is_not_collected_with_its_reason():
    result = verdict("laptop", age_years=3, condition=Condition.BROKEN)
    assert result.verdict == Verdict.REFUSED
    assert "hors service" in result.reason


def test_cables_and_peripherals_are_not_collected_but_mice_are():
    for code in ("cable", "keyboard", "docking-station", "other-peripheral"):
        result = verdict(code, condition=Condition.WORKS)
        assert result.verdict == Verdict.REFUSED, code
        assert "souris" in result.reason
    assert verdict("mouse", condition=Condition.WORKS).verdict == Verdict.ACCEPTED


def test_equipment_older_than_the_maximal_age_goes_to_deee_not_reuse():
    assert verdict("screen", age_years=10).verdict == Verdict.ACCEPTED
    result = verdict("screen", age_years=11)
    assert result.verdict == Verdict.DEEE
    assert "10 ans" in result.reason


def test_maximal_age_is_data_the_coordinator_changes():
    policy = AcceptancePolicy.current()
    policy.default_max_age_years = 6
    policy.save()
    assert verdict("laptop", age_years=7).verdict == Verdict.DEEE
    rule = CategoryRule.objects.get(category=category("smartphone"))
    rule.max_age_years = 4
    rule.save()
    assert verdict("smartphone", age_years=5).verdict == Verdict.DEEE
    assert verdict("laptop", age_years=5).verdict == Verdict.ACCEPTED


def test_category_rules_are_data_too():
    rule = CategoryRule.objects.get(category=category("keyboard"))
    rule.collected = True
    rule.save()
    assert verdict("keyboard").verdict == Verdict.ACCEPTED
    printer = CategoryRule.objects.get(category=category("printer"))
    printer.collect_broken = True
    printer.save()
    assert verdict("printer", condition=Condition.BROKEN).verdict == Verdict.ACCEPTED


def test_a_category_without_rule_is_collected():
    CategoryRule.objects.filter(category=category("tablet")).delete()
    assert verdict("tablet", age_years=2).verdict == Verdict.ACCEPTED


def test_individuals_are_told_most_equipment_is_too_old_and_offered_drop_off_under_a_quantity():
    few = assess(DonorKind.INDIVIDUAL, [LineInput(category=category("laptop"), quantity=2, age_years=6)])
    assert any("5 à 6 %" in notice for notice in few.notices)
    assert few.drop_off_only
    assert "5 équipements" in few.drop_off_reason
    many = assess(DonorKind.INDIVIDUAL, [LineInput(category=category("laptop"), quantity=6, age_years=6)])
    assert not many.drop_off_only
    company = assess(DonorKind.COMPANY, [LineInput(category=category("laptop"), quantity=1, age_years=6)])
    assert not company.notices and not company.drop_off_only


def test_refused_lines_do_not_count_towards_the_pickup_quantity():
    lines = [
        LineInput(category=category("laptop"), quantity=2, age_years=3),
        LineInput(category=category("cable"), quantity=40),
    ]
    assert assess(DonorKind.INDIVIDUAL, lines).drop_off_only


def test_a_line_without_category_has_no_verdict_yet():
    result = assess(DonorKind.COMPANY, [LineInput(quantity=3)]).lines[0]
    assert result.verdict is None


def test_notices_for_data_and_charger():
    result = verdict("laptop", age_years=2, holds_data=True, has_charger=False)
    assert any("NIST" in notice for notice in result.notices)
    assert any("chargeur" in notice for notice in result.notices)


def test_a_mistyped_placeholder_in_a_reason_does_not_break_the_form():
    policy = AcceptancePolicy.current()
    policy.too_old_reason = "Trop vieux ({ans}, %s, {age})"
    policy.save()
    assert verdict("laptop", age_years=30).reason == "Trop vieux ({ans}, %s, 10)"


def test_rules_load_in_two_queries(django_assert_num_queries):
    with django_assert_num_queries(2):
        rules = Rules.load()
    laptop = category("laptop")
    with django_assert_num_queries(0):
        rules.assess(DonorKind.COMPANY, [LineInput(category=laptop, quantity=1)] * 20)


def test_the_decrees_reuse_targets_are_data_with_their_years():
    from donors.reference import reuse_target

    assert reuse_target(2022) is None
    assert (reuse_target(2023), reuse_target(2024), reuse_target(2025), reuse_target(2030)) == (
        25,
        35,
        50,
        50,
    )
